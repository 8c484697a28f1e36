"""The transmit DMA engine: descriptors in, frame data out to the MAC, status written back.

Reference: SDM 3.3 (transmit descriptors and ring), 3.3.3.2 (RS/DD write-back), 3.4.3 (TXDW,
TXQE, TIDV/TADV), 13.4.38-13.4.44 (TDBAL..TADV).

Descriptors come from the prefetcher (``hw.ring``), read by ``hw.txdesc`` whatever their kind
(context descriptors set the checksum and segmentation context and carry no data). ``TxFetch``
reads each descriptor's buffer in bursts of up to 32 beats, reserving room in the word queue
before it asks, so reads for the next frame overlap the transmission of this one. Each beat
becomes one word that says which of its bytes belong to the frame, so buffers need no
alignment. A frame may span descriptors up to the one with EOP; a descriptor of length 0
carries no data, and if it has EOP it ends the frame. ``hw.txtso`` cuts a frame sent with TSE
into segments on its way to the queue (the words it adds count against the fetcher's
reservations). The word queue holds 16 KiB, so that a frame (or segment) the Linux driver sends
is whole in it before the MAC starts; ``hw.txcsum`` works out each frame's checksums as its
words go in, and they go to the MAC with the frame.

A frame may not carry more than ``MAX_FRAME_DATA`` bytes of descriptor data (16 KiB, above the
82540EM's largest frame, 16,128 bytes), or ``MAX_TSO_DATA`` with TSE (a header and 64 KiB).
The descriptor that would take a frame past it is not read: the frame's queued data ends
there, marked ``abort`` (the MAC ends it with an error, so no receiver takes it), and the
descriptors after it up to the one with EOP are retired unread, so that a chain without EOP, or
with nonsense lengths, costs one bad frame and the ring goes on.

When the MAC has taken the last byte of a descriptor, the descriptor is done: with RS its status
byte gets DD (a one-byte write to host memory) and TXDW is raised, at once or through the delay
timers when IDE is set; then TDH moves past it. TXQE is raised when TDH reaches TDT.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .bus import (DMAReadBeat, DMAReadSignature, DMARequest, DMAWriteSignature, RegBusSignature,
                  share)
from .compare import at_least, below
from .count import stepped
from .delay import InterruptDelay
from .desc import TXD_STA, TxDescriptor
from . import pipe
from .pipe import HalfRateRegister, StreamRegister
from .regmap import reg
from .ring import DescriptorPrefetch, RingConfig, RingHead
from .txcsum import TxChecksum
from .txdesc import TxDescriptorDecoder, TxRequest
from .txframe import TxChecksums, TxOffload, TxTag, TxTaggedWord, TxWord, TxWork
from .txtso import TxSegmenter


__all__ = ["TxFetch", "TxReadPlanner", "TxWriteBack", "TxWordQueue", "TxDMA", "MAX_FRAME_DATA",
           "MAX_TSO_DATA"]

MAX_BURST = 32          # beats per data read
MAX_FRAME_DATA = 16384  # bytes of descriptor data in one frame
# ...in one frame to be segmented (TSE): a header and 64 KiB of payload, what Linux sends at
# most (PAYLEN's 20 bits would allow more).
MAX_TSO_DATA = 255 + (1 << 16)
# The fetcher lets the segmenter add words (header copies) to the queue only while this many
# entries are neither queued nor reserved: more than a read and the few cycles it takes either
# of them to see what the other did.
SPARE = 64


class _Tag(data.Struct):
    """What a data read returns, in the order reads were issued."""
    empty: 1            # a zero-length descriptor: nothing comes back
    first: 3
    lead: 4             # frame bytes in the first beat
    rest: 12            # frame bytes in the beats after it
    last: 1             # the last read of the descriptor
    eop: 1
    ifcs: 1
    abort: 1            # with empty and eop: the frame was cut short here
    csum: 1             # the frame asks for checksums
    vlan: 1             # the descriptor's VLE and special field
    tci: 16


class _Queued(data.Struct):
    """A word for the transmit queue, and the checksum work of the frame it starts."""
    word: TxTaggedWord
    command: TxOffload


class _Done(data.Struct):
    """A descriptor whose reads are all issued, in ring order: the one at TDH retires first."""
    rs: 1
    ide: 1
    empty: 1


def _issue_members():
    """The members of ``TxReadIssuer`` that ``TxFetch`` passes through."""
    return {"offload": Out(stream.Signature(TxWork)), "done": Out(stream.Signature(_Done)),
            "dequeued": In(1), "starved": Out(1), "requested": Out(1), "extra": In(1),
            "spare": Out(1)}


class TxReadPlan(data.Struct):
    """The next read of a descriptor's buffer."""
    beats: range(MAX_BURST + 1)
    nbytes: 12          # frame bytes it brings
    lead: 4             # ...of them in its first beat
    last: 1             # it is the descriptor's last


