"""The wire as Python sees it: whole frames in and out of the link partner (``sim.partner``).

The partner in the bench captures what the MAC sends into a byte ring with a record per frame
and sends what Python queued in another, a record per frame with the cycle it may start; it
logs the cycle each frame started. ``Wire`` is the other half of that protocol: ``poll`` turns
new records into ``WireFrame`` entries of ``log`` (in the order they are found, with the cycle
each started) and tells the listeners; ``send`` queues a frame. Counters kept in the bench modulo
2**32 (or 2**31) are placed back on the backend's cycle count.
"""

from .errors import SimulationError
from .partner import RECORDS, RING_BYTES, RxRecord, TxRecord


__all__ = ["Wire", "WireFrame"]


class WireFrame:
    """Bytes as they crossed GMII (preamble to FCS), with the cycle of the last one."""

    def __init__(self, raw, end, error):
        self.raw = raw
        self.end = end
        self.error = error

    @property
    def frame(self):
        """The frame without preamble and start delimiter (FCS included), or None if the
        start delimiter is missing."""
        sfd = self.raw.find(b"\xd5")
        if sfd < 0 or any(b != 0x55 for b in self.raw[:sfd]):
            return None
        return self.raw[sfd + 1:]


def _unwrap(value, now, bits):
    """A cycle number kept modulo 2**bits, placed at or before ``now``."""
    span = 1 << bits
    return now - ((now - value) % span)


class Wire:
    """The link partner's queues, seen from ``backend`` (a ``sim.backend.Backend``)."""

    def __init__(self, backend):
        self._backend = backend
        self.log = []               # ("tx" | "rx", start cycle, WireFrame), in order of discovery
        self.tx_listeners = []      # called with each frame the MAC transmits
        self.listeners = []         # called with each new ``log`` entry, as it is logged
        self._tx_seen = 0
        self._rx_logged = 0
        self._rx_write = 0
        self._rx_posted = 0
        self._rx_pending = []
        self._rx_bytes = 0          # in the partner's byte ring, not yet sent

    def _log(self, direction, start, frame):
        entry = (direction, start, frame)
        self.log.append(entry)
        for listener in self.listeners:
            listener(*entry)

    def poll(self):
        """Collect frames the MAC sent and frames the partner started sending since last time."""
        backend = self._backend
        partner = backend.bench.partner
        now = backend.now
        sent = backend.get(partner.rx_sent)
        if self._rx_logged != sent:
            log = backend.memory(partner.rx_log.data)
            while self._rx_logged != sent:
                start = log.get(self._rx_logged % RECORDS)
                frame = self._rx_pending.pop(0)
                self._rx_bytes -= len(frame.raw)
                self._log("rx", _unwrap(start, now, 32), frame)
                self._rx_logged = (self._rx_logged + 1) % (1 << 32)
        count = backend.get(partner.tx_frames)
        if (count - self._tx_seen) % (1 << 32) > RECORDS:
            raise SimulationError("the test bench fell behind the wire: TX capture records lost")
        new = []
        if self._tx_seen != count:
            records = backend.memory(partner.tx_records.data)
            ring = backend.memory(partner.tx_bytes.data)
            while self._tx_seen != count:
                record = TxRecord.from_bits(records.get(self._tx_seen % RECORDS))
                first = record.start
                data = ring.load(first, min(record.length, RING_BYTES - first))
                if record.length > RING_BYTES - first:
                    data += ring.load(0, record.length - (RING_BYTES - first))
                frame = WireFrame(bytes(data), _unwrap(record.end, now, 31), bool(record.tx_er))
                self._log("tx", frame.end - len(data) + 1, frame)
                new.append(frame)
                self._tx_seen = (self._tx_seen + 1) % (1 << 32)
        for frame in new:
            for listener in self.tx_listeners:
                listener(frame)

    def send(self, raw, *, not_before=0, rx_er=False):
        """Queue ``raw`` (preamble, start delimiter, frame, FCS: exactly what goes on the wire)
        for the partner to send, no earlier than cycle ``not_before``."""
        backend = self._backend
        partner = backend.bench.partner
        raw = bytes(raw)
        if not 0 < len(raw) < 0x10000:
            raise ValueError(f"cannot send a frame of {len(raw)} bytes")
        if self.frames_queued >= RECORDS or self._rx_bytes + len(raw) > RING_BYTES:
            raise SimulationError(f"the partner's send queue is full ({self.frames_queued} "
                                  f"frames, {self._rx_bytes} bytes waiting)")
        start = self._rx_write
        ring = backend.memory(partner.rx_bytes.data)
        head = raw[:RING_BYTES - start]
        ring.store(start, head)
        if len(head) < len(raw):
            ring.store(0, raw[len(head):])
        self._rx_write = (start + len(raw)) % RING_BYTES
        record = RxRecord.const({"start": start, "length": len(raw),
                                 "not_before": not_before % (1 << 31), "rx_er": rx_er})
        backend.memory(partner.rx_records.data).set(self._rx_posted % RECORDS,
                                                     record.as_value().value)
        self._rx_pending.append(WireFrame(raw, None, rx_er))
        self._rx_bytes += len(raw)
        self._rx_posted = (self._rx_posted + 1) % (1 << 32)
        backend.set(backend.bench.rx_posted, self._rx_posted)

    @property
    def send_room(self):
        """Bytes the partner's send queue can still take."""
        return RING_BYTES - self._rx_bytes if self.frames_queued < RECORDS else 0

    @property
    def frames_queued(self):
        """Frames queued with ``send`` that have not started on the wire yet."""
        backend = self._backend
        return (self._rx_posted - backend.get(backend.bench.partner.rx_sent)) % (1 << 32)
