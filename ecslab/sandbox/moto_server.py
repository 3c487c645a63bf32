"""moto's AWS emulator served over real HTTP on 127.0.0.1, inside this process.

boto3 clients reach it through `AWS_ENDPOINT_URL`, so code under test talks HTTP to it the
way it would to AWS. moto is imported only when the server starts.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ecslab.sandbox.errors import MissingPythonPackageError, SandboxError, ServiceStartError
from ecslab.sandbox.local_service import LocalService
from ecslab.sandbox.ports import LOOPBACK, http_status, port_is_free

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer


class MotoServer(LocalService):
    """A ThreadedMotoServer: `start()`, `stop()`, `reset()`, `endpoint_url`.

    With no port the kernel assigns one at bind time, so there is no race for it.
    """

    def __init__(self, port: int | None = None, timeout: float = 30.0) -> None:
        self.host = LOOPBACK
        self.port = port or 0
        self.timeout = timeout
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise SandboxError("the moto server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise MissingPythonPackageError("moto[server]") from None
        if self.port and not port_is_free(self.port):
            raise ServiceStartError(f"port {self.port} on {self.host} is already in use")
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        # ThreadedMotoServer.start() waits without a limit if the bind fails: bound it here.
        starter = threading.Thread(target=server.start, daemon=True)
        starter.start()
        starter.join(self.timeout)
        if starter.is_alive():
            raise ServiceStartError(f"moto server did not start within {self.timeout:.0f} s")
        self.port = server.get_host_and_port()[1]
        self._server = server

    def reset(self) -> None:
        """Forget every resource created so far (moto's POST /moto-api/reset)."""
        status = http_status(f"{self.endpoint_url}/moto-api/reset", method="POST", timeout=10)
        if status != 200:
            raise SandboxError(f"moto reset answered {status}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
