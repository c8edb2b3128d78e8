"""Settings of the worker (and, extended, the producer): one object, read from the
environment and `.env` once at start and passed down explicitly.

Secrets come from the environment or from files, never from the command line (which `ps`
shows to every user of the host): each secret setting NAME may instead be given as
NAME_FILE, the path of a file holding the value (a mounted Kubernetes or Docker secret).
Setting both is an error, so a stale value can never silently win.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import ClassVar, Final, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STREAM_URL = "wss://api.hume.ai/v0/stream/models"
DEFAULT_REALTIME_URL = "wss://api.cloud.hume.ai/v1/expression/audio/realtime"

#: REDIS_TLS_* settings and the redis-py / kombu connection option each becomes.
_REDIS_TLS_OPTIONS: Final = {
    "redis_tls_ca_file": "ssl_ca_certs",
    "redis_tls_cert_file": "ssl_certfile",
    "redis_tls_key_file": "ssl_keyfile",
}
#: Hosts of the real service: certificate checks are never switched off toward them.
_SERVICE_DOMAIN: Final = "hume.ai"


class FleetSettings(BaseSettings):
    """Everything a fleet program reads from its environment. Field names are the
    environment variable names (case-insensitive)."""

    # hide_input_in_errors: a validation error must not quote the input, which holds the
    # API key and the Redis password (pydantic quotes every input of a model-level error).
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )
    #: Secret settings, each with the setting naming a file that may hold it instead
    #: (a subclass adds its own).
    secret_files: ClassVar[dict[str, str]] = {
        "hume_api_key": "hume_api_key_file",
        "redis_url": "redis_url_file",
        "broker_url": "broker_url_file",
    }

    hume_api_key: SecretStr | None = None
    #: A file holding the key (a mounted secret): the way for deployments.
    hume_api_key_file: Path | None = None
    hume_stream_url: str = DEFAULT_STREAM_URL
    #: CA bundle (PEM) to verify a wss:// endpoint with, instead of the system's store
    #: (a staging endpoint behind a private CA).
    hume_tls_ca_file: FilePath | None = None
    #: Skip certificate verification toward a wss:// test endpoint. Never the default,
    #: refused for the service's own hosts, and logged as a WARNING on every connect.
    hume_tls_insecure: bool = False
    #: Which API the worker runs jobs on: v0 (streaming) or v1 (realtime audio).
    hume_api: Literal["v0", "v1"] = "v0"
    #: Full WebSocket URL of the v1 realtime audio endpoint (HUME_API=v1).
    hume_realtime_url: str = DEFAULT_REALTIME_URL
    #: v1: realtime sessions one worker process keeps open at once (a job needs one per
    #: channel); they share the process's event loop. See docs/backends.md.
    fleet_v1_sessions_per_process: int = Field(default=32, ge=1)
    #: May carry an ACL user and password (`rediss://user:pass@host:6380/0`).
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    redis_url_file: Path | None = None
    #: Defaults to REDIS_URL.
    broker_url: SecretStr | None = None
    broker_url_file: Path | None = None
    #: TLS toward Redis (rediss:// URLs, the store and a Redis broker alike): the CA bundle
    #: that signed the server's certificate, and a client certificate and key for mutual TLS.
    redis_tls_ca_file: FilePath | None = None
    redis_tls_cert_file: FilePath | None = None
    redis_tls_key_file: FilePath | None = None
    fleet_queue: str = Field(default="hume", min_length=1)
    metrics_port: int = Field(default=9808, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    #: Hard ceiling on one job's run time; the Redis visibility timeout is derived above it.
    fleet_task_hard_limit_s: int = Field(default=7200, gt=0)
    #: How far the Redis visibility timeout lies beyond the hard limit: a job whose whole
    #: worker died (kill -9, node loss) is delivered again this long after the hard limit.
    fleet_visibility_margin_s: int = Field(default=600, gt=0)
    #: Seconds without a reply before a socket counts as stalled and the payload is resent
    #: on a new connection.
    fleet_api_request_timeout_s: float = Field(default=60.0, gt=0)
    #: Deliveries of one job (first run, retries, redeliveries after a lost worker) before `dead`.
    fleet_max_attempts: int = Field(default=5, ge=1)
    fleet_result_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    #: Fleet-wide cap on open API connections (0 = no cap); the API limits connections per key.
    fleet_max_api_connections: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _read_secret_files(self) -> FleetSettings:
        for name, file_field in self.secret_files.items():
            path: Path | None = getattr(self, file_field)
            if path is None:
                continue
            if name in self.model_fields_set:
                raise ValueError(f"set {name.upper()} or {file_field.upper()}, not both")
            object.__setattr__(self, name, SecretStr(_read_secret(file_field, path)))
        return self

    @model_validator(mode="after")
    def _check_tls(self) -> FleetSettings:
        redis_tls = [f.upper() for f in _REDIS_TLS_OPTIONS if getattr(self, f) is not None]
        urls = [self.redis_url, *([self.broker_url] if self.broker_url else [])]
        if redis_tls and not any(_scheme(u.get_secret_value()) == "rediss" for u in urls):
            raise ValueError(
                f"{', '.join(redis_tls)} set, but no Redis URL uses rediss:// (TLS): "
                "the connection would be plaintext"
            )
        if (self.redis_tls_cert_file is None) != (self.redis_tls_key_file is None):
            raise ValueError("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together")
        hume_tls = [
            n
            for n, on in (
                ("HUME_TLS_CA_FILE", self.hume_tls_ca_file is not None),
                ("HUME_TLS_INSECURE", self.hume_tls_insecure),
            )
            if on
        ]
        stream = urlsplit(self.hume_stream_url)
        if hume_tls and stream.scheme != "wss":
            raise ValueError(f"{hume_tls[0]} applies to wss:// endpoints; HUME_STREAM_URL is not")
        if len(hume_tls) == 2:
            raise ValueError("set HUME_TLS_CA_FILE or HUME_TLS_INSECURE, not both")
        host = (stream.hostname or "").lower()
        if self.hume_tls_insecure and (
            host == _SERVICE_DOMAIN or host.endswith("." + _SERVICE_DOMAIN)
        ):
            raise ValueError(f"HUME_TLS_INSECURE is for test endpoints; it is refused for {host}")
        return self

    @property
    def broker(self) -> str:
        """The broker URL (BROKER_URL, else REDIS_URL), with TLS options for rediss://."""
        return self.redis_connection_url((self.broker_url or self.redis_url).get_secret_value())

    @property
    def store_url(self) -> str:
        """REDIS_URL, with TLS options for rediss://."""
        return self.redis_connection_url(self.redis_url.get_secret_value())

    def redis_connection_url(self, url: str) -> str:
        """`url` with the TLS options of a rediss:// connection in its query: the CA,
        certificate and key of REDIS_TLS_*_FILE, and `ssl_cert_reqs=required`, each unless
        the URL sets it itself. Other URLs come back unchanged.

        In the URL, because redis-py (the store, readiness checks, the queue sampler) and
        kombu (the broker) both read these options from it. kombu would otherwise connect
        to a rediss:// broker without verifying its certificate.
        """
        parts = urlsplit(url)
        if parts.scheme != "rediss":
            return url
        query = parse_qsl(parts.query, keep_blank_values=True)
        present = {key for key, _ in query}
        wanted = [("ssl_cert_reqs", "required")] + [
            (option, str(path.resolve()))
            for field, option in _REDIS_TLS_OPTIONS.items()
            if (path := getattr(self, field)) is not None
        ]
        query += [(key, value) for key, value in wanted if key not in present]
        return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="/")))

    def hume_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context toward the API: None means the default, which verifies the
        certificate against the system's CAs."""
        if self.hume_tls_insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if self.hume_tls_ca_file is not None:
            return ssl.create_default_context(cafile=str(self.hume_tls_ca_file))
        return None

    def tls_warnings(self) -> list[str]:
        """What this configuration leaves unprotected on the wire (logged at start)."""
        found = []
        stream = urlsplit(self.hume_stream_url)
        if stream.scheme == "ws" and not _loopback(stream.hostname or ""):
            found.append(
                "HUME_STREAM_URL is ws:// to a remote host: the API key and the audio travel "
                "unencrypted"
            )
        if self.hume_tls_insecure:
            found.append("HUME_TLS_INSECURE: the API endpoint's certificate is not verified")
        urls = [("REDIS_URL", self.store_url)]
        if self.broker_url is not None:
            urls.append(("BROKER_URL", self.broker))
        for name, url in urls:
            query = dict(parse_qsl(urlsplit(url).query))
            if query.get("ssl_cert_reqs", "").lower() in ("none", "optional"):
                found.append(f"{name}: the Redis certificate is not verified (ssl_cert_reqs)")
        return found

    @property
    def visibility_timeout_s(self) -> int:
        """Redis redelivers an unacknowledged message after this long: it must exceed the
        longest job's hard limit, or long jobs run twice."""
        return self.fleet_task_hard_limit_s + self.fleet_visibility_margin_s

    @property
    def soft_time_limit_s(self) -> float:
        """Celery's soft time limit: a minute under the hard limit, or a tenth of it for hard
        limits under ten minutes (a fixed minute would leave a short limit no time at all)."""
        return self.fleet_task_hard_limit_s - min(60.0, self.fleet_task_hard_limit_s / 10)


def _read_secret(setting: str, path: Path) -> str:
    """The value in a secret file, without the trailing newline editors and `echo` add."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ValueError(f"{setting.upper()} {path} cannot be read: {exc.strerror}") from None
    if not value:
        raise ValueError(f"{setting.upper()} {path} is empty")
    return value


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
