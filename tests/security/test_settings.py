"""Secrets reach the fleet's programs only from the environment or mounted files, and no
error or repr of the settings ever shows one; TLS options are checked at start."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from producer.settings import ProducerSettings
from tests.support.tls import Pki
from worker import runtime
from worker.settings import FleetSettings

KEY = "hk-settings-secret-2b7f"
PASSWORD = "pw:with/reserved@chars#9"
QUOTED = "pw%3Awith%2Freserved%40chars%239"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Only what a test sets: no fleet variable of the developer's, no `.env`."""
    for name in [*FleetSettings.model_fields, *ProducerSettings.model_fields]:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    yield


def secret_file(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n")  # as `echo` or an editor leaves it
    return path


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("hume_api_key", KEY),
        ("redis_url", f"redis://fleet:{QUOTED}@10.0.0.5:6379/2"),
        ("broker_url", f"amqp://fleet:{QUOTED}@rabbit:5672//"),
    ],
)
def test_every_secret_can_come_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setting: str, value: str
) -> None:
    monkeypatch.setenv(f"{setting.upper()}_FILE", str(secret_file(tmp_path, setting, value)))
    settings = FleetSettings()
    assert getattr(settings, setting).get_secret_value() == value
    assert value not in repr(settings) and value not in str(settings)


def test_the_producer_reads_the_same_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"redis://:{QUOTED}@redis:6379/0"
    monkeypatch.setenv("REDIS_URL_FILE", str(secret_file(tmp_path, "url", url)))
    assert ProducerSettings().store_url == url


def test_a_value_and_its_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUME_API_KEY", "stale-" + KEY)
    monkeypatch.setenv("HUME_API_KEY_FILE", str(secret_file(tmp_path, "key", KEY)))
    with pytest.raises(ValidationError, match="set HUME_API_KEY or HUME_API_KEY_FILE, not both"):
        FleetSettings()


@pytest.mark.parametrize("content", [None, ""], ids=["missing", "empty"])
def test_an_unusable_secret_file_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "redis-url"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("REDIS_URL_FILE", str(path))
    with pytest.raises(ValidationError, match=f"REDIS_URL_FILE {path} (cannot be read|is empty)"):
        FleetSettings()


def test_validation_errors_never_quote_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # A model-level error (pydantic quotes the whole input there by default) next to a
    # field error: neither may show the key or the password.
    monkeypatch.setenv("HUME_API_KEY", KEY)
    monkeypatch.setenv("REDIS_URL", f"redis://:{QUOTED}@redis:6379/0")
    monkeypatch.setenv("HUME_API_KEY_FILE", "/nonexistent/key")
    with pytest.raises(ValidationError) as model_error:
        FleetSettings()
    monkeypatch.delenv("HUME_API_KEY_FILE")
    monkeypatch.setenv("METRICS_PORT", f"{KEY}")
    with pytest.raises(ValidationError) as field_error:
        FleetSettings()
    for error in (model_error.value, field_error.value):
        # what a traceback or a log line shows (the producer prints fields and messages only)
        text = f"{error}\n{error!r}\n{error.errors(include_input=False)}"
        assert KEY not in text and QUOTED not in text, text


def test_log_redaction_knows_the_password_quoted_and_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", f"rediss://fleet:{QUOTED}@redis:6380/0")
    monkeypatch.setenv("HUME_API_KEY", KEY)
    assert {KEY, QUOTED, PASSWORD} <= set(runtime.secrets(FleetSettings()))


# ------------------------------------------------------------------ Redis TLS


def tls_query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_rediss_urls_get_verification_and_the_tls_files(
    monkeypatch: pytest.MonkeyPatch, pki: Pki
) -> None:
    monkeypatch.setenv("REDIS_URL", f"rediss://fleet:{QUOTED}@redis:6380/0")
    monkeypatch.setenv("REDIS_TLS_CA_FILE", str(pki.ca))
    monkeypatch.setenv("REDIS_TLS_CERT_FILE", str(pki.client_cert))
    monkeypatch.setenv("REDIS_TLS_KEY_FILE", str(pki.client_key))
    settings = FleetSettings()
    for url in (settings.store_url, settings.broker):
        assert url.startswith(f"rediss://fleet:{QUOTED}@redis:6380/0?")
        assert tls_query(url) == {
            "ssl_cert_reqs": ["required"],
            "ssl_ca_certs": [str(pki.ca)],
            "ssl_certfile": [str(pki.client_cert)],
            "ssl_keyfile": [str(pki.client_key)],
        }
    assert settings.tls_warnings() == []


