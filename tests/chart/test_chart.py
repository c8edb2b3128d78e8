"""Behaviour of the hume-fleet chart, checked on its rendered manifests."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import redis
import yaml
from celery import Celery

from tests.chart.render import (
    CHART,
    FULLNAME,
    NAMESPACE,
    WORKER,
    Chart,
    Doc,
    Manifests,
    container,
    env_of,
)
from worker.queue_depth import queue_keys

WORKER_SELECTOR = {
    "app.kubernetes.io/name": "hume-fleet",
    "app.kubernetes.io/instance": "fleet",
    "app.kubernetes.io/component": "worker",
}
EMULATOR_SELECTOR = {**WORKER_SELECTOR, "app.kubernetes.io/component": "emulator"}


def keda_trigger(manifests: Manifests, kind: str) -> Doc:
    triggers = manifests.one("ScaledObject", WORKER)["spec"]["triggers"]
    return next(t for t in triggers if t["type"] == kind)


# ---------------------------------------------------------------- resources


def test_default_values_render_the_worker_fleet(chart: Chart) -> None:
    m = chart.render()
    assert m.kinds() == {
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "ScaledObject",
        "Service",
        "ServiceAccount",
    }
    # No key in values: no Secret is made, the pods wait for the operator's.
    assert m.of_kind("Secret") == []


def test_all_on_values_render_every_optional_resource(chart: Chart) -> None:
    m = chart.render(all_on=True)
    assert {
        "Job",
        "PodMonitor",
        "PrometheusRule",
        "TriggerAuthentication",
        "Secret",
        "ScaledObject",
    } <= m.kinds()
    assert len(m.of_kind("Deployment")) == 2  # workers and emulator
    assert len(m.of_kind("NetworkPolicy")) == 2
    assert len(m.of_kind("Secret")) == 4  # API key, Redis, object store, emulator keys


# ---------------------------------------------------------------- KEDA


def test_keda_watches_the_queue_list_at_the_workers_redis(chart: Chart) -> None:
    m = chart.render()
    scaled = m.one("ScaledObject", WORKER)["spec"]
    assert scaled["scaleTargetRef"]["name"] == WORKER
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (0, 10)
    meta = keda_trigger(m, "redis")["metadata"]
    assert meta["listName"] == m.config()["FLEET_QUEUE"] == "hume"
    assert meta["address"] == "redis:6379"
    assert meta["databaseIndex"] == "0"
    redis_url = env_of(container(m.worker()["spec"]["template"]["spec"], "worker"))["REDIS_URL"]
    assert redis_url["value"] == "redis://redis:6379/0"
    # One replica per worker.concurrency waiting jobs by default.
    assert meta["listLength"] == m.config()["FLEET_CONCURRENCY"] == "4"


@pytest.mark.parametrize(
    ("queue", "host", "port", "db"),
    [("calls", "redis-master.redis.svc", 6380, 3), ("hume.priority", "10.0.0.7", 6379, 0)],
)
def test_keda_trigger_follows_the_queue_and_redis_values(
    chart: Chart, queue: str, host: str, port: int, db: int
) -> None:
    m = chart.render({"worker": {"queue": queue}, "redis": {"host": host, "port": port, "db": db}})
    meta = keda_trigger(m, "redis")["metadata"]
    assert meta["listName"] == m.config()["FLEET_QUEUE"] == queue
    assert meta["address"] == f"{host}:{port}"
    assert meta["databaseIndex"] == str(db)
    worker_env = env_of(container(m.worker()["spec"]["template"]["spec"], "worker"))
    assert worker_env["REDIS_URL"]["value"] == f"redis://{host}:{port}/{db}"


def test_keda_list_name_is_the_key_celery_fills_in_redis(
    chart: Chart, redis_url: str, redis_client: redis.Redis
) -> None:
    """Publish with Celery's Redis transport to the queue the workers consume: the message
    waits in exactly the list KEDA watches."""
    m = chart.render({"worker": {"queue": "calls-2026"}})
    list_name = keda_trigger(m, "redis")["metadata"]["listName"]
    app = Celery("probe", broker=redis_url)
    app.conf.broker_connection_timeout = 5
    try:
        app.send_task("worker.tasks.probe", args=["job"], queue=m.config()["FLEET_QUEUE"])
    finally:
        app.close()
    assert redis_client.keys("calls-2026*") == [list_name.encode()]
    assert redis_client.type(list_name) == b"list"
    assert redis_client.llen(list_name) == 1


def redis_triggers(manifests: Manifests) -> list[Doc]:
    triggers = manifests.one("ScaledObject", WORKER)["spec"]["triggers"]
    return [t for t in triggers if t["type"] == "redis"]


@pytest.mark.parametrize("queue", ["hume", "calls-2026"])
def test_keda_counts_the_waiting_jobs_of_every_priority_list(chart: Chart, queue: str) -> None:
    """Jobs sent with --priority wait in lists of their own: KEDA polls each one and scales
    on their sum, so a fleet at zero wakes for them too."""
    m = chart.render({"worker": {"queue": queue}}, all_on=True)
    triggers = redis_triggers(m)
    assert [t["metadata"]["listName"] for t in triggers] == queue_keys(queue)
    first = triggers[0]
    for trigger in triggers[1:]:
        assert trigger["metadata"] | {"listName": ""} == first["metadata"] | {"listName": ""}
        assert trigger["authenticationRef"] == first["authenticationRef"]
    modifiers = m.one("ScaledObject", WORKER)["spec"]["advanced"]["scalingModifiers"]
    waiting = " + ".join(t["name"] for t in triggers)
    per_replica = first["metadata"]["listLength"]
    in_progress = keda_trigger(m, "prometheus")
    threshold = in_progress["metadata"]["threshold"]
    assert in_progress["name"] == "in_progress"
    # replicas = the larger of waiting / per_replica and in_progress / threshold
    assert modifiers["formula"] == f"max({waiting}, in_progress * {per_replica} / {threshold})"
    assert modifiers["target"] == per_replica
    assert modifiers["metricType"] == "AverageValue"


def test_keda_without_the_in_progress_trigger_scales_on_the_waiting_sum(chart: Chart) -> None:
    m = chart.render({"autoscaling": {"keda": {"listLength": 10, "activationListLength": 3}}})
    modifiers = m.one("ScaledObject", WORKER)["spec"]["advanced"]["scalingModifiers"]
    assert modifiers["formula"] == " + ".join(t["name"] for t in redis_triggers(m))
    assert (modifiers["target"], modifiers["activationTarget"]) == ("10", "3")
    assert {t["metadata"]["listLength"] for t in redis_triggers(m)} == {"10"}


def test_a_prioritised_job_waits_in_a_list_keda_watches(
    chart: Chart, redis_url: str, redis_client: redis.Redis
) -> None:
    m = chart.render({"worker": {"queue": "calls-prio"}})
    watched = {t["metadata"]["listName"].encode() for t in redis_triggers(m)}
    app = Celery("probe", broker=redis_url)
    app.conf.broker_connection_timeout = 5
    try:
        for priority in (0, 4, 9):
            app.send_task("worker.tasks.probe", args=["job"], queue="calls-prio", priority=priority)
    finally:
        app.close()
    filled = set(redis_client.keys("calls-prio*"))
    assert len(filled) == 3 and filled <= watched
    assert sum(redis_client.llen(key) for key in filled) == 3


def test_keda_redis_auth_and_tls_match_the_workers(chart: Chart) -> None:
    m = chart.render(all_on=True)
    trigger = keda_trigger(m, "redis")
    assert trigger["metadata"]["enableTLS"] == "true"
    assert trigger["metadata"]["username"] == "fleet"
    auth = m.one("TriggerAuthentication", trigger["authenticationRef"]["name"])
    (ref,) = auth["spec"]["secretTargetRef"]
    env = container(m.worker()["spec"]["template"]["spec"], "worker")["env"]
    names = [e["name"] for e in env]
    password = env[names.index("REDIS_PASSWORD")]["valueFrom"]["secretKeyRef"]
    assert (ref["parameter"], ref["name"], ref["key"]) == (
        "password",
        password["name"],
        password["key"],
    )
    # Kubernetes expands $(REDIS_PASSWORD) only from variables defined before REDIS_URL.
    assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")
    url = env[names.index("REDIS_URL")]["value"]
    assert url.startswith(
        "rediss://fleet:$(REDIS_PASSWORD)@redis-master.redis.svc.cluster.local:6380/2"
    )
    assert "ssl_cert_reqs=" in url  # Celery refuses rediss:// without it


def test_a_private_redis_ca_reaches_workers_producer_and_keda(chart: Chart) -> None:
    m = chart.render(
        {
            "redis": {
                "tls": {"insecureSkipVerify": False, "caSecret": "redis-ca", "caKey": "ca.pem"}
            }
        },
        all_on=True,
    )
    workloads = [m.worker(), m.one("Job")]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        main = pod["containers"][0]
        assert env_of(main)["REDIS_TLS_CA_FILE"]["value"] == "/etc/hume-fleet/redis-tls/ca.crt"
        mount = next(v for v in main["volumeMounts"] if v["name"] == "redis-ca")
        assert (mount["mountPath"], mount["readOnly"]) == ("/etc/hume-fleet/redis-tls", True)
        volume = next(v for v in pod["volumes"] if v["name"] == "redis-ca")["secret"]
        assert volume["secretName"] == "redis-ca"
        assert volume["items"] == [{"key": "ca.pem", "path": "ca.crt"}]
        assert "ssl_cert_reqs=required" in env_of(main)["REDIS_URL"]["value"]
    # KEDA takes the CA only with its `tls: enable` auth parameter, and then no enableTLS
    trigger = keda_trigger(m, "redis")
    assert not {"enableTLS", "unsafeSsl"} & trigger["metadata"].keys()
    auth = m.one("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    assert {"parameter": "ca", "name": "redis-ca", "key": "ca.pem"} in auth["secretTargetRef"]
    (tls,) = auth["configMapTargetRef"]
    assert (tls["parameter"], tls["name"]) == ("tls", FULLNAME)
    assert m.config()[tls["key"]] == "enable"


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        ({"caSecret": "redis-ca"}, "redis.tls.caSecret needs redis.tls.enabled"),
        (
            {"enabled": True, "insecureSkipVerify": True, "caSecret": "redis-ca"},
            "redis.tls.caSecret and redis.tls.insecureSkipVerify exclude each other",
        ),
    ],
)
def test_a_redis_ca_needs_verified_tls(chart: Chart, tls: Doc, message: str) -> None:
    assert message in chart.render_error({"redis": {"tls": tls}})


def test_keda_in_progress_trigger_counts_running_jobs(chart: Chart) -> None:
    m = chart.render(all_on=True)
    meta = keda_trigger(m, "prometheus")["metadata"]
    assert meta["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"
    assert meta["query"].startswith("sum(hume_fleet_jobs_in_progress{")
    assert f'namespace="{NAMESPACE}"' in meta["query"]
    assert f'pod=~"{WORKER}-.*"' in meta["query"]
    assert meta["threshold"] == m.config()["FLEET_CONCURRENCY"]


def test_keda_in_progress_trigger_needs_a_prometheus_address(chart: Chart) -> None:
    error = chart.render_error({"autoscaling": {"keda": {"inProgress": {"enabled": True}}}})
    assert "serverAddress" in error


def test_keda_owns_the_replica_count(chart: Chart) -> None:
    m = chart.render()
    assert "replicas" not in m.worker()["spec"]
    assert m.of_kind("HorizontalPodAutoscaler") == []


def test_without_keda_a_cpu_hpa_scales_the_workers(chart: Chart) -> None:
    m = chart.render({"autoscaling": {"keda": {"enabled": False}}})
    assert "ScaledObject" not in m.kinds()
    hpa = m.one("HorizontalPodAutoscaler", WORKER)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": WORKER}
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in m.worker()["spec"]


def test_without_autoscalers_the_replica_count_is_fixed(chart: Chart) -> None:
    m = chart.render(
        {
            "autoscaling": {"keda": {"enabled": False}, "hpa": {"enabled": False}},
            "worker": {"replicas": 3},
        }
    )
    assert not {"ScaledObject", "HorizontalPodAutoscaler"} & m.kinds()
    assert m.worker()["spec"]["replicas"] == 3


# ---------------------------------------------------------------- draining


@pytest.mark.parametrize("hard_limit", [60, 7200, 36000])
def test_grace_period_covers_the_task_hard_limit(chart: Chart, hard_limit: int) -> None:
    m = chart.render({"worker": {"taskHardLimitSeconds": hard_limit}})
    assert m.config()["FLEET_TASK_HARD_LIMIT_S"] == str(hard_limit)
    assert m.worker()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > hard_limit


def test_grace_period_below_the_hard_limit_fails_rendering(chart: Chart) -> None:
    error = chart.render_error(
        {"worker": {"taskHardLimitSeconds": 7200, "terminationGracePeriodSeconds": 600}}
    )
    assert "terminationGracePeriodSeconds (600)" in error
    assert "taskHardLimitSeconds (7200)" in error


def test_explicit_grace_period_at_least_the_hard_limit_is_kept(chart: Chart) -> None:
    m = chart.render(
        {"worker": {"taskHardLimitSeconds": 900, "terminationGracePeriodSeconds": 900}}
    )
    assert m.worker()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 900


# ---------------------------------------------------------------- secrets

SECRETS: Doc = {
    "hume": {"apiKey": "hk-SENTINEL-api-key-4f1c"},
    "redis": {"password": "SENTINEL-redis-pass-77a0"},
    "objectStore": {
        "accessKeyId": "AKIASENTINEL0000",
        "secretAccessKey": "SENTINEL-s3-secret-9d2e",
    },
    "emulator": {"apiKeys": ["SENTINEL-emulator-key-1", "SENTINEL-emulator-key-2"]},
}
SECRET_VALUES = [
    "hk-SENTINEL-api-key-4f1c",
    "SENTINEL-redis-pass-77a0",
    "AKIASENTINEL0000",
    "SENTINEL-s3-secret-9d2e",
    "SENTINEL-emulator-key-1",
    "SENTINEL-emulator-key-2",
]


def secret_values_with(mount_as_file: bool) -> Doc:
    return {**SECRETS, "hume": {**SECRETS["hume"], "mountAsFile": mount_as_file}}


@pytest.mark.parametrize("mount_as_file", [True, False])
def test_secret_values_appear_only_in_secrets(chart: Chart, mount_as_file: bool) -> None:
    m = chart.render(secret_values_with(mount_as_file), all_on=True)
    in_secrets = "\n".join(
        base64.b64decode(v).decode() for s in m.of_kind("Secret") for v in s["data"].values()
    )
    for value in SECRET_VALUES:
        assert value in in_secrets, f"{value} is not stored in any Secret"
    for doc in m.docs:
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        for value in SECRET_VALUES:
            encoded = base64.b64encode(value.encode()).decode()
            where = f"{doc['kind']} {doc['metadata']['name']}"
            assert value not in text and encoded not in text, f"{value} is inlined in {where}"


def test_existing_secrets_are_referenced_not_created(chart: Chart) -> None:
    m = chart.render(
        {
            "hume": {"existingSecret": "ops-hume", "secretKey": "key", "apiKey": ""},
            "redis": {"existingSecret": "ops-redis", "passwordKey": "pw", "password": ""},
            "objectStore": {"existingSecret": "ops-s3", "accessKeyId": "", "secretAccessKey": ""},
            "emulator": {"existingSecret": "ops-emulator", "apiKeys": []},
        },
        all_on=True,
    )
    assert m.of_kind("Secret") == []
    pod = m.worker()["spec"]["template"]["spec"]
    env = env_of(container(pod, "worker"))
    assert env["HUME_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "ops-hume", "key": "key"}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "ops-redis", "key": "pw"}
    assert {"secretRef": {"name": "ops-s3"}} in container(pod, "worker")["envFrom"]
    auth = m.one("TriggerAuthentication")["spec"]["secretTargetRef"][0]
    assert (auth["name"], auth["key"]) == ("ops-redis", "pw")
    emulator = container(
        m.one("Deployment", f"{FULLNAME}-emulator")["spec"]["template"]["spec"], "emulator"
    )
    keys = env_of(emulator)["HUME_EMULATOR_API_KEYS"]["valueFrom"]["secretKeyRef"]
    assert keys == {"name": "ops-emulator", "key": "api-keys"}


def test_api_key_is_mounted_as_a_file_by_default(chart: Chart) -> None:
    m = chart.render({"hume": {"apiKey": "hk-file"}})
    pod = m.worker()["spec"]["template"]["spec"]
    worker = container(pod, "worker")
    assert "HUME_API_KEY" not in env_of(worker)
    mount = next(v for v in worker["volumeMounts"] if v["name"] == "hume-api-key")
    assert mount["readOnly"] is True
    assert m.config()["HUME_API_KEY_FILE"] == f"{mount['mountPath']}/api-key"
    volume = next(v for v in pod["volumes"] if v["name"] == "hume-api-key")["secret"]
    assert volume["secretName"] == f"{FULLNAME}-hume"
    assert volume["items"] == [{"key": "api-key", "path": "api-key"}]
    assert volume["defaultMode"] == 0o440  # owner and fsGroup only
    assert m.one("Secret", f"{FULLNAME}-hume")["data"] == {
        "api-key": base64.b64encode(b"hk-file").decode()
    }


# ---------------------------------------------------------------- security

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(pod: Doc) -> list[str]:
    """Departures from Pod Security Standard "restricted" (plus this chart's own rules:
    read-only root filesystem, the image's UID)."""
    found = []
    pod_ctx = pod.get("securityContext", {})
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(field)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']} of type {kinds}")
    if pod_ctx.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        found.append("pod seccompProfile")
    if pod_ctx.get("runAsNonRoot") is not True or pod_ctx.get("runAsUser") == 0:
        found.append("pod runAsNonRoot/runAsUser")
    for c in pod["containers"] + pod.get("initContainers", []):
        ctx = c.get("securityContext", {})
        name = c["name"]
        checks = {
            "allowPrivilegeEscalation false": ctx.get("allowPrivilegeEscalation") is False,
            "not privileged": not ctx.get("privileged"),
            "drops ALL capabilities": ctx.get("capabilities", {}).get("drop") == ["ALL"],
            "adds no capabilities": not ctx.get("capabilities", {}).get("add"),
            "runAsNonRoot": ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True,
            "runs as UID 10001": ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 10001,
            "readOnlyRootFilesystem": ctx.get("readOnlyRootFilesystem") is True,
            "seccomp RuntimeDefault": ctx.get("seccompProfile", {}).get("type") == "RuntimeDefault",
            "no hostPort": all("hostPort" not in p for p in c.get("ports", [])),
        }
        found += [f"{name}: {rule}" for rule, ok in checks.items() if not ok]
    return found


@pytest.mark.parametrize("all_on", [False, True], ids=["default", "all-on"])
def test_every_container_is_restricted(chart: Chart, all_on: bool) -> None:
    specs = list(chart.render(all_on=all_on).pod_specs())
    assert specs
    for name, pod in specs:
        assert restricted_violations(pod) == [], name


@pytest.mark.parametrize("all_on", [False, True], ids=["default", "all-on"])
def test_service_account_token_is_never_mounted(chart: Chart, all_on: bool) -> None:
    m = chart.render(all_on=all_on)
    account = m.one("ServiceAccount", FULLNAME)
    assert account["automountServiceAccountToken"] is False
    for name, pod in m.pod_specs():
        assert pod["serviceAccountName"] == FULLNAME, name
        assert pod["automountServiceAccountToken"] is False, name


def test_writable_paths_are_per_pod_empty_dirs(chart: Chart) -> None:
    m = chart.render()
    pod = m.worker()["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {v["mountPath"]: v["name"] for v in container(pod, "worker")["volumeMounts"]}
    for path in ("/tmp", m.config()["PROMETHEUS_MULTIPROC_DIR"]):
        assert "emptyDir" in volumes[mounts[path]], path


# ---------------------------------------------------------------- network policy


def egress_ports(rule: Doc) -> set[tuple[Any, str]]:
    return {(p["port"], p["protocol"]) for p in rule["ports"]}


def test_worker_network_policy_allows_only_dns_redis_and_the_api(chart: Chart) -> None:
    m = chart.render()
    policy = m.one("NetworkPolicy", WORKER)["spec"]
    assert policy["podSelector"]["matchLabels"] == WORKER_SELECTOR
    assert WORKER_SELECTOR.items() <= m.worker()["spec"]["template"]["metadata"]["labels"].items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    dns, redis_rule, api = policy["egress"]
    assert egress_ports(dns) == {(53, "UDP"), (53, "TCP")}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert egress_ports(redis_rule) == {(6379, "TCP")}
    assert redis_rule["to"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}
    ]
    assert egress_ports(api) == {(443, "TCP")}
    (block,) = api["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert "10.0.0.0/8" in block["ipBlock"]["except"]


def test_network_policy_follows_redis_and_api_values(chart: Chart) -> None:
    m = chart.render(
        {
            "redis": {"port": 6390},
            "networkPolicy": {
                "redisTo": [{"ipBlock": {"cidr": "10.9.0.0/16"}}],
                "humeApi": {"cidrs": ["203.0.113.0/24"], "ports": [443, 8443]},
            },
        }
    )
    _, redis_rule, api = m.one("NetworkPolicy", WORKER)["spec"]["egress"]
    assert egress_ports(redis_rule) == {(6390, "TCP")}
    assert redis_rule["to"] == [{"ipBlock": {"cidr": "10.9.0.0/16"}}]
    # except ranges apply only to a 0.0.0.0/0 entry (they must lie inside the cidr).
    assert api["to"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}]
    assert egress_ports(api) == {(443, "TCP"), (8443, "TCP")}


def test_metrics_are_reachable_only_from_the_configured_peers(chart: Chart) -> None:
    peers = [
        {
            "namespaceSelector": {"matchLabels": {"team": "observability"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    m = chart.render({"networkPolicy": {"metricsFrom": peers}})
    (ingress,) = m.one("NetworkPolicy", WORKER)["spec"]["ingress"]
    assert ingress == {"from": peers, "ports": [{"port": "metrics", "protocol": "TCP"}]}
    # no peers: no ingress rule at all, so nothing may connect to the workers
    closed = chart.render({"networkPolicy": {"metricsFrom": []}})
    policy = closed.one("NetworkPolicy", WORKER)["spec"]
    assert "Ingress" in policy["policyTypes"] and not policy.get("ingress")


def test_emulator_for_workers_replaces_the_api_egress(chart: Chart) -> None:
    m = chart.render(all_on=True)
    egress = m.one("NetworkPolicy", WORKER)["spec"]["egress"]
    assert not any(
        "ipBlock" in peer and peer["ipBlock"]["cidr"] == "0.0.0.0/0"
        for r in egress
        for peer in r["to"]
    )
    to_emulator = next(
        r
        for r in egress
        if r["to"][0].get("podSelector", {}).get("matchLabels") == EMULATOR_SELECTOR
    )
    assert egress_ports(to_emulator) == {(8080, "TCP")}
    emulator = m.one("NetworkPolicy", f"{FULLNAME}-emulator")["spec"]
    assert emulator["egress"] == []
    (ingress,) = emulator["ingress"]
    assert ingress["from"][0] == {"podSelector": {"matchLabels": WORKER_SELECTOR}}


def test_network_policies_can_be_turned_off(chart: Chart) -> None:
    assert (
        "NetworkPolicy"
        not in chart.render({"networkPolicy": {"enabled": False}}, all_on=True).kinds()
    )


# ---------------------------------------------------------------- availability and health


def test_pdb_limits_evictions_of_workers(chart: Chart) -> None:
    pdb = chart.render().one("PodDisruptionBudget", WORKER)["spec"]
    assert pdb["selector"]["matchLabels"] == WORKER_SELECTOR
    assert pdb["maxUnavailable"] == 1
    assert "minAvailable" not in pdb
    pdb = chart.render({"podDisruptionBudget": {"minAvailable": "50%"}}).one("PodDisruptionBudget")[
        "spec"
    ]
    assert pdb["minAvailable"] == "50%"
    assert "maxUnavailable" not in pdb


def test_probes_use_the_health_endpoints_on_the_metrics_port(chart: Chart) -> None:
    m = chart.render({"worker": {"metricsPort": 9900}})
    worker = container(m.worker()["spec"]["template"]["spec"], "worker")
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9900, "protocol": "TCP"}]
    assert m.config()["METRICS_PORT"] == "9900"
    probes = {
        kind: worker[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")
    }
    assert probes == {
        "startup": {"path": "/healthz", "port": "metrics"},
        "liveness": {"path": "/healthz", "port": "metrics"},
        "readiness": {"path": "/readyz", "port": "metrics"},
    }
    service = m.one("Service", f"{FULLNAME}-metrics")["spec"]
    assert service["selector"] == WORKER_SELECTOR
    assert service["ports"][0]["targetPort"] == "metrics"


def test_worker_runs_the_image_entry_with_settings_from_the_config_map(chart: Chart) -> None:
    m = chart.render()
    worker = container(m.worker()["spec"]["template"]["spec"], "worker")
    assert worker["command"] == ["hume-fleet-worker"]
    assert worker["envFrom"][0] == {"configMapRef": {"name": FULLNAME}}
    assert m.config()["HUME_STREAM_URL"] == "wss://api.hume.ai/v0/stream/models"


# ---------------------------------------------------------------- monitoring


def test_prometheus_rule_carries_the_alerts_file(chart: Chart) -> None:
    rule = chart.render({"prometheusRule": {"enabled": True}}).one("PrometheusRule", FULLNAME)
    alerts = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]


@pytest.mark.parametrize(
    ("kind", "endpoints"), [("PodMonitor", "podMetricsEndpoints"), ("ServiceMonitor", "endpoints")]
)
def test_monitor_scrapes_the_metrics_port(chart: Chart, kind: str, endpoints: str) -> None:
    monitor = chart.render({"metrics": {"monitor": {"enabled": True, "kind": kind}}}).one(
        kind, WORKER
    )
    assert monitor["spec"]["selector"]["matchLabels"] == WORKER_SELECTOR
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"][endpoints]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")


# ---------------------------------------------------------------- emulator and producer


def test_emulator_takes_keys_from_a_secret_and_serves_the_workers(chart: Chart) -> None:
    m = chart.render(all_on=True)
    name = f"{FULLNAME}-emulator"
    emulator = container(m.one("Deployment", name)["spec"]["template"]["spec"], "emulator")
    assert emulator["command"] == ["hume-emulator"]
    assert emulator["args"][:4] == ["--host", "0.0.0.0", "--port", "8080"]
    assert "valueFrom" in env_of(emulator)["HUME_EMULATOR_API_KEYS"]
    assert emulator["readinessProbe"]["httpGet"]["path"] == "/healthz"
    service = m.one("Service", name)["spec"]
    assert service["selector"] == EMULATOR_SELECTOR
    assert m.config()["HUME_STREAM_URL"] == f"ws://{name}.{NAMESPACE}.svc:8080/v0/stream/models"


def test_producer_job_submits_the_batch(chart: Chart) -> None:
    m = chart.render(all_on=True)
    (job,) = m.of_kind("Job")
    pod = job["spec"]["template"]["spec"]
    producer = container(pod, "producer")
    assert [producer["command"][0], *producer["args"]] == [
        "producer", "submit", "s3://calls/2026-11/", "--models", "prosody,burst",
        "--batch", "november", "--split-channels",
    ]  # fmt: skip
    assert pod["restartPolicy"] == "Never"
    env = env_of(producer)
    assert env["FLEET_QUEUE"]["value"] == "calls"
    assert env["REDIS_URL"]["value"].startswith("rediss://")
    assert {"secretRef": {"name": f"{FULLNAME}-object-store"}} in producer["envFrom"]
    assert "HUME_API_KEY" not in env  # submitting needs no API key


def test_producer_needs_a_uri_and_a_batch(chart: Chart) -> None:
    error = chart.render_error({"producer": {"enabled": True}})
    assert "producer.uri" in error and "producer.batch" in error


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"worker": {"concurrncy": 4}}, "concurrncy"),
        ({"worker": {"concurrency": 0}}, "/worker/concurrency"),
        ({"redis": {"port": "6379x"}}, "/redis/port"),
        ({"hume": {"api": "v2"}}, "/hume/api"),
        ({"metrics": {"monitor": {"kind": "Probe"}}}, "/metrics/monitor/kind"),
    ],
)
def test_schema_refuses_unknown_and_invalid_values(
    chart: Chart, values: Doc, complaint: str
) -> None:
    assert complaint in chart.render_error(values)


