#!/usr/bin/env bash
# How soon `ecslab verify` notices a backend turning healthy (see bench/verify_notice.py).
# Needs PostgreSQL (apt postgresql) and the test extra (moto, the microsite's packages).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" bench/verify_notice.py
