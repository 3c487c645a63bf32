"""What a team does after the lab: run, rollback, scale, exec, doctor."""

from __future__ import annotations

import click

from ecslab.cli.options import lab_options, timeout_option, yes_option
from ecslab.cli.state import with_app
from ecslab.compose.app import App

_AFTER_DASHES = "ecslab.command"


class CommandAfterDashes(click.Command):
    """Everything after `--` is the command to run, never the optional TASK argument
    (click would fill the positional arguments from it in order)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_AFTER_DASHES] = tuple(args[cut + 1 :])
            args = args[:cut]
        return super().parse_args(ctx, args)


@click.command("run", context_settings={"ignore_unknown_options": False})
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Stream the task's logs and exit with its exit code, or only start it.",
)
@click.option("--cpu", "task_cpu", type=int, metavar="UNITS", help="Task CPU override.")
@click.option("--memory", "task_memory", type=int, metavar="MIB", help="Task memory override.")
@click.option(
    "--env", "-e", "env_pairs", multiple=True, metavar="K=V", help="Environment variable (repeat)."
)
@timeout_option
@click.argument("command", nargs=-1, required=True)
@with_app
def run_task(
    app: App,
    wait: bool,
    task_cpu: int | None,
    task_memory: int | None,
    env_pairs: tuple[str, ...],
    command: tuple[str, ...],
) -> int:
    """Run COMMAND once in a new task of the service (a migration, a script).

    The task uses the service's task definition and network (Fargate, its subnets and
    security groups); COMMAND and -e replace the container's command and add to its
    environment. Its CloudWatch logs are printed while it runs, and ecslab exits with the
    container's exit code. A task that never starts (an image that cannot be pulled, say)
    is an error with ECS's reason (exit 5). Ctrl-C stops waiting, not the task.

    \b
    Examples:
      ecslab run -- python -c 'print("hello")'
      ecslab run -e LOG_LEVEL=debug -- sh -c 'env | sort'
      ecslab run --no-wait --memory 1024 -- python manage.py migrate
    """
    from ecslab.lab.one_off import RunRequest, parse_environment, run_one_off

    request = RunRequest(command, parse_environment(env_pairs), task_cpu, task_memory, wait)
    return run_one_off(app, request)


@click.command("rollback")
@click.option(
    "--to",
    metavar="IMAGE",
    help="Deploy this image instead: a tag or digest in the ECR repository, or a full "
    "image reference.",
)
@timeout_option
@yes_option
@with_app
def rollback(app: App, to: str | None) -> None:
    """Put the service back on the image it ran before, through the stack.

    The previous image is the newest image before the current one in the stack's record
    of the images ecslab deployed (kept in the deployed template's Metadata); for a stack
    without that record, the image of the newest task definition revision that differs
    from the current one. The stack's image parameter is updated with the same change-set
    preview and confirmation as a deploy, so CloudFormation keeps the rolled-back image.
    Exit 3 when there is nothing to roll back to. A later `ecslab run-all` deploys this checkout's
    image again.

    \b
    Examples:
      ecslab rollback
      ecslab rollback --to 1a2b3c4
    """
    from ecslab.lab.rollback import rollback as roll_back

    image = roll_back(app, to)
    app.ui.summary("ok", f"the stack runs {image}", image=image)


@click.command("scale")
@click.argument("count", type=click.IntRange(0, 1000), required=False)
@click.option("--min", "low", type=click.IntRange(0, 1000), help="Autoscaling minimum.")
@click.option("--max", "high", type=click.IntRange(1, 1000), help="Autoscaling maximum.")
@timeout_option
@yes_option
@with_app
def scale(app: App, count: int | None, low: int | None, high: int | None) -> None:
    """Set the number of tasks (COUNT) and the autoscaling range, through the stack.

    COUNT, --min and --max are stack parameters (DesiredCount, MinCapacity, MaxCapacity),
    so a later deploy keeps them; the scalable target gets the same range. The memory
    alarms go on scaling within the range: a COUNT outside it is refused, and ecslab says
    when an alarm in ALARM will move the count again.

    \b
    Examples:
      ecslab scale 3
      ecslab scale --min 2 --max 6
      ecslab scale 4 --min 4 --max 8
    """
    from ecslab.lab.scale import scale as set_scale

    done = set_scale(app, count, low, high)
    app.ui.summary(
        "ok",
        f"{done.desired} task(s), autoscaling between {done.min_capacity} and {done.max_capacity}",
        desired=done.desired,
        min_capacity=done.min_capacity,
        max_capacity=done.max_capacity,
    )


@click.command("exec", cls=CommandAfterDashes)
@click.argument("task", required=False)
@click.option("--container", metavar="NAME", help="Container [default: the microsite's].")
@with_app
def exec_command(app: App, task: str | None, container: str | None) -> int:
    """Run a command (after --; default: sh) in a running task: ECS Exec on AWS.

    TASK is a task id (or its start); without it, the newest running task. Interactive
    when stdin is a terminal. On AWS it needs the Session Manager plugin
    (session-manager-plugin) on PATH, as `aws ecs execute-command` does; in the sandbox
    it is a `docker exec` into the task's container. Exits with the command's exit code.

    \b
    Examples:
      ecslab exec
      ecslab exec -- cat /etc/os-release
      ecslab exec 0f1e2d3c -- python -c 'import os; print(os.getpid())'
    """
    from ecslab.lab.task_shell import exec_in_task

    command = click.get_current_context().meta.get(_AFTER_DASHES, ())
    return exec_in_task(app, task, container, command or ("sh",), interactive=app.ui.interactive)


@click.command("doctor")
@lab_options
@with_app
def doctor(app: App) -> None:
    """Check what would stop the service's tasks, before a deploy or after.

    Roles and their trust of ecs-tasks.amazonaws.com, the image in ECR for the tasks' CPU
    architecture, the password secret, the log group, the target group's port against the
    container's, Fargate in the subnets' zones, the database open to the tasks. Each
    finding says why it blocks and the command that fixes it. Exit 7 on a blocker (as
    `verify`); warnings do not fail. Before the stack exists it says what will be created.
    The lab's settings (--subnet-ids, --platform, ...) are those the next deploy would use:
    given subnets are checked instead of the service's.

    \b
    Examples:
      ecslab doctor
      ecslab doctor --subnet-ids subnet-a,subnet-b
      ecslab -o json doctor | jq '.findings'
    """
    from ecslab.lab.doctor import doctor as check

    check(app)
