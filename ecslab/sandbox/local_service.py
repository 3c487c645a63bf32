"""The lifecycle every local service shares: start, stop, remove, and `with` support.

A service that made its own directory removes it on `remove()`; one given a directory
(or attached to a process someone else started) leaves it alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Self


class LocalService:
    """Base of the sandbox's services; subclasses implement `start` and `stop`."""

    _owns_root: bool = False  # set by a subclass that created its own `root` directory

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        """Stop, and delete the directory if this object created it."""
        self.stop()
        root = getattr(self, "root", None)
        if self._owns_root and isinstance(root, Path):
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()
