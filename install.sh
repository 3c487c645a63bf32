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
# tasks). Then ecslab itself: pip install -e . (into the
# active virtualenv, if any).
set -euo pipefail

PACKAGES=(docker.io docker-registry postgresql mmdebstrap haproxy)
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
        || die "apt-get not found: install ${PACKAGES[*]} with your package manager, then run: python3 -m pip install -e ."
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
    command -v python3 >/dev/null 2>&1 || die "python3 not found: install Python 3.11 or newer"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "ecslab needs Python 3.11 or newer (found $(python3 --version))"
    say "installing ecslab from $here (pip install -e .)"
    local flags=()
    # Debian's system Python refuses plain pip installs (PEP 668) outside a virtualenv.
    if [ -z "${VIRTUAL_ENV:-}" ] && python3 -m pip install --help | grep -q -- --break-system-packages; then
        if [ -e "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
            flags+=(--break-system-packages)
        fi
    fi
    python3 -m pip install -q "${flags[@]}" -e "$here"
}

install_packages
install_ecslab
say "done: $(command -v ecslab || echo 'ecslab (add pip'"'"'s script folder to PATH)')"
say "next: ecslab --sandbox run-all     (rehearse the whole lab locally, no AWS account)"
