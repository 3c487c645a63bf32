"""One ecslab at a time changes a given stack from this machine.

Two runs on one stack (two terminals, a CI retry) would race: the second would find the
first's change set waiting for review (REVIEW_IN_PROGRESS), take it for an abandoned
create and delete it. So every run that changes a stack first takes an exclusive lock
(`flock`, released by the kernel when the process ends, even on SIGKILL) on a file named
after the endpoint, region and stack. A second run says who holds it and waits; once
the first is done, the second finds the real state and continues from there.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ecslab.core.errors import DeployFailed, Interrupted

if TYPE_CHECKING:
    from ecslab.lab.context import Context

DEFAULT_WAIT = 30 * 60
POLL_SECONDS = 1.0


def lock_dir() -> Path:
    """Per user, under the temporary folder (TMPDIR honoured), private to the user."""
    path = Path(tempfile.gettempdir()) / f"ecslab-{os.getuid()}" / "locks"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def lock_path(endpoint: str, region: str, stack: str) -> Path:
    key = hashlib.sha256(f"{endpoint}\0{region}\0{stack}".encode()).hexdigest()[:24]
    return lock_dir() / f"{stack}-{key}.lock"


@contextmanager
def stack_lock(app: Context, stack: str, resume: str) -> Iterator[None]:
    """Hold the lock on `stack` for the block; wait (bounded) while another run holds it."""
    import fcntl

    config = app.config
    path = lock_path(config.endpoint_url or "aws", app.aws.region, stack)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as handle:
        _acquire(app, handle, stack, resume)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(app: Context, handle: IO[str], stack: str, resume: str) -> None:
    import fcntl

    clock = app.clock
    limit = app.config.timeout or DEFAULT_WAIT
    started = clock.now()
    announced = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not announced:
            holder = handle.read().strip() or "?"
            app.ui.warning(
                f"another ecslab (pid {holder}) is changing stack {stack} from this machine; "
                "waiting for it to finish"
            )
            announced = True
        if clock.now() - started > limit:
            raise DeployFailed(
                f"stack {stack} stayed locked by another ecslab for {int(limit)} s",
                f"let that run finish (or stop it), then run `{resume}` again",
            )
        try:
            clock.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            raise Interrupted(
                f"stopped waiting for the other ecslab on stack {stack}; nothing was changed",
                f"run `{resume}` again when it is done",
            ) from None
