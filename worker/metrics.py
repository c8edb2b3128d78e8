"""Every Prometheus metric of the fleet, in one module (prefix `hume_fleet_`).

Under Celery prefork the children write samples to PROMETHEUS_MULTIPROC_DIR and the main
process serves the merged view; gauges therefore declare how processes combine.

Labels:
    status  done | failed | retried | dead
    code    API error code (E0203, I0100, …), `auth` for a rejected key, `closed` for a
            dropped socket, `timeout` for no reply, or a media error code (corrupt, …)
    model   the payload's models, sorted and comma-joined: prosody | burst | burst,prosody …
            (one request carries every model of the job, so its latency is theirs together)
    queue   Celery queue name
    backend the API the job ran on: v0 (streaming) | v1 (realtime audio)
"""

from __future__ import annotations

# Multiprocess mode is already on: the `worker` package set PROMETHEUS_MULTIPROC_DIR when
# it was imported (worker/__init__.py, worker/metrics_dir.py).
from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)

#: Every `status` of JOBS; each process starts them at 0 so the first one counts in rate().
JOB_STATUSES = ("done", "failed", "retried", "dead")
#: API error codes alerted on; started at 0 for the same reason.
ALERTED_API_CODES = ("auth", "E0300")

#: The two APIs a worker can run on (HUME_API).
BACKENDS = ("v0", "v1")

JOBS = Counter("hume_fleet_jobs", "Jobs by outcome.", ["status", "backend"])
JOB_DURATION = Histogram(
    "hume_fleet_job_duration_seconds", "Wall time of one job, fetch to result.",
    buckets=_JOB_BUCKETS,
)  # fmt: skip
PAYLOAD_LATENCY = Histogram(
    "hume_fleet_payload_latency_seconds",
    "One API round trip: v0 payload sent to reply; v1 last frame of a window sent to its "
    "measurement.", ["model", "backend"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
API_ERRORS = Counter("hume_fleet_api_errors", "API and connection errors by code.", ["code"])
RECONNECTS = Counter("hume_fleet_socket_reconnects", "WebSocket re-opens after a drop.")
RESETS = Counter("hume_fleet_stream_resets", "reset_stream calls (after each job/channel).")
IN_PROGRESS = Gauge("hume_fleet_jobs_in_progress", "Jobs running now.", multiprocess_mode="livesum")
AUDIO_SECONDS = Counter(
    "hume_fleet_audio_seconds", "Seconds of audio sent to (v1: accepted by) the API.", ["backend"]
)
BILLED_SECONDS = Counter(
    "hume_fleet_billed_seconds",
    "v1: seconds the service bills, accepted audio with its 10 s minimum per session.",
    ["backend"],
)
REALTIME_SESSIONS = Gauge(
    "hume_fleet_realtime_sessions", "v1 realtime sessions open now.", multiprocess_mode="livesum"
)
DECODE_SECONDS = Histogram(
    "hume_fleet_media_decode_seconds", "Fetch + decode + chunk time per job.",
    buckets=_JOB_BUCKETS,
)  # fmt: skip
QUEUE_DEPTH = Gauge(
    "hume_fleet_queue_depth", "Messages waiting in the broker queue (sampled).", ["queue"],
    multiprocess_mode="mostrecent",
)  # fmt: skip


def start_series(backend: str = "v0") -> None:
    """Create the alerted label values at 0 in this process, for the configured backend.

    A counter series that first appears at 1 shows no increase() to Prometheus, so the
    first dead job or rejected key would not fire an alert.
    """
    for status in JOB_STATUSES:
        JOBS.labels(status, backend)
    for code in ALERTED_API_CODES:
        API_ERRORS.labels(code)
