"""Every Redis connection of the fleet over TLS to a server with its own CA and an ACL
user: the store, the broker, readiness checks and the queue sampler use the CA, the client
certificate and the URL's user and password from the settings, and refuse a server their
CA did not sign. (A whole worker and the producer on this server: test_worker_secrets.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from celery import Celery

from tests.security.conftest import TlsRedis
from worker import health, keys
from worker.jobs import Job, SourceIdentity, State
from worker.queue_depth import QueueDepthSampler
from worker.settings import FleetSettings
from worker.store import JobStore


def settings_for(tls: TlsRedis, **overrides: Any) -> FleetSettings:
    values: dict[str, Any] = {
        "redis_url": tls.url(),
        "redis_tls_ca_file": tls.pki.ca,
        "redis_tls_cert_file": tls.pki.client_cert,
        "redis_tls_key_file": tls.pki.client_key,
    }
    return FleetSettings(**{"_env_file": None, **values, **overrides})


def test_the_store_works_over_tls_as_the_acl_user(tls_redis: TlsRedis) -> None:
    store = JobStore(redis.Redis.from_url(settings_for(tls_redis).store_url), result_ttl_s=60)
    job = Job(
        job_id="tls-job",
        batch_id="tls",
        source=SourceIdentity(uri="/calls/a.wav"),
        models={"burst": {}},
        submitted_at=time.time(),
    )
    store.create_batch("tls", {"total": 1})
    store.mark_queued([job])
    assert store.job_state("tls-job")["state"] == State.QUEUED
    assert store.client.acl_whoami() == "fleet"
    store.client.delete(keys.job("tls-job"), keys.batch("tls"))
    store.client.close()


def test_the_broker_connects_over_tls_as_the_acl_user(tls_redis: TlsRedis) -> None:
    app = Celery("tls-check", broker=settings_for(tls_redis).broker)
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0)
        assert conn.default_channel.client.acl_whoami() == "fleet"


def test_readiness_and_queue_depth_over_tls(tls_redis: TlsRedis) -> None:
    settings = settings_for(tls_redis)
    ready = health.check_all(
        {
            "broker": health.broker_check(settings.broker),
            "redis": health.redis_check(settings.store_url),
        }
    )
    assert ready.ready, ready.reason
    assert QueueDepthSampler(settings.broker, ["tls-queue"]).sample() == {"tls-queue": 0}


def test_the_default_user_and_a_wrong_password_are_refused(tls_redis: TlsRedis) -> None:
    settings = settings_for(tls_redis)
    anonymous = settings.redis_connection_url(f"rediss://127.0.0.1:{tls_redis.port}/0")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(anonymous).ping()
    wrong = settings_for(tls_redis, redis_url=tls_redis.url(password="not-the-password"))
    ready = health.check_all(
        {"redis": health.redis_check(wrong.store_url)}, secrets=("not-the-password",)
    )
    assert not ready.ready and "not-the-password" not in ready.reason


@pytest.mark.parametrize("ca", ["other", "system"], ids=["unrelated-ca", "system-cas"])
def test_a_server_the_ca_did_not_sign_is_refused_by_store_and_broker(
    tls_redis: TlsRedis, ca: str
) -> None:
    # "system": a bare rediss:// URL and no REDIS_TLS_CA_FILE. kombu alone would connect
    # to that broker without any check; the settings make it verify against the system CAs.
    settings = settings_for(
        tls_redis, redis_tls_ca_file=tls_redis.pki.other_ca if ca == "other" else None
    )
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        redis.Redis.from_url(settings.store_url).ping()
    app = Celery("tls-check", broker=settings.broker)
    with (
        app.connection_for_write() as conn,
        pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        conn.ensure_connection(max_retries=0)
        conn.default_channel.client.ping()
    ready = health.check_all({"broker": health.broker_check(settings.broker)})
    assert "CERTIFICATE_VERIFY_FAILED" in ready.reason
    assert tls_redis.password not in ready.reason
