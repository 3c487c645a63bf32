"""TLS to the database, against a real PostgreSQL serving a certificate from a CA made here:
verified against DB_SSL_ROOT_CERT (chain and host name), refused when signed by another CA,
and `require` refusing a server that offers no TLS."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ecslab.sandbox import PostgresServer

from .helpers import Microsite

Factory = Callable[..., Microsite]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> Path:
    """A self-signed CA: DIR/NAME.pem and its key DIR/NAME.key."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def _server_certificate(directory: Path, ca: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (as an IP SAN, what verify-full checks) signed by `ca`."""
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / "server.pem", directory / "server.key"


def _enable_tls(server: PostgresServer, cert: Path, key: Path) -> None:
    for source, target in ((cert, "server.pem"), (key, "server.key")):
        placed = server.data_dir / target
        shutil.copyfile(source, placed)
        placed.chmod(0o600)
        shutil.chown(placed, server.data_dir.owner(), server.data_dir.group())
    server.execute("ALTER SYSTEM SET ssl_cert_file = 'server.pem'")
    server.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'")
    server.execute("ALTER SYSTEM SET ssl = on")
    server.execute("SELECT pg_reload_conf()")


@pytest.fixture
def tls_postgres(private_postgres: PostgresServer, tmp_path: Path) -> PostgresServer:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    _ca(tmp_path, "lab-ca")
    cert, key = _server_certificate(tmp_path, "lab-ca")
    _enable_tls(private_postgres, cert, key)
    return private_postgres


def _ssl_in_use(server: PostgresServer) -> set[str]:
    rows = server.execute(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
        "WHERE a.application_name = 'microsite'"
    )
    return set(rows.split())


def test_verified_against_the_configured_ca(
    tls_postgres: PostgresServer, tmp_path: Path, microsite_factory: Factory
) -> None:
    site = microsite_factory(
        tls_postgres, "postgres", DB_SSL_ROOT_CERT=str(tmp_path / "lab-ca.pem")
    )
    site.start()
    assert site.get("/").status == 200
    assert _ssl_in_use(tls_postgres) == {"t"}
    assert site.logged("started")[0]["tls"] == "verify-full"


def test_a_certificate_from_another_ca_is_refused(
    tls_postgres: PostgresServer, tmp_path: Path, microsite_factory: Factory
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    bundle = _ca(other, "other-ca")
    site = microsite_factory(tls_postgres, "postgres", DB_SSL_ROOT_CERT=str(bundle))
    site.start(wait_ready=False)
    site.wait_for(
        lambda: site.get("/ready").json().get("cause") == "tls_untrusted", 10, "tls_untrusted"
    )
    assert site.get("/").status == 503


def test_require_refuses_a_server_without_tls(
    postgres: PostgresServer, fresh_database: str, microsite_factory: Factory
) -> None:
    site = microsite_factory(postgres, fresh_database, DB_SSL_MODE="require")
    site.start(wait_ready=False)
    site.wait_for(lambda: site.get("/ready").json().get("cause") == "tls_failed", 10, "tls_failed")
