#!/usr/bin/env bash
# Install ecslab and what its local sandbox needs, on Debian or Ubuntu. Safe to run again.
#
#   bash install.sh            # as root (or with sudo available)
#
# Then:  ecslab --sandbox run-all
#
# apt packages: docker.io (dockerd: runs the tasks and builds the image), docker-registry
# (stands in for ECR), postgresql (the database), mmdebstrap (builds a local Python base
# image when Docker Hub cannot be reached), haproxy (the load balancer in front of the
# tasks). Then ecslab itself with its sandbox extra (moto, the sandbox's AWS API):
# pip install -e '.[sandbox]' with the python3 first on PATH, so into the active
# virtualenv if there is one (PYTHON=/path/to/python picks another).
set -euo pipefail

PACKAGES=(docker.io docker-registry postgresql mmdebstrap haproxy)
PYTHON=${PYTHON:-python3}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "installing packages needs root: run this script as root, or install sudo"
    fi
}

missing_packages() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || printf '%s\n' "$pkg"
    done
}

install_packages() {
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found: install ${PACKAGES[*]} with your package manager, then run: $PYTHON -m pip install -e '.[sandbox]'"
    local missing
    missing="$(missing_packages)"
    if [ -z "$missing" ]; then
        say "system packages already installed: ${PACKAGES[*]}"
        return
    fi
    say "installing system packages: $(echo "$missing" | tr '\n' ' ')"
    as_root apt-get update -q
    # shellcheck disable=SC2086  # one word per package
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends $missing
}

install_ecslab() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "ecslab needs Python 3.11 or newer (found $("$PYTHON" --version))"
    say "installing ecslab from $here into $("$PYTHON" -c 'import sys; print(sys.prefix)') (pip install -e '.[sandbox]')"
    local flags=()
    # Debian's system Python refuses plain pip installs (PEP 668) outside a virtualenv.
    if [ "$("$PYTHON" -c 'import sys; print(sys.prefix == sys.base_prefix)')" = True ] \
        && "$PYTHON" -m pip install --help | grep -q -- --break-system-packages; then
        if [ -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
            flags+=(--break-system-packages)
        fi
    fi
    "$PYTHON" -m pip install -q "${flags[@]}" -e "$here[sandbox]"
}

install_packages
install_ecslab
scripts="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
say "done: $scripts/ecslab$(command -v ecslab >/dev/null 2>&1 || echo "  (add $scripts to PATH)")"
say "next: ecslab --sandbox run-all     (rehearse the whole lab locally, no AWS account)"
