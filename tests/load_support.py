"""One bounded load loop through the sandbox's load balancer, for the tests that must see
no failed request while tasks are replaced, deployed or rolled back.

`Load(url)` GETs the URL from `threads` threads until the block ends, `seconds` pass or
`limit` requests were made, whichever comes first (loopback only, never unbounded). Each
answer is classified: a 200 is counted under `key(body)` in `answers`, anything else (an
error status, a refused or reset connection, a timeout) is kept in `failures` as one line.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit


def first_line(body: str) -> str:
    return body.splitlines()[0] if body else ""


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """One GET, with no proxy: (status, body), or (0, what went wrong)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, f"error {exc!r}"
    finally:
        connection.close()


class Load:
    """A bounded loop of GETs through a load balancer, counting who answered and what failed."""

    def __init__(
        self,
        url: str,
        *,
        threads: int = 1,
        seconds: float = 300.0,
        limit: int = 200_000,
        key: Callable[[str], str] = first_line,
        pause: float = 0.0,
    ) -> None:
        self.url, self.seconds, self.limit, self.key, self.pause = url, seconds, limit, key, pause
        self.answers: Counter[str] = Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self.answers.values()) + len(self.failures)

    @property
    def ok(self) -> int:
        with self._lock:
            return sum(self.answers.values())

    def snapshot(self) -> Counter[str]:
        """The answers so far, copied while no thread adds to them."""
        with self._lock:
            return Counter(self.answers)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self.requests >= self.limit:
                return
            status, body = get(self.url)
            with self._lock:
                if status == 200:
                    self.answers[self.key(body)] += 1
                else:
                    self.failures.append(f"HTTP {status}: {body[:80]}" if status else body)
            if self.pause:
                self._stop.wait(self.pause)
