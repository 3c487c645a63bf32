"""`verify`'s HTTP side against a real microsite process and a real PostgreSQL on loopback.

No stack exists in moto here, so verify probes `verify_url` only (nothing to watch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest

from ecslab.core.clock import FakeClock
from ecslab.core.errors import ExitCode, VerifyFailed, VerifyTimeout
from ecslab.sandbox import PostgresServer
from ecslab.steps import verify
from ecslab.steps.base import Outcome
from tests.helpers import make_app, run_step
from tests.microsite.helpers import Microsite, service_env
from tests.verify_support import StandIn, events


@pytest.fixture
def sites(free_port: Callable[[], int]) -> Iterator[Callable[[PostgresServer, str], Microsite]]:
    made: list[Microsite] = []

    def make(server: PostgresServer, dbname: str) -> Microsite:
        port = free_port()
        site = Microsite(service_env(server, dbname, port), port)
        made.append(site)
        return site

    yield make
    for site in made:
        site.stop()


def _url(site: Microsite) -> str:
    return f"http://127.0.0.1:{site.port}/"


def test_healthy_microsite_reports_url_data_and_latency(
    aws: boto3.Session, moto_server: str, postgres: PostgresServer, fresh_database: str, sites
) -> None:
    site = sites(postgres, fresh_database).start()
    app = make_app(aws, moto_server, verify_url=_url(site))

    result = run_step(verify.build(app))

    assert result.outcome == Outcome.DONE
    assert result.data["http_status"] == 200
    assert result.data["polls"] == 1
    assert result.data["response"]["service"] == "microsite"
    assert len(result.data["response"]["items"]) == 3  # the microsite seeds three rows
    assert result.data["latency_ms"] >= 0
    assert "answered 200" in result.message and "3 item(s)" in result.message
    first = events(app)[0]
    assert first["poll_interval_max"] <= 5  # the poll interval is shown


def test_database_stopped_is_reported_as_unreachable_with_its_host(
    aws: boto3.Session, moto_server: str, private_postgres: PostgresServer, sites
) -> None:
    dbname = private_postgres.create_database("site")
    site = sites(private_postgres, dbname).start()
    private_postgres.stop()
    app = make_app(
        aws,
        moto_server,
        verify_url=_url(site),
        db_host=private_postgres.host,
        db_port=private_postgres.port,
        timeout=600,
    )

    with pytest.raises(VerifyFailed) as caught:
        run_step(verify.build(app))

    assert caught.value.exit_code == ExitCode.VERIFY_FAILED
    assert "database unreachable from the tasks" in caught.value.message
    assert f"{private_postgres.host}:{private_postgres.port}" in caught.value.message
    # It gave up because the same 503 persisted, long before the timeout.
    assert isinstance(app.clock, FakeClock) and app.clock.time < 60


def test_wrong_json_from_another_service_fails_with_cause(
    aws: boto3.Session, moto_server: str
) -> None:
    other = StandIn(200, b'{"status": "ok", "app": "someone else"}')
    with other.running() as url:
        app = make_app(aws, moto_server, verify_url=url)
        with pytest.raises(VerifyFailed) as caught:
            run_step(verify.build(app))
    message = caught.value.message
    assert "not with the microsite's data" in message
    assert "database.time" in message
    assert caught.value.hint and "listener" in caught.value.hint


def test_connection_refused_times_out(
    aws: boto3.Session, moto_server: str, free_port: Callable[[], int]
) -> None:
    app = make_app(aws, moto_server, verify_url=f"http://127.0.0.1:{free_port()}/", timeout=60)

    with pytest.raises(VerifyTimeout) as caught:
        run_step(verify.build(app))

    assert caught.value.exit_code == ExitCode.VERIFY_TIMEOUT
    assert "connection refused" in caught.value.message
    assert isinstance(app.clock, FakeClock)
    assert 60 <= app.clock.time <= 61
    assert max(app.clock.sleeps) <= verify.POLL_MAX
    assert app.clock.sleeps[:3] == [1.0, 2.0, 4.0]  # backoff


class _StartingClock(FakeClock):
    """A fake clock that starts the microsite when verify has slept `after` times."""

    def __init__(self, site: Microsite, after: int) -> None:
        super().__init__()
        self.site, self.after = site, after

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) == self.after:
            self.site.start()


def test_slow_start_turns_healthy_within_the_timeout(
    aws: boto3.Session, moto_server: str, postgres: PostgresServer, fresh_database: str, sites
) -> None:
    site = sites(postgres, fresh_database)
    clock = _StartingClock(site, after=4)
    app = make_app(aws, moto_server, clock=clock, verify_url=_url(site), timeout=60)

    result = run_step(verify.build(app))

    assert result.outcome == Outcome.DONE
    assert result.data["polls"] == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0]
    # a healthy backend is noticed within one poll interval: no wait exceeds POLL_MAX
    assert max(clock.sleeps) <= verify.POLL_MAX <= 5