class TxReadPlanner(wiring.Component):
    """The size of the next read of a descriptor's buffer, and whether the word queue has room
    for it.

    Contract: the plan is worked out ahead from ``left`` and ``first`` in three registered
    steps (the span from the first beat's start to the descriptor's end; the read's size: all
    of it when it fits a burst, else a whole burst; then its lead and whether the queue has room
    for it), keeping the arithmetic off the path through the DMA arbiter. After each change of
    state (``restart``: a descriptor taken; ``issue``: the planned read went out) ``settled``
    falls and rises again three cycles later, unless ``cut`` (the descriptor is not to be read)
    is high by then; a read may go out while ``settled & fits``. ``issue`` also reserves an
    entry for each of its beats, which the word the beat becomes keeps, wherever it waits, until
    the MAC takes it (``dequeued``, counted a cycle late); ``extra`` takes one for a word no
    read reserved. (Giving the reservation back as the beat arrived and taking an entry as the
    word went into the queue counted a word held back at the end of a descriptor as room, and a
    read could then overfill the queue by one and wrap the count.)

    Parameters
    ----------
    space : int
        Entries of the word queue, all free at first.

    Members
    -------
    left : In(17)
        Frame bytes of the descriptor not yet asked for.
    first : In(3)
        Offset of its first byte in the next read's first beat.
    slots : In(1)
        The tag queue (and the offload queue, if the frame's work is due) can take an entry.
    restart, cut, issue : In(1)
    dequeued, extra : In(1)
    plan : Out(TxReadPlan)
    settled, fits : Out(1)
    no_room : Out(1)
        The queue has no room for the read.
    spare : Out(1)
        More than ``SPARE`` entries are free and unreserved.
    """
    left: In(17)
    first: In(3)
    slots: In(1)
    restart: In(1)
    cut: In(1)
    issue: In(1)
    dequeued: In(1)
    extra: In(1)
    plan: Out(TxReadPlan)
    settled: Out(1)
    fits: Out(1)
    no_room: Out(1)
    spare: Out(1)

    def __init__(self, *, space):
        self._space = space
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        left, first, plan = self.left, self.first, self.plan
        # Queue entries neither taken nor promised to reads in flight.
        headroom = Signal(range(self._space + 1), init=self._space)
        span = Signal(18)
        m.d.sync += span.eq(left + first)
        last_read = below(span, MAX_BURST * 8 + 1)
        short = span[:bits_for(MAX_BURST * 8)]
        m.d.sync += [
            plan.beats.eq(Mux(last_read, (short + 7) >> 3, MAX_BURST)),
            plan.nbytes.eq(Mux(last_read, left, MAX_BURST * 8 - first)),
            plan.lead.eq(Mux(plan.nbytes > 8 - first, 8 - first, plan.nbytes)),
            plan.last.eq(last_read),
            self.fits.eq((plan.beats <= headroom) & self.slots),
            self.no_room.eq(plan.beats > headroom),
        ]
        # Timing: ``issue`` (the DMA handshake, which comes through the arbiter) is registered
        # before it starts the settling, a step shorter; ``settled`` is low meanwhile.
        settle = Signal(2)
        settled = Signal()
        issued_q = Signal()
        m.d.sync += issued_q.eq(self.issue)
        m.d.comb += self.settled.eq(settled & ~issued_q)
        with m.If(self.restart):
            m.d.sync += [settle.eq(3), settled.eq(0)]
        with m.Elif(issued_q):
            m.d.sync += [settle.eq(2), settled.eq(0)]
        with m.Elif(settle != 0):
            m.d.sync += [settle.eq(settle - 1),
                         settled.eq((settle == 1) & ~self.cut)]
        # Timing: the read's beats are counted a cycle after its handshake, so that the
        # handshake does not reach the adder; ``fits`` is worked out again only after the
        # settling, later than that.
        issued = Signal.like(plan.beats)
        m.d.sync += issued.eq(Mux(self.issue, plan.beats, 0))
        m.d.sync += headroom.eq(headroom - issued + self.dequeued - self.extra)
        m.d.sync += self.spare.eq(at_least(headroom, SPARE + 1))
        return m


