"""Emulator area: ECS's ListServiceDeployments and DescribeServiceDeployments, which moto
lacks, answered from the scheduler's deployment history (ecs_strategies).

ListServiceDeployments takes `cluster` (default `default`), `service`, `status` (a list),
`createdAt` {before, after}, and pages with `maxResults` (at most 100, AWS's default 20)
and `nextToken`; newest first. DescribeServiceDeployments answers up to 20 ARNs, an
unknown one as a `failures[]` entry with reason MISSING. A service the scheduler does not
know is ServiceNotFoundException; a cluster moto does not know, ClusterNotFoundException.
UpdateService also keeps a new `deploymentConfiguration` (moto's keeps the old one), so
a service can move from one strategy to another as on AWS. All through moto_seam.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ecslab.sandbox import moto_seam
from ecslab.sandbox.emulator import ecs_scheduler, ecs_strategies, paging

if TYPE_CHECKING:
    from ecslab.sandbox.emulator import EmulatorContext
    from ecslab.sandbox.emulator.ecs_scheduler import ServiceRuntime

LIST_DEFAULT, LIST_MAX, DESCRIBE_MAX = 20, 100, 20
WHY = "moto has no ECS service deployment history; the sandbox's scheduler keeps one"


def start(context: EmulatorContext) -> Callable[[], None]:
    """The area's entry point (see ecslab.sandbox.emulator)."""
    del context
    return moto_seam.install("ecs_deployments_api", build_patches)


def build_patches(patches: moto_seam.PatchSet) -> None:
    """The area's patches (see ecslab.sandbox.emulator), answering from the scheduler."""
    patches.operation("ecs", "ListServiceDeployments", lambda _: _list, why=WHY)
    patches.operation("ecs", "DescribeServiceDeployments", lambda _: _describe, why=WHY)
    patches.operation(
        "ecs",
        "UpdateService",
        _keep_deployment_configuration,
        why="moto's UpdateService ignores deploymentConfiguration",
        moto_bug="UpdateService does not store deploymentConfiguration",
    )


def _keep_deployment_configuration(original: Any) -> Callable[[Any], Any]:
    def update_service(response: Any) -> Any:
        answer = original(response)
        config = response._get_param("deploymentConfiguration")
        if config:
            service = response.ecs_backend._get_service(
                response._get_param("cluster") or "default", response._get_param("service")
            )
            service.deployment_configuration = config
        return answer

    return update_service


def _list(response: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    runtime = _runtime(response, response._get_param("cluster") or "default")
    wanted = set(response._get_param("status") or [])
    window = response._get_param("createdAt") or {}
    with _lock():
        records = [
            r
            for r in ecs_strategies.shifts(runtime).deployments
            if (not wanted or r.status in wanted) and _within(r.created_at, window)
        ]
        size = response._get_param("maxResults") or LIST_DEFAULT
        try:
            page = paging.page(records, response._get_param("nextToken"), size, LIST_MAX)
        except paging.BadToken:
            raise InvalidParameterException("Invalid nextToken.") from None
        answer: dict[str, Any] = {"serviceDeployments": [r.brief() for r in page.items]}
    if page.next_token:
        answer["nextToken"] = page.next_token
    return ActionResult(answer)


def _describe(response: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    arns = list(response._get_param("serviceDeploymentArns") or [])
    if not arns or len(arns) > DESCRIBE_MAX:
        raise InvalidParameterException(
            f"serviceDeploymentArns must hold 1 to {DESCRIBE_MAX} ARNs."
        )
    found: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for arn in arns:
        described = _described(arn)
        if described is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(described)
    return ActionResult({"serviceDeployments": found, "failures": failures})


def _described(arn: str) -> dict[str, Any] | None:
    scheduler = ecs_scheduler._SCHEDULER[0] if ecs_scheduler._SCHEDULER else None
    if scheduler is None:
        return None
    with scheduler.lock:
        for runtime in scheduler.services.values():
            for record in ecs_strategies.shifts(runtime).deployments:
                if record.arn == arn:
                    return record.described(_counts(runtime), _desired(runtime))
    return None


def _counts(runtime: ServiceRuntime) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for task in runtime.tasks.values():
        running, pending = counts.get(task.task_definition_arn, (0, 0))
        if task.last_status == "RUNNING" and task.live:
            running += 1
        elif task.last_status in ("PROVISIONING", "PENDING", "ACTIVATING"):
            pending += 1
        counts[task.task_definition_arn] = (running, pending)
    return counts


def _desired(runtime: ServiceRuntime) -> int:
    return int(getattr(runtime.owner, "desired_count", 0) or 0)


def _runtime(response: Any, cluster: str) -> ServiceRuntime:
    from moto.ecs.exceptions import ClusterNotFoundException, ServiceNotFoundException

    name = str(cluster).rsplit("/", 1)[-1]
    if name not in response.ecs_backend.clusters:
        raise ClusterNotFoundException()
    service = str(response._get_param("service") or "").rsplit("/", 1)[-1]
    scheduler = ecs_scheduler._SCHEDULER[0] if ecs_scheduler._SCHEDULER else None
    runtime = None if scheduler is None else scheduler.services.get((name, service))
    if runtime is None:
        raise ServiceNotFoundException()
    return runtime


def _lock() -> Any:
    return ecs_scheduler._SCHEDULER[0].lock


def _within(created: float, window: dict[str, Any]) -> bool:
    when = datetime.fromtimestamp(created, tz=UTC)
    before, after = (_moment(window.get(k)) for k in ("before", "after"))
    return (before is None or when <= before) and (after is None or when >= after)


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        print(f"ecs_deployments_api: createdAt {value!r} not understood", file=sys.stderr)
        return None
