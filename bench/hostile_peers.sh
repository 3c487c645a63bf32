#!/usr/bin/env bash
# How long ecslab waits on an AWS endpoint that accepts connections and never answers, and
# how much memory `--config /dev/zero` costs, each next to a reference measured in the
# same run: botocore's default client on the same endpoint (cut off at CUTOFF seconds,
# default 30), and the memory of importing ecslab's CLI.
# Targets: the hung endpoint ends ecslab in under 15 s with exit 4; /dev/zero adds under
# 5 MB to the import's peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
CUTOFF="${CUTOFF:-30}" PYTHONPATH="$PWD" python3 - <<'PY'
import os, socket, subprocess, sys, threading, time

cutoff = float(os.environ["CUTOFF"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
held = []
threading.Thread(target=lambda: [held.append(listener.accept()) for _ in iter(int, 1)], daemon=True).start()
url = f"http://127.0.0.1:{listener.getsockname()[1]}"
env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
       "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

def timed(argv):
    start = time.perf_counter()
    try:
        code = subprocess.run(argv, env=env, capture_output=True, timeout=cutoff).returncode
    except subprocess.TimeoutExpired:
        return cutoff, None
    return time.perf_counter() - start, code

seconds, code = timed([sys.executable, "-m", "ecslab", "--region", "us-east-1",
                       "--endpoint-url", url, "status"])
print(f"ecslab status, hung endpoint            {seconds:6.1f} s  exit {code}")
reference = ("import boto3; boto3.client('sts', region_name='us-east-1', "
             f"endpoint_url='{url}').get_caller_identity()")
seconds, code = timed([sys.executable, "-c", reference])
shown = f"> {cutoff:.0f} s (cut off)" if code is None else f"{seconds:.1f} s"
print(f"botocore defaults, same endpoint        {shown}")

def peak_mb(argv):
    """Peak RSS of `argv` alone: measured by a fresh parent that runs only it."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return int(out) / 1024

base = peak_mb([sys.executable, "-c", "import ecslab.cli, yaml"])
dev_zero = peak_mb([sys.executable, "-m", "ecslab", "--config", "/dev/zero", "config"])
print(f"peak RSS, import ecslab.cli + yaml      {base:6.1f} MB")
print(f"peak RSS, ecslab --config /dev/zero     {dev_zero:6.1f} MB  (+{dev_zero - base:.1f} MB)")
PY
