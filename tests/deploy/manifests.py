"""Rendering deploy/kubernetes with ``kubectl kustomize`` and reading what it rendered.

kubectl comes with Debian's ``kubernetes-client`` package (kubectl 1.20, kustomize
v2.0.3: the manifests are written for it and for today's kustomize alike). Without
kubectl these tests are skipped locally and fail in CI (CI=true), where .ci/run
installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES_DIR / "base"
OVERLAY = KUBERNETES_DIR / "overlays" / "example"
SCHEMAS = KUBERNETES_DIR / "schemas"
KUSTOMIZE_TIMEOUT = 60  # seconds; rendering takes well under one
KEDA_SCHEMAS = {
    "ScaledObject": SCHEMAS / "keda-scaledobject.schema.json",
    "TriggerAuthentication": SCHEMAS / "keda-triggerauthentication.schema.json",
}
POD_OWNERS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: install Debian's kubernetes-client package")
        pytest.skip("kubectl is not installed (apt-get install kubernetes-client)")
    return path


def render(directory: Path) -> list[dict[str, Any]]:
    """The documents ``kubectl kustomize directory`` renders (its warnings ignored)."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=KUSTOMIZE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def keda_schema(kind: str) -> dict[str, Any]:
    return json.loads(KEDA_SCHEMAS[kind].read_text(encoding="utf-8"))


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The documents of ``kind``, by name."""
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner name, pod spec) of every pod template."""
    for doc in docs:
        if doc["kind"] in POD_OWNERS:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(``owner/container``, container, its pod spec) of every container, init ones too."""
    for owner, spec in pod_specs(docs):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{owner}/{container['name']}", container, spec


def config_map_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets from its ConfigMaps and literal values."""
    maps = of_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def command_option(container: dict[str, Any], option: str) -> str | None:
    """The value of ``option`` (``-Q``, ``--concurrency=``…) on a container's command line."""
    words = container.get("command", []) + container.get("args", [])
    for i, word in enumerate(words):
        if word == option and i + 1 < len(words):
            return words[i + 1]
        if option.endswith("=") and word.startswith(option):
            return word[len(option) :]
    return None
