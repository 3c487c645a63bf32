"""Time and sleeping, injected so polling code can be tested without waiting.

Both clocks come from here: `now()` (monotonic, for intervals and deadlines) and `wall()`
(seconds since the epoch, for "the last hour of logs"). `ProgressDeadline` is the one
timeout that restarts on progress, shared by the deploy wait and verify's polling.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What domain code may ask of time."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch (wall-clock time, for timestamps AWS understands)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait; tests pass a clock whose sleep only advances `now`."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FakeClock:
    """A clock for tests: sleeping advances time instantly and is recorded."""

    def __init__(self, start: float = 0.0, wall_start: float | None = None) -> None:
        """`wall_start`: the wall time at `start` (default: the real time now, so events
        an AWS emulator accepts, which must be recent, fall inside the fake clock's "now")."""
        self.time = start
        self.sleeps: list[float] = []
        self._wall_offset = (time.time() if wall_start is None else wall_start) - start

    def now(self) -> float:
        return self.time

    def wall(self) -> float:
        return self.time + self._wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


class ProgressDeadline:
    """A timeout that restarts on progress: it expires only after `timeout` seconds in
    which nothing moved. Waits that can take long but show progress (a deploy, a rollout)
    use it, so a slow but moving operation is never cut off and a stuck one is."""

    def __init__(self, clock: Clock, timeout: float) -> None:
        self._clock = clock
        self.timeout = timeout
        self._last = clock.now()

    def progress(self) -> None:
        """Something moved: the timeout starts again from now."""
        self._last = self._clock.now()

    def idle_for(self) -> float:
        """Seconds since the last progress."""
        return self._clock.now() - self._last

    def remaining(self) -> float:
        return max(self.timeout - self.idle_for(), 0.0)

    def expired(self) -> bool:
        return self.idle_for() >= self.timeout
