"""A progress bar on stderr for the synthesis commands (a line per step when stderr is not a terminal)."""
from __future__ import annotations

import sys


class ProgressBar:
    def __init__(self, label: str, width: int = 30, stream=None):
        self.label = label
        self.width = width
        self.stream = stream or sys.stderr
        self._last = -1

    def update(self, fraction: float, note: str = "") -> None:
        percent = int(round(100 * min(max(fraction, 0.0), 1.0)))
        interactive = getattr(self.stream, "isatty", lambda: False)()
        if percent == self._last or (not interactive and percent < 100 and percent - self._last < 10):
            return
        self._last = percent
        filled = self.width * percent // 100
        line = f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {percent:3d}%{' ' + note if note else ''}"
        if interactive:
            self.stream.write("\r" + line + ("\n" if percent == 100 else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
