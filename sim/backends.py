"""Choosing the simulator a bench runs on.

``amaranth``: Amaranth's own simulator; every signal visible, named state machines in the
waveforms, a few thousand cycles per second. ``cxxrtl``: the same bench compiled to C++
(``sim.cxxrtl``), built once per design. ``auto``: the compiled backend when a C++ compiler is
there, else the Amaranth simulator, saying so.
"""

from .cxxrtl import CompilerMissing, CxxrtlBackend
from .pysim import AmaranthBackend


__all__ = ["BACKENDS", "create"]


BACKENDS = ("auto", "cxxrtl", "amaranth")


def create(bench, backend="auto", *, log=print, **kwargs):
    """A backend of kind ``backend`` running ``bench``; ``kwargs`` go to the backend."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "amaranth":
        return AmaranthBackend(bench, **kwargs)
    try:
        return CxxrtlBackend(bench, log=log, **kwargs)
    except CompilerMissing as error:
        if backend == "cxxrtl":
            raise
        log(f"sim: {error}; using the Amaranth simulator instead")
        return AmaranthBackend(bench, **kwargs)
