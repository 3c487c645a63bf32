#!/usr/bin/env bash
# How soon the sandbox scales out on the high-memory alarm and back (bench/scale_out.py).
# Run `ecslab --sandbox run-all` first; pass --sandbox-dir DIR if it is not .ecslab/sandbox.
set -euo pipefail
exec "${PYTHON:-python}" "$(dirname "$0")/scale_out.py" "$@"
