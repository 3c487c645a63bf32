"""Peers that misbehave: an endpoint that never answers, one that answers HTML, a server
that trickles its headers, a signal, and a second ecslab on the same stack.

Each must end in seconds with a documented exit code and one line, never a traceback,
a hang or a page of HTML.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from ecslab.aws.cloudformation import CloudFormation
from ecslab.aws.session import Aws, Transient
from ecslab.cli.state import CliState
from ecslab.compose.app import App
from ecslab.core.clock import FakeClock
from ecslab.core.config import Config
from ecslab.core.environment import Environment
from ecslab.core.errors import DeployFailed, ExitCode
from ecslab.core.ui import UI
from ecslab.lab.probe import Verdict, probe
from ecslab.lab.stack_lock import stack_lock
from ecslab.lab.stack_wait import wait_for_stack
from tests.hostile.conftest import Result
from tests.hostile.peers import elapsed, html_server, hung_server, odd_server, slow_header_server

REPO = Path(__file__).resolve().parents[2]
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/shop-dev/0a1b"


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> dict[str, str]:
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _app(config: Config, aws: Callable[[Config], Aws], clock: FakeClock | None = None) -> App:
    ui = UI(mode="json", out=io.StringIO(), err=io.StringIO(), assume_yes=True)
    return App(config=config, ui=ui, clock=clock or FakeClock(), aws_factory=aws)


# -- an endpoint that answers HTML ------------------------------------------------------


@pytest.mark.parametrize("status", [200, 502])
@pytest.mark.parametrize("output", ["text", "json"])
def test_an_html_answer_is_exit_4_in_one_line(
    ecslab: Callable[..., Result], fake_aws: dict[str, str], status: int, output: str
) -> None:
    with html_server(status) as url:
        result = ecslab("-o", output, "--region", "us-east-1", "--endpoint-url", url, "status")
    shown = result.out + result.err
    assert result.code == ExitCode.AWS, shown
    assert f"HTTP {status} text/html" in shown
    assert "Wi-Fi login" in shown
    assert "secret-looking body" not in shown
    assert len(shown) < 600


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b'{"secret-looking": 1}', "application/json"), (b"<secret-looking", "text/xml")],
)
def test_an_answer_that_is_not_aws_is_exit_4_without_the_body(
    ecslab: Callable[..., Result], fake_aws: dict[str, str], body: bytes, content_type: str
) -> None:
    with odd_server(body, content_type) as url:
        result = ecslab("--region", "us-east-1", "--endpoint-url", url, "status")
    shown = result.out + result.err
    assert result.code == ExitCode.AWS, shown
    assert "not an AWS API response" in shown
    assert "secret-looking" not in shown


# -- an endpoint that accepts and never answers ------------------------------------------


def test_a_hung_endpoint_costs_its_read_timeout_once() -> None:
    with hung_server() as url:
        config = Config(region="us-east-1", endpoint_url=url)
        aws = Aws(config, _session(), read_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(Transient, match="did not answer in time"):
            aws.identity()
    assert elapsed(started) < 5


def test_a_hung_endpoint_lets_the_progress_timeout_fire() -> None:
    """Each poll times out fast and counts as 'no answer'; the loop's own timeout ends it."""
    with hung_server() as url:
        config = Config(region="us-east-1", endpoint_url=url, timeout=10)
        clock = FakeClock()
        app = _app(
            config,
            lambda c: Aws(c, _session(), preflight=False, read_timeout=0.3, attempts=1),
            clock,
        )
        started = time.monotonic()
        with pytest.raises(DeployFailed, match="gave up waiting"):
            wait_for_stack(app, CloudFormation(app.aws), STACK_ID, None, "shop-dev", "resume")
    assert elapsed(started) < 10
    assert clock.time > 10  # the poller's clock, not the socket, decided


def test_the_cli_gives_up_on_a_hung_endpoint(
    ecslab: Callable[..., Result], fake_aws: dict[str, str]
) -> None:
    with hung_server() as url:
        started = time.monotonic()
        result = ecslab("--region", "us-east-1", "--endpoint-url", url, "status")
    assert result.code == ExitCode.AWS
    assert "did not answer in time" in result.err
    assert elapsed(started) < 15  # the preflight's 8 s read timeout, once


# -- verify against a server that trickles its answer ------------------------------------


