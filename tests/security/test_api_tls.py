"""TLS toward the API: the client verifies a wss:// endpoint's certificate by default, trusts
a private CA only when told (HUME_TLS_CA_FILE), and skips verification only with the
explicit HUME_TLS_INSECURE, logging a WARNING on every connect. A real TLS server on a
loopback port, with a certificate from the test's own CA."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import pytest

from hume_stream import HumeStreamClient
from hume_stream.models.config import BurstConfig
from tests.hume_stream.wire_server import wire_server
from tests.support.tls import Pki
from worker.settings import FleetSettings

API_KEY = "tls-test-api-key-51c0"


def server_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    return context


def settings(url: str, **tls: Any) -> FleetSettings:
    options: dict[str, Any] = {"_env_file": None, "hume_stream_url": url, **tls}
    return FleetSettings(**options)


def connect_times(pki: Pki, times: int, **tls: object) -> list[dict[str, str]]:
    """Open `times` connections (one reset_stream each) with the settings' TLS context;
    the handshake headers the server saw."""

    async def main() -> list[dict[str, str]]:
        async with wire_server(server_context(pki)) as server:
            context = settings(server.url, **tls).hume_ssl_context()
            client = HumeStreamClient(API_KEY, url=server.url, ssl=context)
            for _ in range(times):
                async with client.connect([BurstConfig()]) as socket:
                    await socket.reset_stream()
            return server.headers

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_an_unknown_certificate_is_refused_by_default(pki: Pki) -> None:
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        connect_times(pki, 1)
    assert API_KEY not in str(refused.value)


def test_a_private_ca_is_trusted_when_configured(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hume_stream"):
        headers = connect_times(pki, 1, hume_tls_ca_file=pki.ca)
    assert headers[0]["X-Hume-Api-Key"] == API_KEY
    assert not [r for r in caplog.records if r.name == "hume_stream"]


def test_the_insecure_opt_out_connects_and_warns_on_every_connect(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hume_stream"):
        headers = connect_times(pki, 2, hume_tls_insecure=True)
    assert len(headers) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "hume_stream"]
    assert len(warnings) == 2
    assert all("TLS certificate verification is OFF" in w for w in warnings)


def test_a_tls_context_with_a_plaintext_url_is_an_error() -> None:
    with pytest.raises(ValueError, match="ssl= needs a wss:// URL"):
        HumeStreamClient(
            API_KEY, url="ws://127.0.0.1:1/v0/stream/models", ssl=ssl.create_default_context()
        )
