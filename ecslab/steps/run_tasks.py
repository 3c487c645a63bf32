"""Sandbox only: play what moto leaves out after deploy-service: the tasks, the autoscaling.

check(): containers of the service's current task definition and image digest are running,
as many as its desired count, all answer /health, no older ones are left, and the load
balancer stand-in answers; and the deployed template's scalable target, scaling policies
and alarms (which moto's CloudFormation skips) exist in moto as the template defines them.
run(): a rolling replacement when the tasks need one: start the missing new tasks, wait
(bounded, on the app's clock) for /health, point the load balancer and moto's target group
at them, then stop the old ones; then it makes moto's autoscaling match the template. The
domain work is in ecslab/sandbox/tasks.py and ecslab/sandbox/autoscaling.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from ecslab.core.errors import DeployFailed, UsageError
from ecslab.sandbox.autoscaling import AutoscalingEmulator, Emulation
from ecslab.sandbox.ports import http_status
from ecslab.sandbox.tasks import (
    HEALTH_TIMEOUT,
    LocalTask,
    TaskSpec,
    list_tasks,
    point_load_balancer,
    read_spec,
    start_task,
    stop_containers,
    task_logs,
)
from ecslab.steps.base import Assessment, Outcome, StepResult

if TYPE_CHECKING:
    from ecslab.lab.context import Context
    from ecslab.sandbox.state import SandboxState

NAME = "run-tasks"


@dataclass(frozen=True)
class Check:
    done: bool
    reason: str


DEPLOY_HINT = "run `ecslab --sandbox step deploy-service` first"
AUTOSCALING_OK = "autoscaling emulated and matches the template"


def build(app: Context) -> RunTasks:
    return RunTasks(app)


class RunTasks:
    name = NAME

    def __init__(self, app: Context) -> None:
        self.app = app

    def _state(self) -> SandboxState:
        from ecslab.sandbox.state import require_state

        return require_state(self.app.config, self.app.cwd)

    def _split(
        self, spec: TaskSpec, state: SandboxState
    ) -> tuple[list[LocalTask], list[LocalTask]]:
        """(current healthy tasks to keep, up to desired; every other task)."""
        tasks = list_tasks(self.app.docker, state.root, spec.service)
        keep = [t for t in tasks if t.current(spec) and t.healthy()][: spec.desired]
        kept = {t.container_id for t in keep}
        return keep, [t for t in tasks if t.container_id not in kept]

    def _emulator(self) -> AutoscalingEmulator:
        return AutoscalingEmulator(self.app.aws, self.app.config.names.stack)

    def _tasks_check(self, spec: TaskSpec, state: SandboxState) -> Check:
        keep, others = self._split(spec, state)
        if len(keep) < spec.desired:
            return Check(False, f"{len(keep)} of {spec.desired} task(s) of {_short(spec)} run")
        if others:
            return Check(False, f"{len(others)} task(s) of an older revision or image are left")
        if http_status(state.lb_url + "health", timeout=3) != 200:
            return Check(False, f"the load balancer at {state.lb_url} does not answer yet")
        return Check(True, f"{len(keep)} task(s) of {_short(spec)} healthy behind {state.lb_url}")

    def validate(self) -> None:
        """Nothing to validate: the step reads what deploy-service deployed."""

    def assess(self) -> Assessment:
        check = self._check()
        return Assessment(check.done, check.reason, () if check.done else tuple(self._plan()))

    def _check(self) -> Check:
        spec = read_spec(self.app)
        if spec is None:
            return Check(False, "the ECS service is not deployed yet (deploy-service creates it)")
        tasks = self._tasks_check(spec, self._state())
        if not tasks.done:
            return tasks
        scaling = self._emulator().pending()
        if not scaling.matches:
            return Check(False, f"autoscaling differs from the template: {_listed(scaling)}")
        return Check(True, f"{tasks.reason}; {AUTOSCALING_OK} ({_resources(scaling)})")

    def _plan(self) -> list[str]:
        spec = read_spec(self.app)
        if spec is None:
            return [
                "run the service's tasks once deploy-service has deployed it",
                "create the template's autoscaling in moto (its CloudFormation skips it)",
            ]
        state = self._state()
        lines: list[str] = []
        if not self._tasks_check(spec, state).done:
            keep, others = self._split(spec, state)
            lines.append(f"run {spec.desired - len(keep)} task(s) of {_short(spec)} ({spec.image})")
            lines += [f"stop {len(others)} old task(s)"] if others else []
        return lines + [f"autoscaling: {c}" for c in self._emulator().pending().changes]

    def run(self, assessment: Assessment) -> StepResult:
        spec = read_spec(self.app)
        if spec is None:
            raise UsageError("the ECS service is not deployed yet", DEPLOY_HINT)
        state = self._state()
        started: list[LocalTask] = []
        if self._tasks_check(spec, state).done:
            running, stopped = self._split(spec, state)[0], 0
        else:
            running, started, stopped = self._roll(spec, state)
        scaling = self._emulator().apply()
        for change in scaling.changes:
            self.app.ui.info(f"autoscaling: {change}", step=NAME)
        message = (
            f"{len(running)} task(s) of {_short(spec)} behind {state.lb_url}"
            f" ({len(started)} started, {stopped} stopped); autoscaling emulated: "
            f"{len(scaling.changes)} change(s) to {_resources(scaling)}"
        )
        data = {
            "tasks": [t.target for t in running],
            "load_balancer_url": state.lb_url,
            "autoscaling": {
                "resources": list(scaling.resources),
                "changes": [str(c) for c in scaling.changes],
            },
        }
        return StepResult(Outcome.DONE, message, data)

    def _roll(
        self, spec: TaskSpec, state: SandboxState
    ) -> tuple[list[LocalTask], list[LocalTask], int]:
        """Rolling replacement: (tasks now running, tasks started, count stopped)."""
        keep, others = self._split(spec, state)
        self._pull(spec)
        started = [self._start(spec, state) for _ in range(spec.desired - len(keep))]
        self._wait_healthy(started)
        point_load_balancer(self.app, state, keep + started)
        stopped = stop_containers(self.app.docker, state.root, {t.container_id for t in others})
        self._wait_load_balancer(state)
        return keep + started, started, stopped

    def _pull(self, spec: TaskSpec) -> None:
        import docker.errors

        with self.app.ui.status(f"pulling {spec.image}"):
            try:
                self.app.docker.images.pull(spec.image)
            except docker.errors.DockerException as exc:
                raise DeployFailed(f"cannot pull {spec.image}: {exc}", DEPLOY_HINT) from exc

    def _start(self, spec: TaskSpec, state: SandboxState) -> LocalTask:
        task = start_task(self.app.docker, spec, state.root, self.app.db_password())
        self.app.ui.info(f"started task {task.name} on {task.target}", step=NAME)
        return task

    def _wait_healthy(self, tasks: list[LocalTask]) -> None:
        """Until every task answers /health; a task that exits or times out fails the step."""
        clock = self.app.clock
        deadline = clock.now() + HEALTH_TIMEOUT
        waiting = {t.container_id for t in tasks}
        while waiting:
            current = [t for t in self._tasks() if t.container_id in waiting]
            dead = [t for t in current if not t.running]
            if dead:
                self._fail(dead, "exited")
            waiting = {t.container_id for t in current if not t.healthy()}
            if waiting and clock.now() > deadline:
                self._fail([t for t in current if t.container_id in waiting], "is not healthy")
            if waiting:
                clock.sleep(0.5)

    def _tasks(self) -> list[LocalTask]:
        return list_tasks(self.app.docker, self._state().root)

    def _wait_load_balancer(self, state: SandboxState) -> None:
        clock = self.app.clock
        deadline = clock.now() + 30
        while http_status(state.lb_url + "health", timeout=3) != 200:
            if clock.now() > deadline:
                raise DeployFailed(
                    f"the load balancer at {state.lb_url} does not answer /health",
                    f"see {state.path / 'lb.log'}; `ecslab sandbox down` then up restarts it",
                )
            clock.sleep(0.5)

    def _fail(self, tasks: list[LocalTask], what: str) -> NoReturn:
        task = tasks[0]
        logs = task_logs(self.app.docker, task)
        raise DeployFailed(
            f"task {task.name} {what} (/health on {task.target})\n{logs}",
            "read the log lines above; `ecslab --sandbox status` shows the rest",
        )


def _short(spec: TaskSpec) -> str:
    revision = spec.revision.rsplit("/", 1)[-1]
    return f"{revision} ({spec.digest[:19]})"


def _resources(scaling: Emulation) -> str:
    return f"{len(scaling.resources)} resource(s)" if scaling.resources else "none in the template"


def _listed(scaling: Emulation) -> str:
    return "; ".join(str(c) for c in scaling.changes)
