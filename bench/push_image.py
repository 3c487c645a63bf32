"""Driver of bench/push_image.sh: `ecslab step push-image` timed, and its bytes counted.

Runs the real command (`ecslab --output json step push-image`, in-process, system clock)
against a moto server and a local registry standing in for ECR's, on the engine named by
DOCKER_HOST (bench/push_image.sh gives it a fresh one: no build cache, so the first build
is cold). Four runs on a scratch copy of the microsite's build context:
1. cold build + first push (the whole image goes over the wire);
2. unchanged: the step must find the image in ECR and skip;
3. after a one-line change of the code: rebuild + push;
Bytes pushed are counted twice: from the push stream (layers reported "Pushed", at their
compressed size in the manifest, plus the config blob) and from the growth of the
registry's storage directory. The image size is the manifest's compressed total (what a
pull moves) and the engine's uncompressed size.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecslab.cli import run  # noqa: E402
from ecslab.lab.template import load_template, phase1_template, template_body  # noqa: E402
from ecslab.sandbox.moto_server import MotoServer  # noqa: E402
from ecslab.sandbox.registry import Registry  # noqa: E402

TARGET_PERCENT = 5.0


def step(name: str) -> tuple[dict[str, Any], float]:
    """Run `ecslab step NAME` and return its final step event and the wall time."""
    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = run(["--output", "json", "step", name])
    seconds = time.perf_counter() - began
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    if code != 0:
        raise SystemExit(f"ecslab step {name} exited {code}: {events[-1] if events else ''}")
    done = [e for e in events if e.get("event") == "step" and e.get("status") != "started"]
    return done[-1], seconds


def deploy_stack(moto_url: str) -> None:
    import boto3

    template = phase1_template(load_template())
    client = boto3.client("cloudformation", endpoint_url=moto_url, region_name="us-east-1")
    client.create_stack(StackName="ecslab-dev", TemplateBody=template_body(template))


def storage(registry: Registry) -> int:
    return sum(p.stat().st_size for p in registry.storage_dir.rglob("*") if p.is_file())


def engine_size(reference: str) -> int:
    import docker

    client = docker.from_env()
    try:
        return int(client.images.get(reference).attrs["Size"])
    finally:
        client.close()


def mb(count: float) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"


def environment(scratch: Path, moto_url: str, registry: Registry, base: str) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "ECSLAB_REGISTRY": registry.address,
            "ECSLAB_BASE_IMAGE": base,
            "ECSLAB_MICROSITE_DIR": str(scratch / "site"),
            "ECSLAB_YES": "true",
        }
    )
    os.chdir(scratch)


def report(cold: dict[str, Any], skipped: dict[str, Any], warm: dict[str, Any], **m: Any) -> None:
    share = 100.0 * warm["bytes_pushed"] / warm["image_bytes"]
    verdict = "ok" if share < TARGET_PERCENT else "MISSED"
    print(f"cold build (no cache):          {cold['build_seconds']:6.1f} s")
    print(
        f"first push (whole image):       {cold['push_seconds']:6.1f} s  "
        f"{mb(cold['bytes_pushed'])}, {cold['layers_pushed']} layers "
        f"(registry storage +{mb(m['cold_growth'])})"
    )
    print(f"unchanged re-run:               {m['skip_seconds']:6.2f} s  {skipped['message']}")
    print(f"rebuild after a one-line change:{warm['build_seconds']:6.1f} s")
    print(
        f"push after the change:          {warm['push_seconds']:6.1f} s  "
        f"{warm['layers_pushed']} of {warm['layers_total']} layers"
    )
    print(
        f"bytes pushed for the change:    {warm['bytes_pushed']} B of {warm['image_bytes']} B "
        f"= {share:.3f} % of the image (target < {TARGET_PERCENT:g} %: {verdict}); "
        f"registry storage grew {m['warm_growth']} B"
    )
    print(
        f"image size:                     {mb(warm['image_bytes'])} compressed (pushed), "
        f"{mb(m['uncompressed'])} uncompressed (engine)"
    )
    print(
        f"ecslab step push-image wall time: cold {m['cold_seconds']:.1f} s, "
        f"after change {m['warm_seconds']:.1f} s"
    )


def main() -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    base = os.environ.get("BASE_IMAGE", "ecslab-base:bookworm")
    scratch = Path(tempfile.mkdtemp(prefix="ecslab-bench-push-"))
    moto, registry = MotoServer(), Registry(scratch / "registry")
    try:
        moto.start()
        registry.start()
        shutil.copytree(
            ROOT / "microsite",
            scratch / "site",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"),
        )
        environment(scratch, moto.endpoint_url, registry, base)
        deploy_stack(moto.endpoint_url)
        before = storage(registry)
        cold, cold_seconds = step("push-image")
        after_cold = storage(registry)
        skipped, skip_seconds = step("push-image")
        init = scratch / "site" / "microsite" / "__init__.py"
        init.write_text(init.read_text() + "BENCH_CHANGE = 1\n")
        warm, warm_seconds = step("push-image")
        warm_growth = storage(registry) - after_cold
        uncompressed = engine_size(f"{registry.address}/ecslab-dev-microservice:{warm['tag']}")
        report(
            cold,
            skipped,
            warm,
            cold_growth=after_cold - before,
            warm_growth=warm_growth,
            skip_seconds=skip_seconds,
            cold_seconds=cold_seconds,
            warm_seconds=warm_seconds,
            uncompressed=uncompressed,
        )
        return 0 if 100.0 * warm["bytes_pushed"] / warm["image_bytes"] < TARGET_PERCENT else 1
    finally:
        registry.stop()
        moto.stop()
        os.chdir(ROOT)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
