"""The guest's prompt on a terminal: line editing, history and completion through readline.

``LinePrompt(machine)`` is the ``read_line`` of ``Machine.run_interactive``: it returns the next
line, or None at end of input (Ctrl-D). History is kept between runs in the user's cache folder;
Tab completes the shell's commands, their words and the guest's network devices (the shell is
asked while the simulation waits at the prompt, so what it offers is the guest's state now).
Without a terminal (a pipe, a test) lines are read as they come, with no echo of the prompt's
editing.
"""

import os
import sys

try:
    import readline
except ImportError:         # Python built without it: plain input()
    readline = None

from .paths import cache_dir


__all__ = ["LinePrompt", "HISTORY_LINES"]

HISTORY_LINES = 1000


class LinePrompt:
    def __init__(self, machine, *, history=None):
        self.machine = machine
        self.history = history
        self._editing = readline is not None and sys.stdin.isatty()
        if self._editing:
            if self.history is None:
                self.history = os.path.join(cache_dir(), "history")
            try:
                readline.read_history_file(self.history)
            except OSError:
                pass
            readline.set_history_length(HISTORY_LINES)
            readline.set_completer_delims(" \t")
            readline.set_completer(self._complete)
            # libedit (macOS) and GNU readline take different words for the same binding.
            if "libedit" in (readline.__doc__ or ""):
                readline.parse_and_bind("bind ^I rl_complete")
            else:
                readline.parse_and_bind("tab: complete")
        self._matches = []

    def __call__(self, prompt):
        try:
            return input(prompt)
        except EOFError:
            if self._editing:
                print(file=sys.stderr)          # Ctrl-D leaves the cursor after the prompt
            return None

    def _complete(self, text, state):
        if state == 0:
            line = readline.get_line_buffer()[:readline.get_begidx()]
            world = self.machine.world
            self._matches = [] if world is None else \
                [w + " " for w in world.shell.completions(line.split(), text)]
        return self._matches[state] if state < len(self._matches) else None

    def close(self):
        """Save the history."""
        if self._editing and self.history:
            try:
                os.makedirs(os.path.dirname(self.history), exist_ok=True)
                readline.write_history_file(self.history)
            except OSError:
                pass                # a history is a convenience: never an error at exit
