"""deploy/kubernetes rendered by ``kubectl kustomize`` and validated offline.

Core kinds against the Kubernetes OpenAPI schemas ``kubernetes-validate`` ships
(strict: an unknown field is an error); KEDA's kinds against the schemas in
deploy/kubernetes/schemas. Then the properties the platform relies on.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from core.defaults import DEFAULT_WORKER_GRACE
from core.queue import QUEUES

from .manifests import (
    BASE,
    KEDA_SCHEMAS,
    OVERLAY,
    ROOT,
    command_option,
    config_map_env,
    containers,
    keda_schema,
    of_kind,
    pod_specs,
    render,
)

KUBERNETES_VERSION = "1.30.0"  # the oldest minor the manifests are meant for
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|AUTH|REDIS_URL|BROKER_URL", re.IGNORECASE)
WORKERS = ("lifeboat-worker", "lifeboat-reports-worker")
COMPOSE_SERVICE = {"lifeboat-worker": "worker", "lifeboat-reports-worker": "reports-worker"}


@pytest.fixture(scope="module", params=["base", "overlay"])
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(BASE if request.param == "base" else OVERLAY)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return render(OVERLAY)


def core_kind(doc: dict[str, Any]) -> bool:
    return doc["kind"] not in KEDA_SCHEMAS


def test_every_core_kind_is_valid_kubernetes(docs):
    checked = [d for d in docs if core_kind(d)]
    assert {d["kind"] for d in checked} >= {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    for doc in checked:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_keda_kind_is_valid_against_its_schema(docs):
    keda = [d for d in docs if not core_kind(d)]
    assert sorted(d["kind"] for d in keda) == [
        "ScaledObject",
        "ScaledObject",
        "TriggerAuthentication",
    ]
    for doc in keda:
        jsonschema.validate(doc, keda_schema(doc["kind"]))


def test_the_validators_catch_a_misspelt_field(overlay):
    deployment = copy.deepcopy(of_kind(overlay, "Deployment")["lifeboat-web"])
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(of_kind(overlay, "ScaledObject")["lifeboat-worker"])
    scaled["spec"]["triggers"][0]["metadata"]["listLenght"] = "5"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, keda_schema("ScaledObject"))


def test_every_container_runs_as_non_root_on_a_read_only_root(docs):
    for name, container, pod in containers(docs):
        context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
        assert context.get("runAsNonRoot") is True, name
        assert context.get("runAsUser", 0) != 0, name
        assert context.get("readOnlyRootFilesystem") is True, name
        assert context.get("allowPrivilegeEscalation") is False, name
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name


def test_every_container_has_cpu_and_memory_requests_and_limits(docs):
    for name, container, _ in containers(docs):
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, name


def test_writable_paths_are_on_empty_dirs_and_no_volume_is_shared(docs):
    for name, container, pod in containers(docs):
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert all(set(v) == {"name", "emptyDir"} for v in volumes.values()), name
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        env = config_map_env(docs, container)
        for setting in ("LIFEBOAT_METRICS_DIR", "LIFEBOAT_STORAGE_ROOT"):
            if setting in env:
                assert any(env[setting].startswith(m + "/") for m in mounts), (name, setting)


def test_the_app_stores_files_in_an_object_store(docs):
    [config] = of_kind(docs, "ConfigMap").values()
    assert config["data"]["LIFEBOAT_STORAGE_URL"].startswith("s3://")


def test_no_secret_value_is_inlined(docs):
    assert not of_kind(docs, "Secret"), "Secrets are created by hand, never rendered"
    for name, container, _ in containers(docs):
        for var in container.get("env", []):
            if SECRET_NAME.search(var["name"]):
                assert set(var) == {"name", "valueFrom"}, (name, var["name"])
                assert set(var["valueFrom"]) == {"secretKeyRef"}, (name, var["name"])
        sources = [next(iter(s)) for s in container.get("envFrom", [])]
        assert set(sources) <= {"configMapRef", "secretRef"}, name
    for config in of_kind(docs, "ConfigMap").values():
        assert not [k for k in config["data"] if SECRET_NAME.search(k)]


def test_beat_runs_exactly_once_and_is_replaced_not_rolled(docs):
    beat = of_kind(docs, "Deployment")["lifeboat-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(docs, "ScaledObject").values()}
    scaled |= {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(docs, "HorizontalPodAutoscaler").values()
    }
    assert "lifeboat-beat" not in scaled


def test_the_web_is_probed_on_health_and_ready(docs):
    [web] = of_kind(docs, "Deployment")["lifeboat-web"]["spec"]["template"]["spec"]["containers"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/health"
    assert web["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert web["startupProbe"]["httpGet"]["path"] == "/health"


def test_every_long_running_container_has_a_liveness_probe(docs):
    for name, container, _ in containers(docs):
        assert "livenessProbe" in container, name


def test_the_web_scales_on_cpu(docs):
    hpa = of_kind(docs, "HorizontalPodAutoscaler")["lifeboat-web"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "lifeboat-web"
    [metric] = hpa["spec"]["metrics"]
    assert (metric["resource"]["name"], metric["resource"]["target"]["type"]) == (
        "cpu",
        "Utilization",
    )


def test_each_worker_is_scaled_by_keda_on_exactly_the_queues_it_consumes(docs):
    deployments = of_kind(docs, "Deployment")
    scaled = of_kind(docs, "ScaledObject")
    for name in WORKERS:
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        consumed = set(command_option(container, "-Q").split(","))
        assert consumed <= set(QUEUES)
        target = scaled[name]["spec"]
        assert target["scaleTargetRef"]["name"] == name
        triggers = target["triggers"]
        assert {t["type"] for t in triggers} == {"redis"}
        assert {t["metadata"]["listName"] for t in triggers} == consumed
        assert {t["authenticationRef"]["name"] for t in triggers} <= set(
            of_kind(docs, "TriggerAuthentication")
        )


def test_the_reports_worker_may_scale_to_zero_and_scoring_never_does(docs):
    scaled = of_kind(docs, "ScaledObject")
    assert scaled["lifeboat-reports-worker"]["spec"]["minReplicaCount"] == 0
    assert scaled["lifeboat-worker"]["spec"]["minReplicaCount"] >= 1


def test_the_workers_grace_period_is_the_workers_grace_setting(docs):
    for name in WORKERS:
        pod = dict(pod_specs(docs))[name]
        [container] = pod["containers"]
        grace = int(config_map_env(docs, container)["LIFEBOAT_WORKER_GRACE_SECONDS"])
        assert grace == DEFAULT_WORKER_GRACE
        assert pod["terminationGracePeriodSeconds"] == grace, name


def test_the_scoring_worker_runs_as_many_processes_as_its_cpu_limit(docs):
    [container] = of_kind(docs, "Deployment")["lifeboat-worker"]["spec"]["template"]["spec"][
        "containers"
    ]
    concurrency = config_map_env(docs, container)["LIFEBOAT_WORKER_CONCURRENCY"]
    assert concurrency == container["resources"]["limits"]["cpu"]


def test_disruption_budgets_cover_the_web_and_the_workers(docs):
    budgets = of_kind(docs, "PodDisruptionBudget")
    deployments = of_kind(docs, "Deployment")
    covered = set()
    for budget in budgets.values():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [
            name
            for name, d in deployments.items()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, budget["metadata"]["name"]
        covered.update(matched)
    assert covered == {"lifeboat-web", *WORKERS}


def test_the_overlay_puts_everything_in_its_namespace_with_its_image(overlay):
    assert {d["metadata"].get("namespace") for d in overlay} == {"lifeboat"}
    images = {c["image"] for _, c, _ in containers(overlay)}
    assert "registry.example.com/lifeboat:0.1.0" in images
    assert not [i for i in images if i.split(":")[0] == "lifeboat"]
    assert all(":" in i and not i.endswith(":latest") for i in images)


def test_each_worker_consumes_what_its_compose_service_consumes(docs):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    deployments = of_kind(docs, "Deployment")
    for name, service in COMPOSE_SERVICE.items():
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        expected = compose["services"][service]["command"]
        for option in ("-Q", "--concurrency="):
            assert command_option(container, option) == command_option(
                {"command": expected}, option
            ), (name, option)


def test_autoscaled_deployments_leave_their_replica_count_to_the_autoscaler(docs):
    # a replica count in the manifest would reset the autoscaler's at every apply
    deployments = of_kind(docs, "Deployment")
    targets = [
        scaler["spec"]["scaleTargetRef"]["name"]
        for kind in ("HorizontalPodAutoscaler", "ScaledObject")
        for scaler in of_kind(docs, kind).values()
    ]
    assert sorted(targets) == sorted(["lifeboat-web", *WORKERS])
    for name in targets:
        assert "replicas" not in deployments[name]["spec"], name
