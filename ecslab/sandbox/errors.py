"""Errors raised by the local services: a missing dependency, a service that will not start.

They are ecslab errors, so the CLI prints them with their hint and exits 2: a local
prerequisite is missing or a local service would not start; nothing in AWS was touched.
"""

from __future__ import annotations

from ecslab.core.errors import EcslabError, ExitCode


class SandboxError(EcslabError):
    """A local stand-in service (PostgreSQL, dockerd, registry, moto) failed."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)


class MissingDependencyError(SandboxError):
    """Something the service needs is not installed; `install_hint` says how to get it."""

    def __init__(self, what: str, install_hint: str) -> None:
        self.what = what
        self.install_hint = install_hint
        super().__init__(
            f"{what} not found: install it with `{install_hint}`",
            "or run `bash install.sh` as root, which installs every sandbox prerequisite",
        )


class MissingBinaryError(MissingDependencyError):
    """A program is missing; names the Debian package that has it."""

    def __init__(self, binary: str, apt_package: str) -> None:
        self.binary = binary
        self.apt_package = apt_package
        super().__init__(binary, f"apt-get install -y {apt_package}")


class MissingPythonPackageError(MissingDependencyError):
    """A Python package is missing (they come with `pip install -e '.[test]'`)."""

    def __init__(self, package: str) -> None:
        self.package = package
        super().__init__(f"Python package {package}", f"pip install '{package}'")


class ServiceStartError(SandboxError):
    """A service process exited or did not become ready within its time limit."""


class NeedsRootError(SandboxError):
    """The service can only run as root (dockerd without rootless mode)."""
