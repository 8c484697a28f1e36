"""The compiled model as a backend: the same design as Amaranth's simulator runs, hundreds of
times faster.

``CxxrtlBackend`` builds the model (``sim.cxxrtl_build``) or finds it in the cache, loads the
library with ctypes and reaches the model's signals and memories through the CXXRTL C API:
Python reads and writes their storage in place (host memory is a numpy view), and only asks C++
to run cycles.
"""

import ctypes

import numpy as np
from amaranth.hdl import Value
from amaranth.lib import wiring

from .amaranth_private import SignalDict
from .backend import Backend, SimulationError
from .bench import PERIOD
from .cxxrtl_build import CompilerMissing, Model, build, compiler


__all__ = ["CxxrtlBackend", "CompilerMissing", "Model", "build", "compiler"]


# The CXXRTL C API's view of a signal or memory (cxxrtl_capi.h).

class _Object(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("width", ctypes.c_size_t), ("lsb_at", ctypes.c_size_t),
                ("depth", ctypes.c_size_t), ("zero_at", ctypes.c_size_t),
                ("curr", ctypes.POINTER(ctypes.c_uint32)), ("next", ctypes.POINTER(ctypes.c_uint32)),
                ("outline", ctypes.c_void_p), ("attrs", ctypes.c_void_p)]


_MEMORY, _OUTLINE = 2, 4
_INPUT = 1
_FILTER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_Object))


def _load(path):
    lib = ctypes.CDLL(str(path))
    p, u64 = ctypes.c_void_p, ctypes.c_uint64
    obj = ctypes.POINTER(_Object)
    for name, restype, argtypes in [
            ("stepper_create", p, []),
            ("stepper_destroy", None, [p]),
            ("stepper_handle", p, [p]),
            ("stepper_settle", None, [p]),
            ("stepper_cycles", None, [p, u64]),
            ("stepper_until", u64, [p, obj, u64, u64]),
            ("stepper_wait", u64, [p, obj, obj, u64]),
            ("stepper_serve", u64, [p, obj, obj, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                    u64, u64, ctypes.POINTER(ctypes.c_int)]),
            ("stepper_host_storage", ctypes.c_int, [p, p, u64]),
            ("stepper_vcd_start", None, [p, u64, p, _FILTER]),
            ("stepper_vcd_read", ctypes.c_size_t, [p, ctypes.POINTER(ctypes.c_char_p)]),
            ("cxxrtl_get_parts", obj, [p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]),
            ("cxxrtl_outline_eval", None, [p])]:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


class _Signal:
    """A signal's storage in the model."""

    def __init__(self, backend, name, pointer):
        obj = pointer.contents
        self.name = name
        self.pointer = pointer
        self.width = obj.width
        self.chunks = (obj.width + 31) // 32
        self.words = np.ctypeslib.as_array(obj.curr, shape=(self.chunks,))
        self.next = np.ctypeslib.as_array(obj.next, shape=(self.chunks,)) if obj.next else None
        self.input = bool(obj.flags & _INPUT)
        self.outline = obj.outline if obj.type == _OUTLINE else None


class _Rows:
    """A memory's rows in the model, read and written in place."""

    def __init__(self, backend, obj):
        self._backend = backend
        self.chunks = (obj.width + 31) // 32
        self.depth = obj.depth
        self.words = np.ctypeslib.as_array(obj.curr, shape=(obj.depth, self.chunks))
        self.row_bytes = (obj.width + 7) // 8
        self.bytes = self.words.view(np.uint8)      # (depth, 4 * chunks), little-endian

    def get(self, i):
        value = 0
        for c in range(self.chunks - 1, -1, -1):
            value = (value << 32) | int(self.words[i, c])
        return value

    def set(self, i, value):
        for c in range(self.chunks):
            self.words[i, c] = (value >> (32 * c)) & 0xFFFF_FFFF
        self._backend._dirty = True

    def load(self, first, count):
        return self.bytes[first:first + count, :self.row_bytes].tobytes()

    def store(self, first, raw):
        count = len(raw) // self.row_bytes
        self.bytes[first:first + count, :self.row_bytes] = \
            np.frombuffer(bytes(raw), np.uint8).reshape(count, self.row_bytes)
        self._backend._dirty = True


