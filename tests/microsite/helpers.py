"""Helpers for the microsite tests: run the service as a real process and talk HTTP to it.

The service is started with `python -m microsite` from the repository's microsite/
directory, listening on 127.0.0.1 only, with the settings an ECS task definition passes.
Its JSON log lines are collected from stdout for assertions.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecslab.sandbox import PostgresServer

MICROSITE_DIR = Path(__file__).resolve().parents[2] / "microsite"
sys.path.insert(0, str(MICROSITE_DIR))  # the unit tests import the service's modules


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def service_env(server: PostgresServer, dbname: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DB_"))}
    env.update(
        PORT=str(port),
        ENVIRONMENT="test",
        HOST=server.host,
        USER=server.user,
        PASSWORD=server.password,
        DB_NAME=dbname,
        DB_PORT=str(server.port),
        LISTEN_HOST="127.0.0.1",
        PYTHONPATH=str(MICROSITE_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Microsite:
    """One running service process; `lines` holds its parsed stdout log lines."""

    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    raw: list[bytes] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> Microsite:
        self.launch()
        if wait_ready:
            self.wait_for(lambda: self.get("/ready").status == 200, timeout, "ready")
        else:
            self.wait_for(lambda: self.get("/health").status == 200, timeout, "listening")
        return self

    def launch(self) -> Microsite:
        """Start the process and return at once."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "microsite"],
            cwd=MICROSITE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def logged(self, event: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The log lines of `event`, waiting (logs are flushed every second) for one."""
        self.wait_for(
            lambda: any(line["event"] == event for line in self.lines), timeout, f"logging {event}"
        )
        return [line for line in self.lines if line["event"] == event]

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.raw.append(line)

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]

    def get(self, path: str, **kwargs: Any) -> Reply:
        return request(self.port, "GET", path, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return request(self.port, method, path, **kwargs)

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"microsite exited ({self.process.returncode}): "
                    f"{b''.join(self.raw).decode(errors='replace')}"
                )
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(
            f"microsite not {what} within {timeout} s: "
            f"{b''.join(self.raw)[-2000:].decode(errors='replace')}"
        )

    def stop(self, timeout: float = 25.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
            if self._reader is not None:
                self._reader.join(5)