class TxReadIssuer(wiring.Component):
    """Turns descriptors into buffer reads of up to 256 beats, each with a tag (``tags``)
    saying what its beats hold. A read goes out only when the word queue has room for all its
    beats (``space``, less the words not yet ``dequeued``), three cycles after the last change
    of state at the earliest. ``tags``, ``done`` and ``offload`` are written from a ready seen
    a cycle before: their consumers must be queues, whose ready falls only when they are full.

    Parameters
    ----------
    space : int
        Entries of the word queue, all free at first.

    Members
    -------
    descs : In(stream.Signature(TxRequest))
    reads : Out(stream.Signature(DMARequest))
    tags : Out(stream.Signature(_Tag))
    offload : Out(stream.Signature(TxWork))
        Each frame's checksum and segmentation work, queued as its first read is issued (before
        any of its words), for frames with data.
    done : Out(stream.Signature(_Done))
        One per descriptor, in order, once all its reads are issued.
    dequeued : In(1)
        A word left the word queue for the MAC, counted a cycle late.
    starved : Out(1)
        The next read waits for room in the word queue, which only the MAC can make.
    requested : Out(1)
        All the reads of a frame with data and without TSE have been issued: its words will all
        come without the MAC taking any.
    extra : In(1)
        A word went into the queue for which no read reserved room, counted a cycle late.
    spare : Out(1)
        More than ``SPARE`` entries are free and unreserved.
    """

    def __init__(self, *, space):
        self._space = space
        super().__init__({
            "descs": In(stream.Signature(TxRequest)),
            "reads": Out(stream.Signature(DMARequest)),
            "tags": Out(stream.Signature(_Tag)),
            **_issue_members(),
        })

    def elaborate(self, platform):
        m = Module()
        r = self._registers(m)
        tags, tag_in, cmd, plan = self.tags, self.tags.payload, self.reads, r.planner.plan
        with m.FSM(name="fetch") as fsm:
            with m.State("DESCRIPTOR"):
                self._take(m, r)
            with m.State("TAKE"):
                total = r.frame_bytes + r.left
                m.d.sync += [r.total.eq(total),
                             r.over.eq(Mux(r.tse, at_least(total, MAX_TSO_DATA + 1),
                                           at_least(total, MAX_FRAME_DATA + 1)))]
                with m.If(~r.empty):
                    m.next = "READ"
                with m.Elif(r.done_room & r.tag_room):
                    # Nothing to read; the tag keeps it in order with the data. While the frame
                    # is being skipped, its end only ends the skipping.
                    self._unread(m, r, eop=r.eop & ~r.skipping)
                    with m.If(r.eop):
                        m.d.comb += r.requested.eq(r.had_data & ~r.skipping)
                        m.d.sync += [r.skipping.eq(0), r.frame_bytes.eq(0), r.had_data.eq(0)]
            with m.State("CUT"):
                # Not read: the frame goes no further. The first such descriptor ends what is
                # queued of the frame, marked to be aborted.
                with m.If(r.done_room & r.tag_room):
                    self._unread(m, r, eop=~r.skipping)
                    m.d.comb += [tag_in.abort.eq(~r.skipping), self.done.payload.empty.eq(1),
                                 r.requested.eq(r.had_data & ~r.skipping)]
                    m.d.sync += [r.skipping.eq(~r.eop), r.frame_bytes.eq(0), r.had_data.eq(0)]
            with m.State("READ"):
                m.d.comb += self.starved.eq(r.planner.settled & r.planner.no_room)
                with m.If(r.over | r.skipping):
                    m.next = "CUT"
                m.d.comb += [
                    cmd.payload.len.eq(plan.beats - 1),
                    cmd.valid.eq(r.planner.settled & r.planner.fits),
                    tag_in.first.eq(r.first),
                    tag_in.lead.eq(plan.lead),
                    tag_in.rest.eq(plan.nbytes - plan.lead),
                    tag_in.last.eq(plan.last),
                    tags.valid.eq(cmd.valid & cmd.ready),
                    self.offload.valid.eq(cmd.valid & cmd.ready & r.offload_due),
                    r.planner.issue.eq(cmd.valid & cmd.ready),
                ]
                with m.If(cmd.valid & cmd.ready):
                    m.d.sync += [r.offload_due.eq(0), r.had_data.eq(1)]
                    m.d.sync += [r.pos.eq(r.pos + plan.beats * 8), r.first.eq(0),
                                 r.left.eq(r.left - plan.nbytes)]
                    with m.If(plan.last):
                        m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.valid.eq(r.done_room)
                with m.If(r.done_room):
                    m.d.comb += r.requested.eq(r.eop)
                    m.d.sync += r.frame_bytes.eq(Mux(r.eop, 0, r.total))
                    with m.If(r.eop):
                        m.d.sync += r.had_data.eq(0)
                    m.next = "DESCRIPTOR"
        self._fsm = fsm
        return m

    def _registers(self, m):
        """The descriptor's and the frame's registers, and the planner of the next read."""
        r = SimpleNamespace()
        r.buffer = Signal(64)       # the buffer's first quadword
        # Bytes from there to the next beat: set with each descriptor, so no reset (which
        # leaves the flip-flops' reset input for that zero).
        r.pos = Signal(17, reset_less=True)
        r.first = Signal(3)         # offset of the frame's first byte in the first beat
        r.left = Signal(17)         # frame bytes of this descriptor not yet asked for
        # What the descriptor says beyond its buffer, kept from when it was taken.
        r.eop, r.ifcs, r.vlan, r.empty = Signal(), Signal(), Signal(), Signal()
        r.tci = Signal(16)
        # The frame's descriptor data so far, and whether this descriptor would take it past
        # the maximum (worked out in TAKE, for READ to act on before its first read).
        r.frame_bytes = Signal(range(MAX_TSO_DATA + 1))
        r.total = Signal(range(MAX_TSO_DATA + (1 << 17)))
        r.over = Signal()
        r.skipping = Signal()       # the frame was cut: its descriptors up to EOP go unread
        r.had_data = Signal()       # a read of the frame has been issued
        # The frame's checksum work, until its first read goes out (then it is queued).
        r.offload_due = Signal()
        r.csum = Signal()           # the frame asks for checksums
        r.tse = Signal()            # the frame is to be segmented
        r.requested = Signal()
        m.d.comb += self.requested.eq(r.requested & ~r.tse)
        tag_in = self.tags.payload
        m.d.comb += [tag_in.eop.eq(r.eop), tag_in.ifcs.eq(r.ifcs), tag_in.csum.eq(r.csum),
                     tag_in.vlan.eq(r.vlan), tag_in.tci.eq(r.tci),
                     self.done.payload.empty.eq(r.empty)]
        # Room for a tag and for the descriptor's done entry, registered: a read is followed by
        # at least a cycle of settling, and a done entry by at least a cycle in DESCRIPTOR, so
        # both are current again by the next write.
        r.tag_room = Signal()
        r.done_room = Signal()
        offload_room = Signal()     # likewise, a read that queues the frame's work
        m.d.sync += [r.tag_room.eq(self.tags.ready), r.done_room.eq(self.done.ready),
                     offload_room.eq(self.offload.ready | ~r.offload_due)]

        # The next read, and the word queue's room for it.
        m.submodules.planner = r.planner = planner = TxReadPlanner(space=self._space)
        m.d.comb += [planner.left.eq(r.left), planner.first.eq(r.first),
                     planner.dequeued.eq(self.dequeued), planner.extra.eq(self.extra),
                     self.spare.eq(planner.spare), planner.slots.eq(r.tag_room & offload_room),
                     planner.cut.eq(r.over | r.skipping)]
        # Whatever the state: the address is added up in the DMA arbiter, straight from them.
        m.d.comb += [self.reads.payload.base.eq(r.buffer), self.reads.payload.offset.eq(r.pos)]
        return r

    def _take(self, m, r):
        # The descriptor is taken into registers at once, so that taking it depends on nothing
        # but this state: the prefetch queue's logic is far across the core.
        desc = self.descs.payload
        m.d.comb += [self.descs.ready.eq(1), r.planner.restart.eq(self.descs.valid)]
        with m.If(self.descs.valid):
            m.d.sync += [
                r.buffer.eq(desc.addr & ~7),
                r.pos.eq(0),
                r.first.eq(desc.addr[:3]),
                r.left.eq(desc.length),
                r.empty.eq(desc.length == 0),
                r.eop.eq(desc.eop),
                r.ifcs.eq(desc.ifcs),
                r.vlan.eq(desc.vlan),
                r.tci.eq(desc.tci),
                self.done.payload.rs.eq(desc.rs),
                self.done.payload.ide.eq(desc.ide),
            ]
            with m.If(desc.first):
                work = desc.work
                m.d.sync += [self.offload.payload.eq(work), r.offload_due.eq(1),
                             r.csum.eq(work.offload.ip | work.offload.tu),
                             r.tse.eq(work.tso.tse)]
            m.next = "TAKE"

    def _unread(self, m, r, *, eop):
        # A descriptor retired without a read: its tag (empty, ``eop`` as given) keeps it in
        # order with the data.
        tag_in = self.tags.payload
        m.d.comb += [tag_in.empty.eq(1), tag_in.last.eq(1), tag_in.eop.eq(eop),
                     self.tags.valid.eq(1), self.done.valid.eq(1)]
        m.next = "DESCRIPTOR"


