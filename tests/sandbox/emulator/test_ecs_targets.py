"""Target health as an ALB keeps it, checked against a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ecslab.sandbox.emulator.ecs_model import breaker_threshold
from ecslab.sandbox.emulator.ecs_scheduler import service_failure_reason, service_outcome
from ecslab.sandbox.emulator.ecs_targets import CheckSettings, Target, probe

SETTINGS = CheckSettings("/health", 1.0, 0.5, 2, 2, "200", 0.0)


@contextmanager
def answering(status: int, delay: float = 0.0) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 answering `status` after `delay` s; its port."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stop.wait(delay)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_probe_judges_as_the_alb_does() -> None:
    with answering(200) as port:
        assert probe(port, SETTINGS) == ("healthy", None, None)
    with answering(503) as port:
        assert probe(port, SETTINGS) == (
            "unhealthy",
            "Target.ResponseCodeMismatch",
            "Health checks failed with these codes: [503]",
        )
    with answering(200, delay=2.0) as port:
        assert probe(port, SETTINGS) == ("unhealthy", "Target.Timeout", "Request timed out")
    with answering(200) as port:
        pass  # closed: nothing listens on it now
    assert probe(port, SETTINGS)[1] == "Target.FailedHealthChecks"


def test_a_target_goes_initial_healthy_unhealthy_draining() -> None:
    target = Target("tg", 1, "task", SETTINGS, registered_at=0.0)
    assert target.state == (
        "initial",
        "Elb.RegistrationInProgress",
        "Target registration is in progress",
    )
    failed = ("unhealthy", "Target.Timeout", "Request timed out")
    assert target.record(1.0, failed) is None
    assert target.state[1] == "Elb.InitialHealthChecking"
    assert target.record(2.0, ("healthy", None, None)) is None
    assert target.healthy  # one passing check is enough for a new target
    assert target.record(3.0, failed) is None and target.healthy
    assert target.record(4.0, failed) == "Request timed out"  # unhealthy threshold 2
    assert target.state == failed
    target.record(5.0, ("healthy", None, None))
    assert not target.healthy  # back in only after the healthy threshold
    target.record(6.0, ("healthy", None, None))
    assert target.healthy
    target.deregister(7.0)
    assert target.state[0] == "draining" and not target.due(100.0)


def test_the_circuit_breaker_threshold_is_awss() -> None:
    assert [breaker_threshold(d, None) for d in (1, 2, 6, 7, 10, 400, 1000)] == [
        3,
        3,
        3,
        4,
        5,
        200,
        200,
    ]
    count = {"thresholdConfiguration": {"type": "COUNT", "value": 7}}
    assert breaker_threshold(2, count) == 7


def test_no_scheduler_knows_no_service() -> None:
    assert service_outcome("lab", "web") is None
    assert service_failure_reason("arn:aws:ecs:us-east-1:123456789012:cluster/lab", "web") is None
