"""How soon the sandbox scales out on the high-memory alarm, and back in.

Against a running sandbox (`ecslab --sandbox run-all` first; `--sandbox-dir` if not the
default), through the AWS API as a learner's AWS CLI would: set the high-memory alarm to
ALARM, then time until desiredCount is 3, until the alarm is back to OK, and until the
low-memory alarm has brought desiredCount back to 2. Printed beside the issue's target
(30 s to 3) and the sandbox's own pace (its evaluation interval and the policy cooldown,
compressed by its time scale). Polls every 0.1 s, for at most 120 s.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3

CLUSTER, SERVICE = "ecslab-dev-cluster", "ecslab-dev-microservice"
HIGH, LOW = "ecslab-dev-high-memory", "ecslab-dev-low-memory"
LIMIT = 120.0


def _until(check: Callable[[], bool], start: float) -> float:
    while time.monotonic() - start < LIMIT:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise SystemExit(f"not reached within {LIMIT:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox-dir", type=Path, default=Path(".ecslab/sandbox"))
    args = parser.parse_args()
    state = json.loads((args.sandbox_dir / "state.json").read_text())
    url, scale = f"http://127.0.0.1:{state['moto_port']}", float(state.get("time_scale", 10))
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    cw = session.client("cloudwatch", endpoint_url=url)
    ecs = session.client("ecs", endpoint_url=url)

    def desired() -> int:
        return int(
            ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
                "desiredCount"
            ]
        )

    def state_of(name: str) -> str:
        return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])

    _until(lambda: desired() == 2 and state_of(LOW) == "ALARM", time.monotonic())
    start = time.monotonic()
    cw.set_alarm_state(AlarmName=HIGH, StateValue="ALARM", StateReason="bench/scale_out.py")
    to_three = _until(lambda: desired() == 3, start)
    to_ok = _until(lambda: state_of(HIGH) == "OK", start)
    back = _until(lambda: desired() == 2, start)
    step = 60 / scale
    print(f"sandbox clock x{scale:g}: evaluation every {step:g} s, 60 s cooldown = {step:g} s")
    print(f"desiredCount 3 after set-alarm-state: {to_three:6.2f} s   (target: under 30 s)")
    print(
        f"high alarm back to OK:               {to_ok:6.2f} s   (pace: one evaluation, {step:g} s)"
    )
    print(f"desiredCount back to 2:              {back:6.2f} s   (pace: cooldown + evaluation)")


if __name__ == "__main__":
    main()
