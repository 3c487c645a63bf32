#!/usr/bin/env bash
# Start-up time of `ecslab --help` next to reference commands, measured in one run.
# Prints the median wall time of N runs each (default 21; set RUNS to change).
# Target: `ecslab --help` within 1.5x of `python -c "import click, rich.console"`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-21}" python3 - <<'PY'
import os, shutil, statistics, subprocess, sys, time

runs = int(os.environ["RUNS"])
ecslab = shutil.which("ecslab") or sys.exit("ecslab is not installed: pip install -e .")
cases = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ('python -c "import click, rich.console"', [sys.executable, "-c", "import click, rich.console"]),
    ('python -c "import boto3"', [sys.executable, "-c", "import boto3"]),
    ("ecslab --help", [ecslab, "--help"]),
    ("ecslab step --help", [ecslab, "step", "--help"]),
]
medians = {}
for name, argv in cases:
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    medians[name] = statistics.median(times)
    print(f"{name:<42} median {medians[name] * 1000:7.1f} ms  (n={runs})")
ref = medians['python -c "import click, rich.console"']
ratio = medians["ecslab --help"] / ref
verdict = "meets" if ratio <= 1.5 else "MISSES"
print(f"ecslab --help / import click, rich.console = {ratio:.2f}x ({verdict} the 1.5x target)")
PY