def documented_keys() -> list[str]:
    """Dotted paths of values.yaml keys carrying a "# --" description."""
    keys: list[str] = []
    path: list[str] = []
    described = False
    for line in (CHART / "values.yaml").read_text().splitlines():
        if line.lstrip().startswith("# -- "):
            described = True
        elif match := re.match(r"^(\s*)([A-Za-z0-9_]+):", line):
            path = [*path[: len(match.group(1)) // 2], match.group(2)]
            if described:
                keys.append(".".join(path))
            described = False
    return keys


def leaf_or_documented(values: Doc, documented: set[str], prefix: str = "") -> list[str]:
    """Every key that is a leaf, or is documented as a whole (resources, behavior ...)."""
    found = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in documented or not isinstance(value, dict) or not value:
            found.append(path)
        else:
            found += leaf_or_documented(value, documented, f"{path}.")
    return found


def test_every_value_is_described_and_listed_in_the_readme() -> None:
    documented = documented_keys()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(leaf_or_documented(values, set(documented))) == set(documented)
    values_section = (CHART / "README.md").read_text().split("\n## Values\n", 1)[1]
    table = re.findall(r"^\| `([^`]+)` \|", values_section, re.M)
    assert table == documented, "README values table is out of date with values.yaml"


def test_the_pool_follows_the_values_and_is_checked(chart: Chart) -> None:
    assert chart.render().config()["FLEET_POOL"] == "prefork"
    assert chart.render({"worker": {"pool": "threads"}}).config()["FLEET_POOL"] == "threads"
    assert "pool" in chart.render_error({"worker": {"pool": "gevent"}})


def test_workers_get_the_v1_endpoint_or_the_emulators(chart: Chart) -> None:
    assert chart.render().config()["HUME_REALTIME_URL"] == (
        "wss://api.cloud.hume.ai/v1/expression/audio/realtime"
    )
    staged = chart.render({"hume": {"api": "v1"}}, all_on=True).config()
    assert staged["HUME_API"] == "v1"
    assert staged["HUME_REALTIME_URL"].startswith("ws://")
    assert staged["HUME_REALTIME_URL"].endswith("/v1/expression/audio/realtime")
