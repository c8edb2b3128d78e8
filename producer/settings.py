"""Settings of the producer: the fleet's settings plus the producer's own, read once from the
environment (and `.env`) when a command starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from worker.settings import FleetSettings

#: Schemes the producer can list.
Scheme = Literal["s3", "gs", "file"]


class ProducerSettings(FleetSettings):
    """FleetSettings (REDIS_URL, BROKER_URL, FLEET_QUEUE, …) and the producer's fields."""

    secret_files: ClassVar[dict[str, str]] = {
        **FleetSettings.secret_files,
        "producer_notify_url": "producer_notify_url_file",
    }

    #: Scheme of a bare `bucket/path` argument (one that is not an existing local path).
    producer_default_scheme: Scheme = "s3"
    #: Objects listed, checked against the store and enqueued per round trip.
    producer_chunk_size: int = Field(default=1000, ge=1, le=100_000)
    #: Where `status --watch` posts the summary when `--notify` is not given. A webhook URL
    #: is often a credential (a token in its path): here it stays out of `ps`.
    producer_notify_url: SecretStr | None = None
    producer_notify_url_file: Path | None = None
    #: Seconds a `--notify` POST may take.
    producer_notify_timeout_s: float = Field(default=10.0, gt=0)
    #: S3-compatible endpoint (the standard AWS variables; AWS_ENDPOINT_URL_S3 wins).
    aws_endpoint_url: str | None = None
    aws_endpoint_url_s3: str | None = None

    def storage_options(self, scheme: str) -> dict[str, Any]:
        """fsspec options for listing a scheme. A fresh filesystem per command, without a
        listings cache: a re-submit must see what the store holds now."""
        options: dict[str, Any] = {"skip_instance_cache": True}
        if scheme == "s3":
            options["use_listings_cache"] = False
            endpoint = self.aws_endpoint_url_s3 or self.aws_endpoint_url
            if endpoint:
                options["endpoint_url"] = endpoint
        return options
