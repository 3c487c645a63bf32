"""`ecslab exec` on AWS: ECS Exec through session-manager-plugin, or a clear error without it.

ExecuteCommand needs a running task with the SSM agent, which moto does not have: ECS is
Stubber-wrapped with the answers AWS documents; the plugin is a recorded call.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from ecslab.core.errors import UsageError
from ecslab.lab.task_shell import EcsExecShell, ShellTarget, exec_in_task
from tests.lab.ops_support import CLUSTER, SERVICE, TASK_ARN, TASK_ID, stubbed_app, task
from tests.verify_support import StubbedAws

SESSION = {
    "sessionId": "ecs-execute-command-0a1b2c3d4e5f67890",
    "streamUrl": "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/ecs-execute-command-0a1b2c3d4e5f67890?role=publish_subscribe",
    "tokenValue": "AAEAAeXAMPLEtOKEN",
}


def _app(aws: boto3.Session, moto_server: str) -> tuple[Any, StubbedAws]:
    return stubbed_app(aws, moto_server, ("ecs",))


def test_without_the_plugin_it_says_what_to_install(aws: boto3.Session, moto_server: str) -> None:
    app, _ = _app(aws, moto_server)
    shell = EcsExecShell(app, which=lambda name: None, call=lambda argv: 0)

    with pytest.raises(UsageError) as caught:
        shell.run(ShellTarget(CLUSTER, TASK_ARN, SERVICE), ["sh"], interactive=True)

    assert caught.value.exit_code == 2
    assert "session-manager-plugin" in caught.value.message
    assert "session-manager-plugin" in (caught.value.hint or "")
    assert "install" in (caught.value.hint or "")


def test_the_plugin_gets_the_session_as_the_aws_cli_hands_it(
    aws: boto3.Session, moto_server: str
) -> None:
    app, stubbed = _app(aws, moto_server)
    ecs = stubbed.stubbers["ecs"]
    ecs.add_response(
        "execute_command",
        {
            "clusterArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}",
            "containerArn": "arn:aws:ecs:us-east-1:123456789012:container/x",
            "containerName": SERVICE,
            "interactive": True,
            "session": SESSION,
            "taskArn": TASK_ARN,
        },
        {
            "cluster": CLUSTER,
            "task": TASK_ARN,
            "container": SERVICE,
            "command": "cat /etc/os-release",
            "interactive": True,
        },
    )
    running = task("RUNNING")
    running["containers"][0]["runtimeId"] = f"{TASK_ID}-1234567890"
    ecs.add_response(
        "describe_tasks",
        {"tasks": [running], "failures": []},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )
    calls: list[list[str]] = []
    shell = EcsExecShell(
        app, which=lambda name: f"/usr/local/bin/{name}", call=lambda argv: calls.append(argv) or 7
    )

    code = shell.run(
        ShellTarget(CLUSTER, TASK_ARN, SERVICE), ["cat", "/etc/os-release"], interactive=True
    )

    assert code == 7
    (argv,) = calls
    assert argv[0] == "/usr/local/bin/session-manager-plugin"
    assert json.loads(argv[1]) == SESSION
    assert argv[2:4] == ["us-east-1", "StartSession"]
    assert json.loads(argv[5]) == {"Target": f"ecs:{CLUSTER}_{TASK_ID}_{TASK_ID}-1234567890"}
    assert argv[6] == moto_server


def test_no_running_task_says_how_to_get_one(aws: boto3.Session, moto_server: str) -> None:
    app, stubbed = _app(aws, moto_server)
    stubbed.stubbers["ecs"].add_response(
        "list_tasks",
        {"taskArns": []},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "RUNNING"},
    )
    with pytest.raises(UsageError, match="no running task in service"):
        exec_in_task(app, None, None, ["sh"], interactive=False)
