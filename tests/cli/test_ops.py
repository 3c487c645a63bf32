"""The operations commands' command lines: what `--` separates, and usage errors."""

from __future__ import annotations

from ecslab.cli import ops, run


def test_exec_takes_everything_after_dashes_as_the_command() -> None:
    ctx = ops.exec_command.make_context(
        "exec", ["0f1e2d3c", "--container", "app", "--", "ls", "-l"]
    )

    assert ctx.params == {"task": "0f1e2d3c", "container": "app"}
    assert ctx.meta["ecslab.command"] == ("ls", "-l")


def test_exec_without_a_task_does_not_take_the_command_for_one() -> None:
    ctx = ops.exec_command.make_context("exec", ["--", "cat", "/etc/os-release"])

    assert ctx.params["task"] is None
    assert ctx.meta["ecslab.command"] == ("cat", "/etc/os-release")


def test_run_passes_the_command_options_through() -> None:
    ctx = ops.run_task.make_context("run", ["-e", "A=1", "--", "sh", "-c", "exit 3"])

    assert ctx.params["command"] == ("sh", "-c", "exit 3")
    assert ctx.params["env_pairs"] == ("A=1",)


def test_run_needs_a_command_and_scale_a_number() -> None:
    assert run(["run"]) == 2
    assert run(["scale", "three"]) == 2
