"""free_port, loopback-only probes, and missing-binary messages."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from ecslab.sandbox import MissingBinaryError
from ecslab.sandbox.ports import http_status
from ecslab.sandbox.process import find_binary


def test_free_port_can_be_bound(free_port: Callable[[], int]) -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_probes_refuse_other_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        http_status("http://172.17.0.1/")


def test_missing_binary_names_the_apt_package() -> None:
    with pytest.raises(MissingBinaryError, match="apt-get install -y some-package"):
        find_binary("no-such-program-ecslab", "some-package")
