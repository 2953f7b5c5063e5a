"""Progress of a job on stderr: rate and ETA, in place on a terminal, a line every 10 s otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO

TTY_INTERVAL_S = 0.25
LOG_INTERVAL_S = 10.0


def hms(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """``update(offset, rows, failed)`` after each chunk; ``offset`` in the unit of the reader's ``total``."""

    def __init__(self, total: int, start: int, enabled: bool | None, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = True if enabled is None else enabled
        self.inplace = tty
        self.interval = TTY_INTERVAL_S if tty else LOG_INTERVAL_S
        self.total, self.start = total, start
        self.t0 = time.monotonic()
        self.last = 0.0 if tty else self.t0
        self.drawn = False

    def update(self, offset: int, rows: int, failed: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.t0
        rate = rows / elapsed if elapsed > 0 else 0.0
        frac = min(1.0, max(0.0, (offset - self.start) / max(1, self.total - self.start)))
        eta = hms(elapsed * (1 - frac) / frac) if frac > 0 else "?"
        pct = 100.0 * (offset / self.total if self.total else 1.0)
        msg = f"scoring {pct:5.1f}% | {rows:,} rows | {rate:,.0f} rows/s | elapsed {hms(elapsed)} | ETA {eta}" + (
            f" | {failed:,} failed" if failed else ""
        )
        if self.inplace:
            self.stream.write("\r" + msg.ljust(100))
            self.drawn = True
        else:
            self.stream.write(msg + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