def test_a_plain_rediss_url_is_verified_against_the_system_cas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # kombu would connect to a bare rediss:// broker without checking its certificate
    monkeypatch.setenv("REDIS_URL", "rediss://redis:6380/0")
    assert tls_query(FleetSettings().broker) == {"ssl_cert_reqs": ["required"]}


def test_the_url_keeps_its_own_tls_options_and_an_opt_out_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, pki: Pki
) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://redis:6380/0?ssl_cert_reqs=none")
    monkeypatch.setenv("BROKER_URL", "redis://broker:6379/0")
    monkeypatch.setenv("REDIS_TLS_CA_FILE", str(pki.ca))
    settings = FleetSettings()
    assert tls_query(settings.store_url)["ssl_cert_reqs"] == ["none"]
    assert settings.broker == "redis://broker:6379/0"  # not TLS: left alone
    assert settings.tls_warnings() == [
        "REDIS_URL: the Redis certificate is not verified (ssl_cert_reqs)"
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"REDIS_URL": "redis://redis:6379/0", "REDIS_TLS_CA_FILE": "{ca}"},
            "REDIS_TLS_CA_FILE set, but no Redis URL uses rediss://",
        ),
        (
            {"REDIS_URL": "rediss://redis:6380/0", "REDIS_TLS_CERT_FILE": "{cert}"},
            "REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together",
        ),
        (
            {"REDIS_URL": "rediss://redis:6380/0", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"},
            "redis_tls_ca_file",
        ),
        (
            {"HUME_STREAM_URL": "ws://emulator:8080/v0/stream/models", "HUME_TLS_INSECURE": "1"},
            "HUME_TLS_INSECURE applies to wss:// endpoints",
        ),
        (
            {"HUME_TLS_INSECURE": "true"},
            "HUME_TLS_INSECURE is for test endpoints; it is refused for api.hume.ai",
        ),
        (
            {"HUME_STREAM_URL": "wss://staging:8443/v0/stream/models",
             "HUME_TLS_INSECURE": "true", "HUME_TLS_CA_FILE": "{ca}"},
            "set HUME_TLS_CA_FILE or HUME_TLS_INSECURE, not both",
        ),
    ],
)  # fmt: skip
def test_tls_mistakes_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, pki: Pki, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(ca=pki.ca, cert=pki.client_cert))
    with pytest.raises(ValidationError, match=message):
        FleetSettings()


# ------------------------------------------------------------------ API TLS


def test_the_api_is_verified_by_default(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    assert FleetSettings().hume_ssl_context() is None  # the client's default: verified
    monkeypatch.setenv("HUME_STREAM_URL", "wss://staging.example:8443/v0/stream/models")
    monkeypatch.setenv("HUME_TLS_CA_FILE", str(pki.ca))
    context = FleetSettings().hume_ssl_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_the_insecure_opt_out_is_explicit_and_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUME_STREAM_URL", "wss://staging.example:8443/v0/stream/models")
    monkeypatch.setenv("HUME_TLS_INSECURE", "true")
    settings = FleetSettings()
    context = settings.hume_ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE
    assert settings.tls_warnings() == [
        "HUME_TLS_INSECURE: the API endpoint's certificate is not verified"
    ]


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("ws://127.0.0.1:8765/v0/stream/models", False),
        ("ws://localhost:8765/v0/stream/models", False),
        ("ws://emulator.staging.svc:8080/v0/stream/models", True),
    ],
)
def test_a_plaintext_api_url_to_another_host_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, url: str, warned: bool
) -> None:
    monkeypatch.setenv("HUME_STREAM_URL", url)
    assert bool(FleetSettings().tls_warnings()) is warned
