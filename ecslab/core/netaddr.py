"""Is this host this machine? Decided by the parsed address, never by a name's prefix.

`127.evil.example` starts with "127." and is anywhere on the internet; `127.0.0.1`,
`127.1.2.3`, `::1` and `localhost` are loopback. Used to choose plain HTTP and no proxy
for local stand-ins, so a wrong answer would send credentials in clear to another host.
"""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """`host` (a name, an address, or an address in brackets) is 127.0.0.0/8, ::1 or localhost."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False