class CxxrtlBackend(Backend):
    """Parameters
    ----------
    model : Model, optional
        A model built earlier with ``build(bench)``; built (or found in the cache) otherwise.
    log : callable
        Progress while a model is built.
    """

    name = "cxxrtl"

    def __init__(self, bench, *, model=None, log=None, **kwargs):
        super().__init__(bench, **kwargs)
        self.model = model if model is not None else build(bench, log=log)
        self._lib = _load(self.model.path)
        self._stepper = self._lib.stepper_create()
        if not self._stepper:
            raise SimulationError(f"{self.model.path}: the model has no clock")
        self._handle = self._lib.stepper_handle(self._stepper)
        self._signals = SignalDict()
        self._by_id = {}
        self._keep = []             # what _by_id's keys are the ids of
        self._memories = {}
        self._dirty = False
        self._vcd = None
        self._irq = self._signal(bench.irq)
        # CXXRTL starts inputs at zero, Amaranth at their initial values. Then the first edge:
        # Python always runs just after one.
        for _, member, port in bench.signature.flatten(bench):
            if member.flow == wiring.In:
                self.set(port, Value.cast(port).init)
        for data, rows in bench.preload().items():
            memory = self.memory(data)
            for i, value in enumerate(rows):
                memory.set(i, value)
        self._settle()
        self._lib.stepper_cycles(self._stepper, 1)
        self._tx_frames = self._signal(bench.partner.tx_frames)

    def __del__(self):
        stepper = getattr(self, "_stepper", None)
        if stepper:
            self._lib.stepper_destroy(stepper)
            self._stepper = None

    def _object(self, name):
        parts = ctypes.c_size_t(0)
        pointer = self._lib.cxxrtl_get_parts(self._handle, name.encode(), ctypes.byref(parts))
        if not pointer or parts.value != 1:
            return None
        return pointer

    def _signal(self, signal):
        found = self._by_id.get(id(signal))        # the bench's ports and views live as long
        if found is not None:                      # as the bench: cheaper than Value.cast
            return found
        port = signal
        signal = Value.cast(signal)
        found = self._signals.get(signal)
        if found is None:
            name = self.model.names.get(signal)
            pointer = self._object(name) if name is not None else None
            if pointer is None:
                raise KeyError(f"{signal!r} is not visible in the compiled model")
            found = self._signals[signal] = _Signal(self, name, pointer)
        self._by_id[id(port)] = found
        self._keep.append(port)
        return found

    def _settle(self):
        if self._dirty:
            self._lib.stepper_settle(self._stepper)
            self._dirty = False

    # Primitives.

    def get(self, signal):
        s = self._signal(signal)
        self._settle()
        if s.outline:
            self._lib.cxxrtl_outline_eval(s.outline)
        if s.chunks == 1:
            return int(s.words[0])
        return int.from_bytes(s.words.tobytes(), "little")

    def set(self, signal, value):
        s = self._signal(signal)
        if not s.input:
            raise ValueError(f"{s.name} is not an input of the bench")
        value &= (1 << s.width) - 1
        for c in range(s.chunks):
            s.next[c] = (value >> (32 * c)) & 0xFFFF_FFFF
        self._dirty = True

    def memory(self, data):
        rows = self._memories.get(id(data))
        if rows is None:
            names = {id(d): name for name, d in self.bench.memories().items()}
            pointer = self._object(names[id(data)]) if id(data) in names else None
            if pointer is None or pointer.contents.type != _MEMORY:
                raise KeyError(f"{data!r} is not a memory of the compiled model")
            rows = self._memories[id(data)] = _Rows(self, pointer.contents)
        return rows

    def host_memory(self):
        """All of host memory as a numpy array of bytes, shared with the model (no copy)."""
        return self.memory(self.bench.hostmem.data).bytes[:, :8].reshape(-1)

    def lend_host_memory(self, address):
        """Make the ``hostmem.size`` bytes at ``address`` in this process (a virtual machine's
        RAM mapped here, say) host memory's storage; its own is given back when the backend
        goes. DMA then reads and writes them directly."""
        size = self.bench.hostmem.size
        if self._lib.stepper_host_storage(self._stepper, address, size) != 0:
            raise SimulationError(f"this model's host memory is not {size} bytes")
        obj = _Object(type=_MEMORY, width=64, depth=size // 8,
                      curr=ctypes.cast(ctypes.c_void_p(address), ctypes.POINTER(ctypes.c_uint32)))
        self._memories[id(self.bench.hostmem.data)] = _Rows(self, obj)

    def serve(self, fds, *, every, limit):
        """Run until INTx changes, the MAC finishes a frame, one of ``fds`` is readable (looked
        at every ``every`` cycles) or ``limit`` cycles; returns (cycles, why) with why one of
        "irq", "frame", "fd" or "limit"."""
        self._settle()
        array = (ctypes.c_int * max(1, len(fds)))(*fds)
        why = ctypes.c_int(0)
        n = self._lib.stepper_serve(self._stepper, self._irq.pointer, self._tx_frames.pointer,
                                    array, len(fds), every, limit, ctypes.byref(why))
        self._flush_vcd()
        self._poll_wire()
        return n, {1: "irq", 2: "frame", 4: "fd"}.get(why.value, "limit")

    async def cycles(self, n):
        if n <= 0:
            return
        self._settle()
        self._lib.stepper_cycles(self._stepper, n)
        self._flush_vcd()
        self._poll_wire()

    async def _until(self, signal, value, limit):
        s = self._signal(signal)
        if s.outline or s.width > 64:
            raise ValueError(f"cannot wait for {s.name}: the model computes it only on demand"
                             if s.outline else f"cannot wait for {s.name}: wider than 64 bits")
        self._settle()
        n = self._lib.stepper_until(self._stepper, s.pointer, value, limit)
        self._flush_vcd()
        return n

    async def _wait_event(self, limit):
        self._settle()
        self._lib.stepper_wait(self._stepper, self._irq.pointer, self._tx_frames.pointer, limit)
        self._flush_vcd()

    # Running.

    def run(self, scenario, *, vcd=None, gtkw=None, traces=None, trace_all=False):
        if vcd is not None:
            self._start_vcd(vcd, gtkw, traces or {}, trace_all)
        coroutine = scenario(self)
        try:
            try:
                coroutine.send(None)
            except StopIteration as stop:
                value = stop.value
            else:
                coroutine.close()
                raise RuntimeError("the scenario awaited something other than the backend")
            self.check_faults()
            return value
        finally:
            self.cycles_run = self.now
            self._finish_vcd()

    # Waveforms.

    def start_waveforms(self, vcd, gtkw=None, traces=None, trace_all=False):
        """Record waveforms from now on (``run`` does this for a whole scenario); the time
        axis is simulated time since the start."""
        self._start_vcd(vcd, gtkw, traces or {}, trace_all)

    def finish_waveforms(self):
        """Stop recording and close the files."""
        self._finish_vcd()

    def _start_vcd(self, path, gtkw, traces, trace_all):
        from .trace import flatten, state_names, trace_of
        groups = {}
        wanted = set()
        for group, items in traces.items():
            shown = []
            for alias, item in items.items():
                for name, signal, shape in flatten(alias, item):
                    try:
                        s = self._signal(signal)
                    except KeyError:
                        continue            # optimised away in the compiled model
                    trace = trace_of(s.name.replace(" ", "."), s.width, name.lstrip("."), shape)
                    if shape is None:
                        trace.names = state_names(signal)
                    if all((t.name, t.field) != (trace.name, trace.field) for t in shown):
                        wanted.add(s.name)
                        shown.append(trace)
            groups[group] = shown
        self._vcd_groups = groups
        self._vcd_path = path
        self._gtkw_path = gtkw
        self._vcd = open(path, "wb")

        def accept(data, name, obj):
            return int(name.decode() in wanted)
        self._vcd_filter = _FILTER() if trace_all else _FILTER(accept)      # NULL: everything
        self._lib.stepper_vcd_start(self._stepper, round(PERIOD * 1e9), None, self._vcd_filter)
        self._flush_vcd()

    def _flush_vcd(self):
        if self._vcd is None:
            return
        data = ctypes.c_char_p()
        size = self._lib.stepper_vcd_read(self._stepper, ctypes.byref(data))
        if size:
            self._vcd.write(ctypes.string_at(data, size))

    def _finish_vcd(self):
        if self._vcd is None:
            return
        self._flush_vcd()
        self._vcd.close()
        self._vcd = None
        if self._gtkw_path:
            from .trace import write_gtkw
            write_gtkw(self._gtkw_path, self._vcd_path, self.ns(self.now), self._vcd_groups,
                       markers=self.markers, focus=self.focus, window=self.window_ns)
