#!/usr/bin/env bash
# Benchmark of `ecslab step push-image`, in one run, all on loopback:
#   cold build time (fresh engine: no build cache), first push, the unchanged re-run
#   (skipped), rebuild time after a one-line code change, bytes pushed for that change vs
#   the whole image (target: under 5 %), and the image size.
#
# It starts its own dockerd (no bridge) in a temp dir and stops it by PID at the end; moto
# and a docker-registry stand in for ECR (see bench/push_image.py). The local Debian base
# image is copied from BASE_FROM (a DOCKER_HOST URL of an engine that has it, e.g. CI's
# ECSLAB_TEST_DOCKER_HOST) when given, else built (about 30 s, not part of the figures).
#
# Usage: bench/push_image.sh      (root; needs docker.io, docker-registry, mmdebstrap;
#                                  `pip install -e .`; PyPI reachable for the image's pip)
# Env:   BASE_FROM=unix:///path/docker.sock   BASE_IMAGE (default ecslab-base:bookworm)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BASE_IMAGE=${BASE_IMAGE:-ecslab-base:bookworm}
BASE_FROM=${BASE_FROM:-${ECSLAB_TEST_DOCKER_HOST:-}}
WORK=$(mktemp -d -t ecslab-push-bench.XXXXXX)
ENGINE_DIR="$WORK/docker"

log() { printf '# %s\n' "$*" >&2; }

cleanup() {
    set +e
    if [[ -f "$ENGINE_DIR/dockerd.pid" ]]; then
        "$PYTHON" -m ecslab.sandbox stop-dockerd "$ENGINE_DIR" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log "starting a private dockerd in $ENGINE_DIR"
DOCKER_HOST=$("$PYTHON" -m ecslab.sandbox start-dockerd "$ENGINE_DIR")
export DOCKER_HOST

copied=0
if [[ -n "$BASE_FROM" ]]; then
    log "copying $BASE_IMAGE from $BASE_FROM"
    if BASE_FROM="$BASE_FROM" BASE_IMAGE="$BASE_IMAGE" "$PYTHON" - <<'PY'
import os, sys
import docker
source = docker.DockerClient(base_url=os.environ["BASE_FROM"])
target = docker.from_env()
try:
    image = source.images.get(os.environ["BASE_IMAGE"])
except docker.errors.ImageNotFound:
    sys.exit(1)
target.images.load(b"".join(image.save(named=True)))
PY
    then copied=1; else log "not there: building it"; fi
fi
if [[ "$copied" -eq 0 ]]; then
    log "building $BASE_IMAGE (not timed)"
    "$PYTHON" -m ecslab.sandbox build-base-image --docker-host "$DOCKER_HOST" --tag "$BASE_IMAGE" >&2
fi

BASE_IMAGE="$BASE_IMAGE" "$PYTHON" bench/push_image.py