class TxBeatAssembler(wiring.Component):
    """Beats of the reads in, with their tags in the order the reads were issued; ``TxTaggedWord``
    entries out, one per beat, each from a register. A descriptor's last word waits there for
    what comes next (a word, or a zero-length descriptor's tag), which says whether it ends the
    frame. Beats pass a small queue first: ``beats.ready`` comes from its level.

    Members
    -------
    tags : In(stream.Signature(_Tag))
    beats : In(stream.Signature(DMAReadBeat))
    words : Out(stream.Signature(TxTaggedWord))
    """
    tags: In(stream.Signature(_Tag))
    beats: In(stream.Signature(DMAReadBeat))
    words: Out(stream.Signature(TxTaggedWord))

    def elaborate(self, platform):
        m = Module()
        # Beats become words, and every word leaves from a register (``held``),
        # so that the queue's block RAM is written from registers. The last word of a
        # descriptor waits there for the next word (or a zero-length descriptor) in case that
        # one ends the frame.
        tags = self.tags
        tag = tags.payload
        # Timing: beats are registered as they arrive (the DMA arbiter's routing of read data to
        # its readers would otherwise run into the logic below), in a small queue whose ready
        # comes from its level, a register (with a plain register slice the handshake below ran
        # on through the arbiter into its tag FIFO's level). Its two entries are in block RAM
        # (``hw.synth`` asks for it), which costs no LUTs where a skid buffer would choose
        # between two registers for every bit; they leave it through a register slice, which
        # becomes the RAM's output register.
        m.submodules.beats = beats_in = pipe.Queue(DMAReadBeat, ram_depth=2)
        m.submodules.beat = beat_out = StreamRegister(DMAReadBeat, ram_output=True)
        wiring.connect(m, wiring.flipped(self.beats), beats_in.i)
        wiring.connect(m, beats_in.o, beat_out.i)
        beat = beat_out.o
        remaining = Signal(12)
        in_read = Signal()          # the head tag's first beat has arrived
        held = Signal(TxTaggedWord)
        holding = Signal()
        new = Signal(TxTaggedWord)

        # The first beat's share was worked out as the read was issued; after it, a beat has
        # eight bytes of the frame but for the last.
        more = remaining[3:].any()
        m.d.comb += [
            new.word.data.eq(beat.payload.data),
            new.word.first.eq(Mux(in_read, 0, tag.first)),
            new.word.count.eq(Mux(in_read, Mux(more, 8, remaining[:3]), tag.lead)),
            new.word.ifcs.eq(tag.ifcs),
            new.word.desc_end.eq(tag.last & beat.payload.last),
            new.word.eop.eq(tag.eop & tag.last & beat.payload.last),
            new.word.abort.eq(0),
            new.word.csum.eq(tag.csum),
            new.word.vlan.eq(tag.vlan),
            new.tci.eq(tag.tci),
        ]
        # A held word is waiting (the end of a descriptor that did not end the frame) until
        # what comes next says whether it ends the frame; any other goes as soon as it can.
        waiting = holding & held.word.desc_end & ~held.word.eop
        arriving = tags.valid & ~tag.empty & beat.valid
        m.d.comb += [
            self.words.payload.eq(held),
            # A waiting word goes when data follows it: it did not end the frame.
            self.words.valid.eq(holding & (~waiting | arriving)),
        ]
        leaving = self.words.valid & self.words.ready
        with m.If(leaving):
            m.d.sync += holding.eq(0)
        with m.If(tags.valid & tag.empty):
            # A zero-length descriptor: if it ends the frame, the waiting word carries the end,
            # and the descriptor's tag.
            m.d.comb += tags.ready.eq(1)
            with m.If(tag.eop & waiting):
                m.d.sync += [held.word.eop.eq(1), held.word.abort.eq(tag.abort)]
                with m.If(~tag.abort):
                    m.d.sync += [held.word.vlan.eq(tag.vlan), held.tci.eq(tag.tci)]
        with m.Elif(tags.valid):
            m.d.comb += beat.ready.eq(~holding | self.words.ready)
            with m.If(beat.valid & beat.ready):
                m.d.sync += [held.eq(new), holding.eq(1), in_read.eq(~beat.payload.last),
                             remaining.eq(Mux(in_read, Mux(more, remaining - 8, 0), tag.rest))]
                with m.If(beat.payload.last):
                    m.d.comb += tags.ready.eq(1)
        return m


