#!/usr/bin/env bash
# Wall time of `ecslab run-all` for the control plane against a moto server, and of the
# second, no-op run (target: under 3 s; ecslab adds no fixed sleeps).
#
# All on loopback. One helper process runs a moto server (with moto's ExecuteChangeSet
# made to fill stack Outputs, as AWS does) and a stand-in answering like the microsite, so
# that verify probes something. "Control plane only": the image is recorded in moto's ECR
# under the tag push-image derives (as after an earlier push), so push-image has nothing
# to build. Measured, each as a separate `ecslab` process:
#   1. first run:  step service-linked-role, step deploy-ecr, [image recorded], run-all
#   2. second run: run-all, where every step is already done (verify probes once)
# Usage: bench/runall_control_plane.sh     Env: PYTHON (default python), RUNS (default 3,
#        for the no-op run: min and median are printed).
set -euo pipefail

PYTHON=${PYTHON:-python}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t ecslab-runall-bench.XXXXXX)
PEERS_PID=""

cleanup() {
    set +e
    if [[ -n "$PEERS_PID" ]]; then
        kill -TERM "$PEERS_PID" 2>/dev/null && wait "$PEERS_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
mkdir -p "$WORK/microsite" "$WORK/run"
printf 'ARG BASE_IMAGE=python:3.12-slim\nFROM $BASE_IMAGE\n' >"$WORK/microsite/Dockerfile"

# moto + microsite stand-in, in one process; it writes "MOTO_URL VERIFY_URL" when ready.
PYTHONPATH="$ROOT" "$PYTHON" - "$WORK/urls" <<'PY' >"$WORK/peers.log" 2>&1 &
import json, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.cloudformation.models import CloudFormationBackend
from moto.server import ThreadedMotoServer

from tests.helpers import moto_execute_change_set_with_outputs

CloudFormationBackend.execute_change_set = moto_execute_change_set_with_outputs()
import os
# Plain moto runs no task; with this its services report 2 running, the steady service
# service-stable would see on AWS.
os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")
moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
moto.start()
body = json.dumps({"service": "microsite", "environment": "dev",
                   "database": {"time": "2026-01-01T00:00:00Z", "version": "PostgreSQL 15"},
                   "items": []}).encode()

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

site = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
threading.Thread(target=site.serve_forever, daemon=True).start()
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(f"http://127.0.0.1:{moto.get_host_and_port()[1]} "
              f"http://127.0.0.1:{site.server_address[1]}/\n")
import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
signal.sigwait({signal.SIGTERM, signal.SIGINT})
site.shutdown()
moto.stop()
PY
PEERS_PID=$!
for _ in $(seq 1 200); do [[ -s "$WORK/urls" ]] && break; sleep 0.05; done
[[ -s "$WORK/urls" ]] || { echo "moto did not start" >&2; exit 1; }
read -r MOTO_URL VERIFY_URL <"$WORK/urls"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL
export ECSLAB_REGION=us-east-1 ECSLAB_ENDPOINT_URL=$MOTO_URL ECSLAB_VERIFY_URL=$VERIFY_URL
export ECSLAB_DB_HOST=db.example.internal ECSLAB_DB_PASSWORD=bench-password-not-shown
export ECSLAB_MICROSITE_DIR=$WORK/microsite ECSLAB_YES=1 ECSLAB_OUTPUT=json

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ecslab() { "$PYTHON" -m ecslab "$@" >"$WORK/run/last.jsonl" 2>"$WORK/run/last.err" || {
    echo "ecslab $* failed:" >&2; cat "$WORK/run/last.err" "$WORK/run/last.jsonl" >&2; exit 1; }; }

t0=$(now)
ecslab step service-linked-role
ecslab step deploy-ecr
t1=$(now)
AWS_ENDPOINT_URL=$MOTO_URL PYTHONPATH="$ROOT" "$PYTHON" - "$WORK/microsite" <<'PY'
import sys
from pathlib import Path

import boto3

from ecslab.lab.images import derive_tag
from tests.helpers import put_fake_images

tag = derive_tag(Path(sys.argv[1]), "linux/amd64", {}).name
put_fake_images(boto3.Session(region_name="us-east-1"), "ecslab-dev-microservice",
                [tag, "latest"], seed="bench")
PY
t2=$(now)
ecslab run-all
t3=$(now)
grep -q '"step": "deploy-service", "status": "done"' "$WORK/run/last.jsonl" || {
    echo "deploy-service did not run in the first run-all" >&2; exit 1; }

noop=()
for _ in $(seq 1 "$RUNS"); do
    s=$(now); ecslab run-all; e=$(now)
    if grep -q '"status": "done"' <(grep -v '"step": "verify"' "$WORK/run/last.jsonl"); then
        echo "the second run-all changed something" >&2; exit 1
    fi
    noop+=("$(secs "$s" "$e")")
done
sorted=$(printf '%s\n' "${noop[@]}" | sort -n)

echo "first run, steps 1-2 (service-linked-role, deploy-ecr):  $(secs "$t0" "$t1") s"
echo "first run, run-all (push-image already done, deploy-service, verify): $(secs "$t2" "$t3") s"
echo "first run, total ecslab time: $(awk -v a="$(secs "$t0" "$t1")" -v b="$(secs "$t2" "$t3")" 'BEGIN { printf "%.2f", a + b }') s"
echo "second run-all (no-op), $RUNS runs: min $(echo "$sorted" | head -1) s, median $(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p") s (target < 3 s)"
