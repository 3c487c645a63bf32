"""Shell entry points for CI scripts: start/stop a dockerd and build the base image.

python -m ecslab.sandbox start-dockerd DIR      prints the DOCKER_HOST URL, leaves it running
python -m ecslab.sandbox stop-dockerd DIR       stops it by PID, unmounts, removes DIR
python -m ecslab.sandbox build-base-image --docker-host URL [--tag TAG]
python -m ecslab.sandbox serve-moto --port P [--state-dir D --docker-host URL]
                                                moto on 127.0.0.1:P with moto_patch's fixes
                                                and the emulator areas (the ECS scheduler
                                                among them) until SIGTERM
python -m ecslab.sandbox list-patches           every patch the sandbox makes to moto, as
                                                docs/sandbox.md lists them (Markdown)
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from ecslab.sandbox.base_image import DEFAULT_TAG, build_base_image
from ecslab.sandbox.dockerd import PrivateDockerd
from ecslab.sandbox.errors import SandboxError


def _start_dockerd(args: argparse.Namespace) -> None:
    engine = PrivateDockerd(args.root.resolve())
    engine.start(die_with_parent=False)
    print(engine.docker_host)


def _stop_dockerd(args: argparse.Namespace) -> None:
    engine = PrivateDockerd(args.root.resolve())
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


def _until_terminated() -> None:
    """Block until SIGTERM or SIGINT (the sandbox stops its servers by PID with SIGTERM)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass


def _serve_moto(args: argparse.Namespace) -> None:
    from ecslab.sandbox.emulator import AREAS, EmulatorContext, start_areas
    from ecslab.sandbox.moto_patch import install_fixes
    from ecslab.sandbox.moto_seam import check_moto
    from ecslab.sandbox.moto_server import MotoServer

    check_moto()  # before a patch goes in: an untested moto is refused, naming the fix
    # The server runs in this process, so the patches reach it. start_areas installs the
    # fixes first too (the one order: ecslab.sandbox.emulator); here they go in before
    # the server answers its first request.
    install_fixes()
    server = MotoServer(port=args.port)
    server.start()
    context = EmulatorContext(
        endpoint_url=server.endpoint_url,
        region=args.region,
        state_dir=args.state_dir,
        docker_host=args.docker_host,
        time_scale=args.time_scale,
    )
    stop_areas = start_areas(context, tuple(args.areas.split(",")) if args.areas else AREAS)
    print(f"moto serving on {server.endpoint_url}", flush=True)
    try:
        _until_terminated()
    finally:
        stop_areas()
        server.stop()


def _list_patches(args: argparse.Namespace) -> None:
    from ecslab.sandbox import moto_seam
    from ecslab.sandbox.emulator import install_all

    moto_seam.check_moto()
    undo = install_all()
    try:
        print(moto_seam.markdown(moto_seam.INSTALLED), end="")
    finally:
        undo()


def _add_servers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    moto = commands.add_parser("serve-moto", help="serve moto on 127.0.0.1 until SIGTERM")
    moto.add_argument("--port", type=int, required=True)
    moto.add_argument("--region", default="us-east-1")
    moto.add_argument("--state-dir", type=Path, default=None, help="the sandbox's state folder")
    moto.add_argument("--docker-host", default=None, help="the engine that runs the tasks")
    moto.add_argument("--time-scale", type=float, default=1.0, help="sandbox s per real s")
    moto.add_argument(
        "--areas", default="", help="comma-separated emulator areas to start [default: all]"
    )
    moto.set_defaults(run=_serve_moto)
    listing = commands.add_parser("list-patches", help="print every patch made to moto")
    listing.set_defaults(run=_list_patches)


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
    _add_servers(commands)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