def test_the_probe_deadline_covers_the_whole_request() -> None:
    with slow_header_server(interval=0.2) as url:
        started = time.monotonic()
        result = probe(url, timeout=1.0)
    assert elapsed(started) < 3
    assert result.verdict == Verdict.NO_ANSWER
    assert "no complete answer within 1 s" in result.detail


# -- signals -----------------------------------------------------------------------------


def test_sigterm_is_handled_like_ctrl_c(fake_aws: dict[str, str], clean_env: Path) -> None:
    with hung_server() as url:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ecslab",
                "--region",
                "us-east-1",
                "--endpoint-url",
                url,
                "--project-name",
                "shop",
                "status",
            ],
            cwd=clean_env,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)  # inside the preflight call, which hangs
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == ExitCode.TERMINATED
    assert "interrupted" in err
    assert "Traceback" not in err


# -- the resume hint names the same stack -------------------------------------------------


def test_the_resume_command_keeps_the_users_flags(clean_env: Path) -> None:
    state = CliState(Environment(env={"ECSLAB_DB_PASSWORD": "long-enough-pw"}, cwd=clean_env))
    state.set_root_flags(
        "my config.yaml", {"project_name": "shop", "environment": "qa", "sandbox": None}
    )
    (clean_env / "my config.yaml").write_text("region: eu-west-1\n")
    state.flag_names["fargate_cpu"] = "--cpu"
    app = state.build_app({"fargate_cpu": 512, "fargate_memory": 1024, "verify_url": None})
    # fargate_memory's spelling was not noted: its declared flag (--memory), a real one
    assert app.command_line("step deploy-ecr") == (
        "ecslab --config 'my config.yaml' --project-name shop --environment qa "
        "step deploy-ecr --cpu 512 --memory 1024"
    )
    assert "long-enough-pw" not in app.command_line("run-all")


def test_the_deploy_steps_resume_with_the_users_command() -> None:
    for module in ("deploy_ecr", "deploy_service"):
        source = (REPO / "ecslab" / "steps" / f"{module}.py").read_text()
        assert "resume=self.app.command_line(" in source


# -- two runs on one stack ---------------------------------------------------------------


def _lock_app(clock: FakeClock) -> App:
    config = Config(region="us-east-1", endpoint_url="http://127.0.0.1:9", timeout=30)
    return _app(config, lambda c: Aws(c, _session(), preflight=False), clock)


def test_a_second_run_waits_for_the_first() -> None:
    waiting, released = threading.Event(), threading.Event()

    class WaitingClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            waiting.set()
            released.wait(5)  # hold still until the first run has let go

    first, second = _lock_app(FakeClock()), _lock_app(WaitingClock())
    order: list[str] = []
    holder = threading.Thread(target=lambda: _take(second, order), daemon=True)
    with stack_lock(first, "shop-dev", "ecslab run-all"):
        holder.start()
        assert waiting.wait(5)
        order.append("first")
    released.set()
    holder.join(5)
    assert order == ["first", "second"]
    assert "another ecslab (pid " in second.ui.out.getvalue()  # type: ignore[attr-defined]


def _take(app: App, order: list[str]) -> None:
    with stack_lock(app, "shop-dev", "ecslab run-all"):
        order.append("second")


def test_a_lock_held_too_long_ends_the_wait_with_the_resume_command() -> None:
    first, second = _lock_app(FakeClock()), _lock_app(FakeClock())
    with (
        stack_lock(first, "shop-dev", "ecslab run-all"),
        pytest.raises(DeployFailed, match="stayed locked") as caught,
        stack_lock(second, "shop-dev", "ecslab --project-name shop run-all"),
    ):
        pass
    assert "ecslab --project-name shop run-all" in (caught.value.hint or "")


def test_two_concurrent_deploy_ecr_both_end_well(
    moto_server: str, fake_aws: dict[str, str], clean_env: Path
) -> None:
    argv = [sys.executable, "-m", "ecslab", "--region", "us-east-1", "--endpoint-url"]
    argv += [moto_server, "--project-name", "race", "--yes", "step", "deploy-ecr"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            argv,
            cwd=clean_env,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("stack race-dev created" in out for out in outputs) == 1
    assert sum("deploy-ecr: already done" in out for out in outputs) == 1
    assert sum("another ecslab (pid" in out for out in outputs) == 1
