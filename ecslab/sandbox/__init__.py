"""Local stand-ins for the lab's outside world: PostgreSQL, dockerd, a registry, moto.

Used by the test suites (tests/conftest.py) and by `ecslab sandbox`. Each service is a
class with start()/stop() that runs a real process on the loopback interface, keeps its
files under one root directory, and is stopped by its PID. Importing this package imports
none of boto3, docker, moto or bcrypt; the classes import them when they need them.

The sandbox (`ecslab --sandbox`, `ecslab sandbox up|status|down`) is built from them:
state.py (state.json, the password file), control.py (up, status, down), haproxy.py (the
load balancer), moto_patch.py (where moto must behave like AWS) and emulator/ (what runs
beside moto in its process: the ECS scheduler, CloudFormation's timing, alarms, scaling,
metrics). How `--sandbox` builds the App is ecslab/compose/sandbox_mode.py.
"""

from ecslab.sandbox.base_image import DEFAULT_TAG as DEFAULT_BASE_IMAGE
from ecslab.sandbox.base_image import BaseImage, build_base_image
from ecslab.sandbox.dockerd import PrivateDockerd
from ecslab.sandbox.errors import (
    MissingBinaryError,
    MissingDependencyError,
    MissingPythonPackageError,
    NeedsRootError,
    SandboxError,
    ServiceStartError,
)
from ecslab.sandbox.moto_server import MotoServer
from ecslab.sandbox.ports import free_port
from ecslab.sandbox.postgres import PostgresServer
from ecslab.sandbox.registry import Registry

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "BaseImage",
    "MissingBinaryError",
    "MissingDependencyError",
    "MissingPythonPackageError",
    "MotoServer",
    "NeedsRootError",
    "PostgresServer",
    "PrivateDockerd",
    "Registry",
    "SandboxError",
    "ServiceStartError",
    "build_base_image",
    "free_port",
]
