"""Where the simulator keeps what outlives a run: compiled models and the prompt's history.

``cache_dir()`` is ``$E1000_COSIM_CACHE`` if set, else ``e1000-cosim`` in the user's cache folder
(``$XDG_CACHE_HOME``, by default ``~/.cache``), as the yowasp tools keep theirs. ``make clean``
leaves it; ``make distclean`` removes it.
"""

import os
from pathlib import Path


__all__ = ["cache_dir"]


def cache_dir():
    override = os.environ.get("E1000_COSIM_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "e1000-cosim"