class TxFetch(wiring.Component):
    """Turns descriptors into buffer reads and the beats into ``TxWord`` entries, each with its
    descriptor's tag: a ``TxReadIssuer`` and a ``TxBeatAssembler`` with the reads' tags queued
    between them. A read goes out only when the word queue has room for all its beats
    (``space``, less the words not yet ``dequeued``). ``done`` and ``offload`` are written
    from a ready seen a cycle before: their consumers must be queues, whose ready falls only
    when they are full.

    Parameters
    ----------
    space : int
        Entries of the word queue, all free at first.

    Members
    -------
    descs : In(stream.Signature(TxRequest))
    dma : Out(DMAReadSignature)
    words : Out(stream.Signature(TxTaggedWord))
    offload, done, dequeued, starved, requested, extra, spare
        As ``TxReadIssuer``'s.
    """

    def __init__(self, *, space):
        self._space = space
        super().__init__({
            "descs": In(stream.Signature(TxRequest)),
            "dma": Out(DMAReadSignature),
            "words": Out(stream.Signature(TxTaggedWord)),
            **_issue_members(),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.issue = issue = self._issuer = TxReadIssuer(space=self._space)
        m.submodules.assemble = assemble = TxBeatAssembler()
        m.submodules.tags = tags = pipe.Queue(_Tag, ram_depth=8)
        wiring.connect(m, wiring.flipped(self.descs), issue.descs)
        wiring.connect(m, issue.reads, wiring.flipped(self.dma.rd_cmd))
        # Timing: the tags go into their queue through a register slice, so that the issuer's
        # handshake with the DMA arbiter goes no further than its flip-flops. The issuer writes
        # a tag at most every second cycle, from a ready seen a cycle before, which the slice's
        # ready is (it is low only while the slice holds a tag the full queue cannot take).
        m.submodules.to_tags = to_tags = StreamRegister(_Tag)
        wiring.connect(m, issue.tags, to_tags.i)
        wiring.connect(m, to_tags.o, tags.i)
        wiring.connect(m, tags.o, assemble.tags)
        wiring.connect(m, wiring.flipped(self.dma.rd_data), assemble.beats)
        wiring.connect(m, assemble.words, wiring.flipped(self.words))
        wiring.connect(m, issue.offload, wiring.flipped(self.offload))
        wiring.connect(m, issue.done, wiring.flipped(self.done))
        for name in ("dequeued", "extra"):
            m.d.comb += getattr(issue, name).eq(getattr(self, name))
        for name in ("starved", "requested", "spare"):
            m.d.comb += getattr(self, name).eq(getattr(issue, name))
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"fetch": self._issuer._fsm.state}


class TxWriteBack(wiring.Component):
    """Retires descriptors in ring order as the MAC takes their data: a record on ``done`` for
    each descriptor whose reads are out, a ``took`` pulse (a cycle late) for each whose last word
    the MAC took. A record with RS has DD written back (one one-byte write, at ``status_offset``
    from the ring's base, the head descriptor's) and is retired once the write is done; one
    without is retired at once. ``retire`` is high for the cycle of a retirement, at most every
    third cycle (the head, the count of descriptors taken and this block's own check follow
    from registers). ``txdw`` through the delay timers (or at once without IDE); ``txqe`` a
    cycle after a retirement that left the head at the tail (``at_tail``, from the moved head).

    Parameters
    ----------
    depth : int
        Most descriptors whose data the MAC may have taken before they retire (the word
        queue's depth).

    Members
    -------
    done : In(stream.Signature(_Done))
    took : In(1)
    dma : Out(DMAWriteSignature)
    status_offset : In(20)
    at_tail : In(1)
    tidv, tadv : In(16)
    retire, txdw, txqe : Out(1)
    """

    def __init__(self, *, depth):
        self._depth = depth
        super().__init__({
            "done": In(stream.Signature(_Done)),
            "took": In(1),
            "dma": Out(DMAWriteSignature),
            "status_offset": In(20),
            "at_tail": In(1),
            "tidv": In(16),
            "tadv": In(16),
            "retire": Out(1),
            "txdw": Out(1),
            "txqe": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.delay = delay = InterruptDelay()
        dma, retire, record = self.dma, self.retire, self.done.payload
        # Descriptors whose data the MAC has taken, and whether there are any: registered. A
        # retirement is counted a cycle late, from a register, and ``any_consumed`` is a cycle
        # behind the count, so a retirement waits two cycles for them to catch up.
        consumed = Signal(range(self._depth + 1))
        any_consumed = Signal()
        retired = Signal(2)         # a retirement one and two cycles ago
        uncount = Signal()          # ...and it had data
        m.d.sync += [consumed.eq(stepped(consumed, up=(self.took,), down=(uncount,))),
                     uncount.eq(retire & ~record.empty),
                     any_consumed.eq(consumed != 0), retired.eq(Cat(retire, retired[0]))]
        m.d.comb += self.done.ready.eq(retire)

        # The descriptor's status quadword in the ring, whatever the state (for the DMA
        # arbiter's adder).
        m.d.comb += [dma.wr_cmd.payload.ring.eq(1),
                     dma.wr_cmd.payload.offset.eq(self.status_offset)]
        with m.FSM(name="writeback") as fsm:
            with m.State("IDLE"):
                with m.If(self.done.valid & (record.empty | any_consumed) & ~retired.any()):
                    with m.If(record.rs):
                        m.next = "COMMAND"
                    with m.Else():
                        m.d.comb += retire.eq(1)
            with m.State("COMMAND"):
                m.d.comb += [dma.wr_cmd.payload.len.eq(0), dma.wr_cmd.valid.eq(1)]
                with m.If(dma.wr_cmd.ready):
                    m.next = "DATA"
            with m.State("DATA"):
                # STA is byte 12 of the descriptor: byte 4 of its second quadword.
                m.d.comb += [
                    dma.wr_data.payload.data.eq(TXD_STA.DD << 32),
                    dma.wr_data.payload.strb.eq(1 << 4),
                    dma.wr_data.payload.last.eq(1),
                    dma.wr_data.valid.eq(1),
                ]
                with m.If(dma.wr_data.ready):
                    m.next = "WAIT"
            with m.State("WAIT"):
                m.d.comb += dma.wr_done.ready.eq(1)
                with m.If(dma.wr_done.valid):
                    m.next = "RETIRE"
            with m.State("RETIRE"):
                # DD is in host memory.
                m.d.comb += retire.eq(1)
                m.next = "IDLE"
        self._fsm = fsm

        written_back = retire & record.rs
        m.d.comb += [
            delay.event.eq(written_back & record.ide),
            delay.immediate.eq(written_back & ~record.ide),
            delay.packet_delay.eq(self.tidv),
            delay.absolute_delay.eq(self.tadv),
            self.txdw.eq(delay.fire),
        ]
        m.d.sync += self.txqe.eq(retired[0] & self.at_tail)
        return m


class TxWordQueue(wiring.Component):
    """The words of queued frames on their way to the MAC: a block RAM queue of ``depth`` words,
    read ahead into a small queue by the MAC. ``i`` is ready (from a register) while the queue
    holds fewer than ``depth`` - 2 words, which leaves room for the words its level does not
    count yet (offered in that cycle and the two before); a word offered when ``i.ready`` is
    high must be taken, as nothing waits. Words reach ``o`` at least five cycles after they
    were offered, one a cycle.

    Parameters
    ----------
    depth : int
        Words in the queue's RAM (a power of 2).

    Members
    -------
    i : In(stream.Signature(TxWord))
    o : Out(stream.Signature(TxWord))
    """

    def __init__(self, *, depth):
        self._depth = depth
        super().__init__({
            "i": In(stream.Signature(TxWord)),
            "o": Out(stream.Signature(TxWord)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = pipe.Queue(TxWord, ram_depth=self._depth)
        # Timing: the room is a register, high while the queue holds fewer than depth - 2
        # words, so that the queue's own ready, which comes from its level, stays off the
        # producer's logic. A word offered is written a cycle later, from registers, so that
        # the producer's handshake goes no further than a flip-flop by the queue's level. The
        # level seen in a cycle with room misses at most three words (offered in that cycle and
        # the two before), so the queue (depth + 1 entries) never refuses a word.
        m.d.sync += self.i.ready.eq(below(queue.level, self._depth - 2))
        offered = Signal(TxWord, reset_less=True)
        offered_valid = Signal()
        m.d.sync += [offered.eq(self.i.payload), offered_valid.eq(self.i.valid)]
        m.d.comb += [queue.i.payload.eq(offered), queue.i.valid.eq(offered_valid)]
        # The queue is block RAM, whose read data only a register may follow, and which sits
        # far from the MAC. It is read ahead into a small queue in front of the MAC, through two
        # registers that only load: the MAC's handshake reaches only the small queue, and the
        # RAM's read enable only the count of words read ahead (``pending``, the words in
        # flight among them), so the first register can sit by the RAM.
        m.submodules.ahead = ahead = pipe.Queue(TxWord, ram_depth=4)
        ahead_depth = ahead.depth
        pending = Signal(range(ahead_depth + 1))
        in_flight = Signal(2)       # a word taken one and two cycles ago
        read_data = Signal(TxWord, reset_less=True)
        write_data = Signal(TxWord, reset_less=True)
        take = queue.r_rdy & (pending != ahead_depth)
        m.d.comb += [queue.r_en.eq(take), ahead.i.payload.eq(write_data),
                     ahead.i.valid.eq(in_flight[1])]
        m.d.sync += [in_flight.eq(Cat(take, in_flight[0])), read_data.eq(queue.r_data),
                     write_data.eq(read_data),
                     pending.eq(stepped(pending, up=(take,), down=(ahead.r_rdy & ahead.r_en,)))]
        # The small queue is block RAM too (``hw.synth`` asks for it), which can sit by the
        # MAC: words leave it through a register slice.
        m.submodules.to_mac = to_mac = StreamRegister(TxWord, ram_output=True)
        wiring.connect(m, ahead.o, to_mac.i)
        wiring.connect(m, to_mac.o, wiring.flipped(self.o))
        return m


class TxDMA(wiring.Component):
    """Descriptors in from the ring, words out to the MAC; ``frame_ready`` when a frame is wholly
    queued. Buffer reads reserve room in the word queue first, so fetching overlaps
    transmission; descriptors are retired (DD written back with RS) in ring order.

    Members
    -------
    bus : In(RegBusSignature)
        TDH.
    ring : In(RingConfig)
        TCTL.EN with bus mastering on, TDLEN, TDT. (The ring's base goes to the DMA
        arbiter.)
    descriptors : Out(DMAReadSignature)
        Descriptor reads (the prefetcher's).
    buffers : Out(DMAReadSignature)
        Buffer reads.
    writeback : Out(DMAWriteSignature)
        Status write-back.
    tidv, tadv : In(16)
    words : Out(stream.Signature(TxWord))
        Frame data for the MAC.
    checksums : Out(stream.Signature(TxChecksums))
        One per frame, once all of it is queued: the MAC may start it.
    tags : Out(stream.Signature(TxTag))
        One per frame, valid whenever ``checksums`` is: to be taken with them.
    frame_ready : Out(1)
        The queue cannot take more until the MAC starts: the MAC may start a frame of which
        only a part is queued.
    txdw, txqe : Out(1)
        Interrupt causes.
    """

    def __init__(self, *, queue_depth=2048):
        self._depth = queue_depth
        super().__init__({
            "bus": In(RegBusSignature),
            "ring": In(RingConfig),
            "descriptors": Out(DMAReadSignature),
            "buffers": Out(DMAReadSignature),
            "writeback": Out(DMAWriteSignature),
            "tidv": In(16),
            "tadv": In(16),
            "words": Out(stream.Signature(TxWord)),
            "checksums": Out(stream.Signature(TxChecksums)),
            "tags": Out(stream.Signature(TxTag)),
            "frame_ready": Out(1),
            "txdw": Out(1),
            "txqe": Out(1),
        })
        # The fetcher reserves no more than the queue takes before ``room`` falls, so that the
        # words of every read it issues go in without the MAC's help.
        self.fetch = TxFetch(space=queue_depth - 2)
        self.tso = TxSegmenter()

    def elaborate(self, platform):
        m = Module()
        m.submodules.head = head = RingHead(reg.TDH)
        m.submodules.prefetch = prefetch = DescriptorPrefetch(layout=TxDescriptor)
        m.submodules.decoder = decoder = TxDescriptorDecoder()
        m.submodules.fetch = fetch = self.fetch
        m.submodules.offloads = offloads = pipe.Queue(TxWork, ram_depth=16)
        m.submodules.tso = tso = self.tso
        m.submodules.checksum = checksum = TxChecksum(depth=16)
        m.submodules.queue = queue = TxWordQueue(depth=self._depth)
        m.submodules.done = done = pipe.Queue(_Done, ram_depth=32)
        wiring.connect(m, prefetch.dma, wiring.flipped(self.descriptors))
        wiring.connect(m, fetch.dma, wiring.flipped(self.buffers))
        self._head = head
        share(m, self.bus, [head])
        wiring.connect(m, wiring.flipped(self.ring), head.config)
        wiring.connect(m, head.ring, prefetch.ring)
        # What the MAC takes is counted a cycle later, from registers: its handshake goes to
        # many places already. A word is then freed a cycle late for the fetcher's headroom
        # (the fetcher only waits longer), and a descriptor's data counts as taken a cycle late
        # (its write-back waits longer).
        taken_valid = Signal()
        taken_desc_end = Signal()
        taken_eop = Signal()
        m.d.sync += [taken_valid.eq(self.words.valid & self.words.ready),
                     taken_desc_end.eq(self.words.payload.desc_end),
                     taken_eop.eq(self.words.payload.eop)]
        queue_out = taken_valid
        m.d.comb += fetch.dequeued.eq(queue_out)
        # Timing: the fetcher's readiness for a descriptor (its read issuer's state) had run
        # back through the decoder into the prefetcher's slice. It stops at a register that
        # holds one descriptor: the fetcher spends a cycle on each after taking it anyway.
        m.submodules.to_decoder = to_decoder = HalfRateRegister(TxDescriptor)
        wiring.connect(m, prefetch.descs, to_decoder.i)
        wiring.connect(m, to_decoder.o, decoder.descs)
        wiring.connect(m, decoder.requests, fetch.descs)
        # Each frame's work goes ahead of its words, to the segmenter, which hands the checksum
        # unit a command with each frame's (or segment's) first word.
        # Timing: the work leaves the block RAM through a register slice.
        m.submodules.work = work = StreamRegister(TxWork, ram_output=True)
        # ...and goes in through one too, for the same reason as the tags (``TxFetch``).
        m.submodules.to_offloads = to_offloads = StreamRegister(TxWork)
        wiring.connect(m, fetch.offload, to_offloads.i)
        wiring.connect(m, to_offloads.o, offloads.i)
        wiring.connect(m, offloads.o, work.i)
        wiring.connect(m, work.o, tso.work)
        # Timing: the segmenter's ready, which comes from its state, stops at a register that
        # holds one word rather than running on into the fetcher's read data path. A word
        # every second cycle is four times the line's rate.
        m.submodules.fetched = fetched = HalfRateRegister(TxTaggedWord)
        wiring.connect(m, fetch.words, fetched.i)
        wiring.connect(m, fetched.o, tso.fetched)
        # Timing: the segmenter's words, with the command of the frame each starts, go into the
        # queue and the checksum unit from a register.
        m.submodules.to_queue = to_queue = StreamRegister(_Queued)
        m.d.comb += [
            to_queue.i.payload.word.eq(tso.words.payload),
            to_queue.i.payload.command.eq(tso.command),
            to_queue.i.valid.eq(tso.words.valid),
            tso.words.ready.eq(to_queue.i.ready),
        ]
        queued = to_queue.o.payload
        m.d.comb += [checksum.commands.payload.eq(queued.command),
                     checksum.commands.valid.eq(to_queue.o.valid)]
        # Timing: both ways between the fetcher and the segmenter, which placement may put far
        # apart, through a register (``SPARE`` leaves room for the cycles this takes).
        extra = Signal()
        spare = Signal()
        m.d.sync += [extra.eq(tso.extra), spare.eq(fetch.spare)]
        m.d.comb += [fetch.extra.eq(extra), tso.spare.eq(spare)]
        # Timing: the MAC takes a frame's checksums and tag as it starts it, a decision that
        # reaches far; it stops at registers that hold one of each (a frame's are taken at
        # once, and frames are tens of cycles apart).
        # Their queues are in block RAM (``hw.synth``), whose read data comes late and from
        # where the RAM is: it goes through the RAM's output register (``sums``, ``tag``) first.
        m.submodules.sums = sums = StreamRegister(TxChecksums, ram_output=True)
        m.submodules.tag = tag = StreamRegister(TxTag, ram_output=True)
        m.submodules.to_mac_sums = to_mac_sums = HalfRateRegister(TxChecksums)
        m.submodules.to_mac_tags = to_mac_tags = HalfRateRegister(TxTag)
        wiring.connect(m, checksum.results, sums.i)
        wiring.connect(m, sums.o, to_mac_sums.i)
        wiring.connect(m, to_mac_sums.o, wiring.flipped(self.checksums))
        # Words go in while the queue has room (a register) and the checksums have room for the
        # frames' results (another).
        room = queue.i.ready & checksum.room
        # A word goes into the queue as the checksums take it; a frame's last word leaves its
        # tag beside the checksums, which come some cycles later, in a queue as deep as theirs.
        m.submodules.tags = tags = pipe.Queue(TxTag, ram_depth=16)
        m.d.comb += [
            checksum.words.payload.eq(queued.word.word),
            checksum.words.valid.eq(to_queue.o.valid & room),
            to_queue.o.ready.eq(room & checksum.words.ready),
            queue.i.payload.eq(queued.word.word),
            queue.i.valid.eq(to_queue.o.valid & to_queue.o.ready),
            tags.i.payload.vlan.eq(queued.word.word.vlan),
            tags.i.payload.tci.eq(queued.word.tci),
            tags.i.valid.eq(queue.i.valid & queued.word.word.eop),
        ]
        wiring.connect(m, tags.o, tag.i)
        wiring.connect(m, tag.o, to_mac_tags.i)
        wiring.connect(m, to_mac_tags.o, wiring.flipped(self.tags))
        wiring.connect(m, fetch.done, done.i)
        wiring.connect(m, queue.o, wiring.flipped(self.words))

        self._frame_ready(m, fetch, tso, done, room, taken_valid & taken_eop)
        self._write_back(m, head, done, taken_valid & taken_desc_end)
        return m

    def _frame_ready(self, m, fetch, tso, done, room, taken_end):
        """``frame_ready``, from the frames counted whole or partly queued (``taken_end``: the
        MAC took a frame's last word, a cycle before)."""
        # A frame is whole in the queue when its checksums are out. Or the fetcher cannot go
        # on before the MAC frees something: no room for its next read or for the words it
        # has, or no room to note one more descriptor (a frame larger than the queue, or in
        # more descriptors than the done queue holds). The MAC then starts on what is queued,
        # several microseconds of the wire, which the reads outrun. Registered: it starts the
        # MAC, whose start reaches many flip-flops.
        # Only while the frame at the head of the queue has reads still to issue: once they
        # are all out, its words come without the MAC's help, and the MAC waits for its
        # checksums. Such frames are counted as their last read goes out, and as the MAC takes
        # their ends (a cycle late); the fetcher gets stuck on the next frame only cycles after.
        # A segment of a frame with TSE is counted as its last word goes into the queue. Both
        # are counted a cycle late (so ``frame_ready`` stays low meanwhile): the fetcher's and
        # the segmenter's states reach the count through a register.
        frames = Signal(range(self._depth + 1))
        segmented = Signal()
        requested = Signal()
        m.d.sync += [segmented.eq(tso.segmented), requested.eq(fetch.requested)]
        m.d.sync += frames.eq(stepped(frames, up=(requested, segmented), down=(taken_end,)))
        m.d.sync += self.frame_ready.eq((frames == 0) & ~segmented & ~requested
                                        & (fetch.starved | ~room | ~done.w_rdy))

    def _write_back(self, m, head, done, took):
        """Write-back and head: TDH moves as descriptors retire (``took``: the MAC took a
        descriptor's last word, a cycle before)."""
        m.submodules.writeback = retirement = TxWriteBack(depth=self._depth)
        self._writeback = retirement
        wiring.connect(m, done.o, retirement.done)
        wiring.connect(m, retirement.dma, wiring.flipped(self.writeback))
        m.d.comb += [
            retirement.took.eq(took),
            retirement.status_offset.eq(head.status_offset),
            retirement.at_tail.eq(head.ring.head == head.ring.tail),
            retirement.tidv.eq(self.tidv),
            retirement.tadv.eq(self.tadv),
            head.advance.eq(retirement.retire),
            self.txdw.eq(retirement.txdw),
            self.txqe.eq(retirement.txqe),
        ]

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated)."""
        return {"tdh": self._head.ring.head, "frame_ready": self.frame_ready,
                "writeback": self._writeback._fsm.state, **self.fetch.waveforms(),
                "segmenter": self.tso.waveforms()["state"], "txdw": self.txdw,
                "txqe": self.txqe}
