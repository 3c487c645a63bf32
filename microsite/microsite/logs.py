"""Structured logs: one JSON object per line on stdout, the format awslogs ships as is.

Lines are buffered and written at most every FLUSH_INTERVAL seconds or when the buffer
fills, so that an access-log line costs no system call per request. Call `flush()` before
exiting. Nothing here formats exceptions: callers log an error's type, never its text,
so that no SQL, stack trace or secret reaches the log. `LoggingBridge` sends the standard
`logging` records of libraries (uvicorn's protocol warnings, asyncio) to the same stream,
as JSON lines with the same rule.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Any

import orjson

FLUSH_INTERVAL = 0.25
_BUFFER_LIMIT = 64 * 1024
_MESSAGE_MAX = 300
_REQUEST_LINE = (
    b'{"ts":%.6f,"level":"info","event":"request","method":%s,"path":%s,"status":%d,"ms":%.3f}\n'
)


class JsonLog:
    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdout.fileno() if fd is None else fd
        self._chunks: list[bytes] = []
        self._size = 0

    def emit(self, level: str, event: str, **fields: Any) -> None:
        record = {"ts": time.time(), "level": level, "event": event, **fields}
        line = orjson.dumps(record, default=str) + b"\n"
        self._chunks.append(line)
        self._size += len(line)
        if self._size >= _BUFFER_LIMIT:
            self.flush()

    def request(self, method: str, path: str, status: int, seconds: float) -> None:
        """The access-log line, formatted directly: it is written once per request."""
        line = _REQUEST_LINE % (
            time.time(),
            orjson.dumps(method),
            orjson.dumps(path),
            status,
            seconds * 1000,
        )
        self._chunks.append(line)
        self._size += len(line)
        if self._size >= _BUFFER_LIMIT:
            self.flush()

    def info(self, event: str, **fields: Any) -> None:
        self.emit("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.emit("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.emit("error", event, **fields)

    def flush(self) -> None:
        if not self._chunks:
            return
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                continue
            except OSError:
                return  # stdout is gone: logging must never take the service down
            view = view[written:]

    async def flush_periodically(self) -> None:
        """Flush every FLUSH_INTERVAL seconds until cancelled."""
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.flush()


class LoggingBridge(logging.Handler):
    """A `logging` handler writing each record as one JSON line through a JsonLog.

    The record's message is kept (truncated), its exception only as a type name: a
    library's traceback could carry SQL or connection settings.
    """

    def __init__(self, log: JsonLog) -> None:
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        fields: dict[str, Any] = {"logger": record.name}
        try:
            fields["message"] = record.getMessage()[:_MESSAGE_MAX]
        except (TypeError, ValueError):
            fields["message"] = str(record.msg)[:_MESSAGE_MAX]
        if record.exc_info and record.exc_info[0] is not None:
            fields["error"] = record.exc_info[0].__name__
        self._log.emit(record.levelname.lower(), "library", **fields)

    @classmethod
    def install(cls, log: JsonLog, level: int = logging.WARNING) -> None:
        """Route the root logger, which uvicorn's loggers propagate to, through `log`."""
        root = logging.getLogger()
        root.handlers[:] = [cls(log)]
        root.setLevel(level)
        logging.getLogger("uvicorn").setLevel(level)
