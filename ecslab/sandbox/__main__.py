"""Shell entry points for CI scripts: start/stop a dockerd and build the base image.

python -m ecslab.sandbox start-dockerd DIR      prints the DOCKER_HOST URL, leaves it running
python -m ecslab.sandbox stop-dockerd DIR       stops it by PID, unmounts, removes DIR
python -m ecslab.sandbox build-base-image --docker-host URL [--tag TAG]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ecslab.sandbox.base_image import DEFAULT_TAG, build_base_image
from ecslab.sandbox.dockerd import DockerEngine
from ecslab.sandbox.errors import SandboxError


def _start_dockerd(args: argparse.Namespace) -> None:
    engine = DockerEngine(args.root.resolve())
    engine.start(die_with_parent=False)
    print(engine.docker_host)


def _stop_dockerd(args: argparse.Namespace) -> None:
    engine = DockerEngine(args.root.resolve())
    engine.stop()
    shutil.rmtree(engine.root, ignore_errors=True)


def _build_base_image(args: argparse.Namespace) -> None:
    import docker

    client = docker.DockerClient(base_url=args.docker_host, timeout=300)
    try:
        result = build_base_image(client, args.tag)
    finally:
        client.close()
    verb = "built" if result.built else "already present"
    print(f"{result.tag}: {verb} in {result.seconds:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecslab.sandbox")
    commands = parser.add_subparsers(required=True)
    start = commands.add_parser("start-dockerd", help="start a bridge-less dockerd in DIR")
    start.add_argument("root", type=Path, metavar="DIR")
    start.set_defaults(run=_start_dockerd)
    stop = commands.add_parser("stop-dockerd", help="stop the dockerd in DIR and remove DIR")
    stop.add_argument("root", type=Path, metavar="DIR")
    stop.set_defaults(run=_stop_dockerd)
    build = commands.add_parser("build-base-image", help="build the local python3 base image")
    build.add_argument("--docker-host", required=True, help="unix:///path/to/docker.sock")
    build.add_argument("--tag", default=DEFAULT_TAG)
    build.set_defaults(run=_build_base_image)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
