"""How soon `verify` notices a backend that turns healthy: the time from the microsite's
first good answer to verify reporting healthy, for backends that start at several delays.

Real PostgreSQL, the real microsite as a process, moto in this process; all on 127.0.0.1.
A side poller (every 20 ms, bounded) records when GET / first answers 200. Target: within
one poll interval of verify (at most 5 s).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3

from ecslab.aws.session import Aws
from ecslab.compose.app import App
from ecslab.core.clock import SystemClock
from ecslab.core.config import Config
from ecslab.core.ui import UI
from ecslab.sandbox import MotoServer, PostgresServer, free_port
from ecslab.steps import verify

MICROSITE = Path(__file__).resolve().parent.parent / "microsite"
DELAYS = (0.5, 2.5, 5.0, 9.0)


def first_ok(url: str, deadline: float) -> float | None:
    """The monotonic time of the first 200 from `url`, polling every 20 ms until deadline."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=1) as answer:
                if answer.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.02)
    return None


def start_later(
    delay: float, env: dict[str, str]
) -> tuple[threading.Thread, list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run() -> None:
        time.sleep(delay)
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "microsite"],
                env=env,
                cwd=MICROSITE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    thread = threading.Thread(target=run)
    thread.start()
    return thread, started


def measure(delay: float, pg: PostgresServer, moto: MotoServer) -> tuple[float, int]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "PORT": str(port),
        "ENVIRONMENT": "bench",
        "HOST": pg.host,
        "USER": pg.user,
        "PASSWORD": pg.password,
        "DB_NAME": "bench",
        "DB_PORT": str(pg.port),
        "LISTEN_HOST": "127.0.0.1",
    }
    session = boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    config = Config(region="us-east-1", endpoint_url=moto.endpoint_url, verify_url=url, timeout=60)
    app = App(
        config=config,
        ui=UI(mode="json", out=io.StringIO(), err=io.StringIO()),
        clock=SystemClock(),
        aws_factory=lambda c: Aws(c, session),
    )
    thread, started = start_later(delay, env)
    seen: list[float | None] = []
    watcher = threading.Thread(target=lambda: seen.append(first_ok(url, time.monotonic() + 60)))
    watcher.start()
    try:
        result = verify.build(app).run()
        noticed = time.monotonic()
        watcher.join()
        thread.join()
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)
    if not seen or seen[0] is None:
        raise SystemExit(f"the microsite never answered (delay {delay} s)")
    return noticed - seen[0], int(result.data["polls"])


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    with PostgresServer() as pg, MotoServer() as moto:
        pg.create_database("bench")
        print(f"verify poll interval: backoff 1, 2, 4 s, then every {verify.POLL_MAX:g} s")
        worst = 0.0
        for delay in DELAYS:
            latency, polls = measure(delay, pg, moto)
            worst = max(worst, latency)
            print(
                f"backend healthy {delay:4.1f} s in: noticed {latency:5.2f} s after its "
                f"first good answer ({polls} polls)"
            )
        verdict = "meets" if worst <= verify.POLL_MAX else "MISSES"
        print(
            f"worst: {worst:.2f} s ({verdict} the target: within one poll interval, "
            f"{verify.POLL_MAX:g} s)"
        )


if __name__ == "__main__":
    main()
