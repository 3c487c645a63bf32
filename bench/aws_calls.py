"""How many AWS calls each ecslab command makes, by operation, next to its target.

Everything runs on loopback. This process starts a moto server (its ExecuteChangeSet made
to fill stack Outputs, as AWS does), a counting proxy in front of it, and a stand-in that
answers like the microsite (so verify has something to probe). Each command then runs as
its own `ecslab` process with `--endpoint-url` pointing at the proxy, which records every
HTTP request by service and operation (X-Amz-Target for JSON APIs, Action= for query APIs)
before forwarding it. Retries would count too: every request AWS would see is counted.

The image is recorded in moto's ECR under the tag push-image derives (as after an earlier
push), so push-image has nothing to build and the commands measure the control plane.

Usage: python bench/aws_calls.py        (from the repository root; needs the test extra)
"""

from __future__ import annotations

import collections
import http.client
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (label, ecslab arguments, target: at most this many calls, or None for "shown only")
FIRST_RUN: list[tuple[str, list[str], int | None]] = [
    ("step service-linked-role (first)", ["step", "service-linked-role"], None),
    ("step deploy-ecr (first)", ["step", "deploy-ecr"], None),
]
AFTER_IMAGE: list[tuple[str, list[str], int | None]] = [
    ("step deploy-service (first)", ["step", "deploy-service"], 16),
    ("run-all (no-op)", ["run-all"], 8),
    ("plan (no-op)", ["plan"], None),
    ("verify", ["verify"], None),
    ("status", ["status"], None),
]


class Counter:
    """Requests seen by the proxy, by `service:Operation`, since the last `take()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def take(self) -> collections.Counter[str]:
        with self._lock:
            taken, self._counts = self._counts, collections.Counter()
        return taken


def _operation(headers: dict[str, str], body: bytes) -> str:
    """`service:Operation` of one AWS request (JSON protocol, else query protocol)."""
    auth = headers.get("authorization", "")
    service = auth.split("Credential=", 1)[-1].split("/")[3] if "Credential=" in auth else "?"
    target = headers.get("x-amz-target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    action = form.get("Action", ["?"])[0]
    return f"{service}:{action}"


def start_proxy(upstream: str, counter: Counter) -> ThreadingHTTPServer:
    target = urllib.parse.urlsplit(upstream)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            counter.add(_operation(headers, body))
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            conn.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_stand_in() -> ThreadingHTTPServer:
    body = json.dumps(
        {
            "service": "microsite",
            "environment": "dev",
            "database": {"time": "2026-01-01T00:00:00Z", "version": "PostgreSQL 15"},
            "items": [],
        }
    ).encode()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_ecslab(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ecslab", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"ecslab {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")


def record_image(endpoint: str, microsite: Path) -> None:
    import boto3

    from ecslab.lab.images import derive_tag
    from tests.helpers import put_fake_images

    tag = derive_tag(microsite, "linux/amd64", {}).name
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        put_fake_images(session, "ecslab-dev-microservice", [tag, "latest"], seed="bench")
    finally:
        del os.environ["AWS_ENDPOINT_URL"]


def show(label: str, counts: collections.Counter[str], target: int | None) -> bool:
    total = sum(counts.values())
    verdict = "" if target is None else (" ok" if total <= target else " OVER")
    goal = "" if target is None else f" (target <= {target}){verdict}"
    print(f"{label}: {total} call(s){goal}")
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"    {count:3d}  {name}")
    return target is None or total <= target


def main() -> int:
    from moto.server import ThreadedMotoServer

    from ecslab.sandbox import moto_seam
    from ecslab.sandbox.moto_patch import change_set_outputs

    moto_seam.install("bench", change_set_outputs)  # for the process's life: not undone
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    # Plain moto runs no task; its services report this many running, so service-stable
    # sees the steady service it would see on AWS (the sandbox's scheduler is not used).
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    counter = Counter()
    proxy = start_proxy(f"http://127.0.0.1:{moto.get_host_and_port()[1]}", counter)
    site = start_stand_in()
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    ok = True
    with tempfile.TemporaryDirectory(prefix="ecslab-calls-") as work:
        microsite = Path(work) / "microsite"
        microsite.mkdir()
        (microsite / "Dockerfile").write_text("ARG BASE_IMAGE=python:3.12-slim\nFROM $BASE_IMAGE\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECSLAB_"))}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            ECSLAB_REGION="us-east-1",
            ECSLAB_ENDPOINT_URL=proxy_url,
            ECSLAB_VERIFY_URL=f"http://127.0.0.1:{site.server_address[1]}/",
            ECSLAB_DB_HOST="db.example.internal",
            ECSLAB_DB_PASSWORD="bench-password-not-shown",
            ECSLAB_MICROSITE_DIR=str(microsite),
            ECSLAB_YES="1",
            ECSLAB_OUTPUT="json",
            PYTHONPATH=str(ROOT),
        )
        print("AWS calls per command, against moto (counted at a proxy, by operation)\n")
        for label, args, target in FIRST_RUN:
            run_ecslab(args, env)
            ok &= show(label, counter.take(), target)
        record_image(proxy_url, microsite)
        counter.take()  # the bench's own calls do not count
        for label, args, target in AFTER_IMAGE:
            run_ecslab(args, env)
            ok &= show(label, counter.take(), target)
    proxy.shutdown()
    site.shutdown()
    moto.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
