"""A Redis that only speaks TLS and only knows an ACL user: its own CA, a server and a client
certificate made at test time, the default user switched off, no password on its command
line (the ACL lives in a file)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis

from tests.support.net import free_port
from tests.support.redis_server import RedisServer
from tests.support.tls import Pki, make_pki
from worker.settings import FleetSettings

ACL_USER = "fleet"


@dataclass(frozen=True)
class TlsRedis:
    """The running server and how to reach it."""

    port: int
    password: str
    pki: Pki

    def url(self, db: int = 0, password: str | None = None) -> str:
        """`rediss://fleet:PASSWORD@127.0.0.1:PORT/DB`, the password percent-encoded."""
        secret = quote(self.password if password is None else password, safe="")
        return f"rediss://{ACL_USER}:{secret}@127.0.0.1:{self.port}/{db}"

    def tls_env(self) -> dict[str, str]:
        """REDIS_TLS_* for a fleet program: the CA, and the client pair (mutual TLS)."""
        return {
            "REDIS_TLS_CA_FILE": str(self.pki.ca),
            "REDIS_TLS_CERT_FILE": str(self.pki.client_cert),
            "REDIS_TLS_KEY_FILE": str(self.pki.client_key),
        }

    def client_url(self, db: int = 0) -> str:
        """The URL with its TLS options, as the fleet's settings build it (for the test's
        own redis-py and Celery clients)."""
        options: dict[str, Any] = {
            "_env_file": None,
            "redis_url": self.url(db),
            **{name.lower(): path for name, path in self.tls_env().items()},
        }
        return FleetSettings(**options).store_url


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_redis(pki: Pki) -> Iterator[TlsRedis]:
    """redis-server with TLS on a free port (no plaintext port), client certificates
    required, and one ACL user whose password has characters URLs reserve."""
    password = f"p@ss:w/rd#{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="fleet-tls-redis-") as workdir:
        acl = Path(workdir) / "users.acl"
        # The fleet's user as docs/security.md recommends it: its own keys only (the
        # store's prefix; the queues, named test-… and tls-… here, with their priority
        # lists; kombu's bookkeeping; each worker's control queue), pub/sub for Celery's
        # control channel, and no dangerous commands (FLUSHALL, KEYS, CONFIG …).
        acl.write_text(
            "user default off\n"
            f"user {ACL_USER} on >{password} ~fleet:* ~test-* ~tls-* ~unacked* ~_kombu.* "
            "~*.celery.pidbox* &* +@all -@dangerous\n"
        )
        port = free_port()
        server = RedisServer(
            port=port,
            workdir=workdir,
            extra_args=(
                "--port", "0", "--tls-port", str(port),
                "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
                "--tls-ca-cert-file", str(pki.ca), "--tls-auth-clients", "yes",
                "--aclfile", str(acl),
            ),
        )  # fmt: skip
        server.start()
        try:
            tls = TlsRedis(port, password, pki)
            client = redis.Redis.from_url(tls.client_url())
            if not client.ping():
                pytest.fail(f"the TLS redis-server on {port} does not answer", pytrace=False)
            client.close()
            yield tls
        finally:
            server.stop()
