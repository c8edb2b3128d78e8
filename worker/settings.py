"""Settings of the worker (and, extended, the producer): one object, read from the
environment and `.env` once at start and passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STREAM_URL = "wss://api.hume.ai/v0/stream/models"


class FleetSettings(BaseSettings):
    """Everything a fleet program reads from its environment. Field names are the
    environment variable names (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    hume_api_key: SecretStr | None = None
    #: A mounted secret file holding the key; preferred over HUME_API_KEY in deployments.
    hume_api_key_file: Path | None = None
    hume_stream_url: str = DEFAULT_STREAM_URL
    hume_api: Literal["v0", "v1"] = "v0"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    #: Defaults to REDIS_URL.
    broker_url: SecretStr | None = None
    fleet_queue: str = Field(default="hume", min_length=1)
    metrics_port: int = Field(default=9808, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    #: Hard ceiling on one job's run time; the Redis visibility timeout is derived above it.
    fleet_task_hard_limit_s: int = Field(default=7200, gt=0)
    #: Deliveries of one job (first run, retries, redeliveries after a lost worker) before `dead`.
    fleet_max_attempts: int = Field(default=5, ge=1)
    fleet_result_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    #: Fleet-wide cap on open API connections (0 = no cap); the API limits connections per key.
    fleet_max_api_connections: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _read_key_file(self) -> FleetSettings:
        if self.hume_api_key is None and self.hume_api_key_file is not None:
            try:
                key = self.hume_api_key_file.read_text().strip()
            except OSError as exc:
                raise ValueError(
                    f"HUME_API_KEY_FILE {self.hume_api_key_file} cannot be read: {exc.strerror}"
                ) from None
            object.__setattr__(self, "hume_api_key", SecretStr(key))
        return self

    @property
    def broker(self) -> str:
        """The broker URL (BROKER_URL, else REDIS_URL)."""
        return (self.broker_url or self.redis_url).get_secret_value()

    @property
    def store_url(self) -> str:
        return self.redis_url.get_secret_value()

    @property
    def visibility_timeout_s(self) -> int:
        """Redis redelivers an unacknowledged message after this long: it must exceed the
        longest job's hard limit, or long jobs run twice."""
        return self.fleet_task_hard_limit_s + 600
