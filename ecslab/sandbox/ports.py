"""Loopback networking helpers: free TCP ports and plain HTTP probes on 127.0.0.1.

Probes go straight to the address given, never through a proxy from the environment, so
readiness checks cannot leave the machine.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that nothing listens on right now.

    The kernel picks it; there is a small window before the caller binds it, so services
    started on an automatically chosen port retry with a new one when the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def http_status(
    url: str,
    method: str = "GET",
    timeout: float = 2.0,
    headers: dict[str, str] | None = None,
) -> int | None:
    """HTTP status of a request to a loopback URL, or None if nothing answered."""
    from ecslab.core.netaddr import is_loopback_host

    host = urlsplit(url).hostname or ""
    if not is_loopback_host(host):
        raise ValueError(f"refusing to probe {url}: only loopback addresses are allowed")
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None
