"""The emulator's one settings object, built once from the environment and the command line.

Every field can come from an environment variable `HUME_EMULATOR_<FIELD>` (e.g.
`HUME_EMULATOR_API_KEYS=key1,key2`, `HUME_EMULATOR_DROP_RATE=0.1`); command-line flags win.
API keys are `SecretStr`, so they never show up in a repr or a log line. Keys belong in the
environment or in a file (`HUME_EMULATOR_API_KEYS_FILE`, `--api-key-file`): a key given as
`--api-key` is visible to every user of the host in `ps`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hume_stream.limits import IDLE_TIMEOUT_S

__all__ = ["EmulatorSettings"]


class EmulatorSettings(BaseSettings):
    """Where the emulator listens, whom it lets in, and which faults it injects."""

    # hide_input_in_errors: an error must not quote the input, which holds the keys.
    model_config = SettingsConfigDict(
        env_prefix="HUME_EMULATOR_", extra="forbid", hide_input_in_errors=True
    )

    #: Keys accepted at the handshake (header `X-Hume-Api-Key` or query `apikey`).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: A file of more accepted keys, one per line or comma-separated (a mounted secret).
    api_keys_file: FilePath | None = None
    host: str = "127.0.0.1"
    #: 0 picks a free port; the chosen one is printed in the `listening ws://…` line.
    port: int = Field(default=0, ge=0, le=65535)
    #: Seed of every random decision (faults); same seed, same requests → same faults.
    seed: int = 0
    #: Added before answering each data request.
    latency_ms: float = Field(default=0.0, ge=0)
    #: Added per second of audio in a data request.
    latency_ms_per_audio_s: float = Field(default=0.0, ge=0)
    #: Probability that a data request makes the server drop the connection without answering.
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    #: Probability that a data request is answered with the retryable `I0100` error.
    error_rate: float = Field(default=0.0, ge=0, le=1)
    #: Probability that a data request is never answered (the connection goes silent).
    stall_rate: float = Field(default=0.0, ge=0, le=1)
    #: Open connections allowed per key; more are refused with HTTP 429. 0 = unlimited.
    max_connections_per_key: int = Field(default=0, ge=0)
    #: Seconds without a client message before the server closes the connection; 0 = never.
    idle_timeout: float = Field(default=IDLE_TIMEOUT_S, ge=0)
    #: v1 realtime: how far (ms) a session's audio may run ahead of real time before its
    #: frames are refused with `rate_limited` (absorbs network jitter; the real value is
    #: not documented).
    realtime_burst_ms: float = Field(default=500.0, ge=0)
    #: v1 realtime: longest session in seconds, then `session_limit_reached`; 0 = none.
    realtime_max_session_s: float = Field(default=0.0, ge=0)
    #: Append one JSON line per connection/request event to this file.
    event_log: Path | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _require_keys(self) -> EmulatorSettings:
        keys = list(self.api_keys)
        if self.api_keys_file is not None:
            try:
                text = self.api_keys_file.read_text()
            except OSError as exc:
                raise ValueError(f"cannot read {self.api_keys_file}: {exc.strerror}") from None
            keys += [SecretStr(k) for k in self._split_keys(text.replace("\n", ","))]
        if not keys or any(not k.get_secret_value() for k in keys):
            raise ValueError(
                "at least one non-empty API key is required (HUME_EMULATOR_API_KEYS=key1,key2, "
                "--api-key-file FILE, or --api-key KEY for a throwaway key)"
            )
        self.api_keys = keys
        return self

    @model_validator(mode="after")
    def _rates_fit(self) -> EmulatorSettings:
        total = self.drop_rate + self.error_rate + self.stall_rate
        if total > 1:
            raise ValueError(
                f"drop_rate + error_rate + stall_rate must be at most 1, got {total:g}"
            )
        return self
