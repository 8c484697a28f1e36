"""A progress line for long runs where the amount of work is known, on a terminal only.

``Progress(total, label)`` is called with the work done so far; it redraws one line on standard
error (``label: done/total (percent), elapsed``) at most ten times a second, and ``close()``
clears it. When standard error is not a terminal (a log, CI) it prints nothing: the caller's own
result lines are what a log wants.
"""

import sys
import time


__all__ = ["Progress"]


class Progress:
    def __init__(self, total, label, *, stream=None):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.shown = self.stream.isatty()
        self.began = time.monotonic()
        self._last = 0.0

    def __call__(self, done):
        if not self.shown:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        share = done / self.total if self.total else 1
        bar = "#" * int(20 * share)
        print(f"\r{self.label}: [{bar:<20}] {done}/{self.total} ({100 * share:.0f}%), "
              f"{now - self.began:.0f} s", end="", file=self.stream, flush=True)

    def close(self):
        if self.shown:
            print("\r\033[K", end="", file=self.stream, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
