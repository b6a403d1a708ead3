"""Lifeboat across hosts that share nothing but the network: Redis on one host, a scoring
worker on each of two more, the web on a fourth, each in its own network namespace.

A 1M-row batch is split across both worker hosts (its part records name the host
that scored each part) and comes back correct and in order through the web; a
prediction load is served by both hosts; nothing listens on loopback anywhere, so
nothing could have connected to 127.0.0.1 across hosts.
"""

from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from core.keys import Keys
from ml.data.loading import load_dataset
from ml.registry import Registry
from tests.batches.helpers import FEATURES
from tests.multihost.cluster import (
    HOSTS,
    INFRA,
    REDIS_PORT,
    WEB,
    WORKER_HOSTS,
    Cluster,
    worker_node,
)
from tests.payloads import passengers

pytestmark = [pytest.mark.integration, pytest.mark.multihost]

BATCH_ROWS = 1_000_000
PREDICTION_JOBS = 200  # one-instance prediction jobs of the load
CLIENTS = 8  # threads sending them
BATCH_TIMEOUT = 240.0  # seconds the 1M-row job may take on 2 busy cores


def distinct_passengers() -> tuple[pa.Table, pd.DataFrame]:
    """The reference data's distinct feature rows (as a table to write, and a frame)."""
    ref = load_dataset()[list(FEATURES)].drop_duplicates().reset_index(drop=True)
    return pa.Table.from_pandas(ref, preserve_index=False), ref


def write_batch(path: Path, n: int, distinct: pa.Table, seed: int = 7) -> np.ndarray:
    """``n`` rows drawn from ``distinct`` (``passenger_id`` = row number); which ones."""
    pick = np.random.default_rng(seed).integers(0, distinct.num_rows, n)
    table = distinct.take(pa.array(pick))
    table = table.add_column(0, "passenger_id", pa.array(np.arange(n)))
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="none"))
    return pick


def test_a_1m_row_batch_is_scored_by_both_hosts_in_order_and_served_by_the_web(
    cluster: Cluster, models_dir: Path, tmp_path: Path
) -> None:
    distinct, frame = distinct_passengers()
    upload = tmp_path / "passengers.csv"
    pick = write_batch(upload, BATCH_ROWS, distinct)
    with upload.open("rb") as body:
        resp = cluster.http.post(
            cluster.url("/api/v1/batches"),
            data=body,
            params={"id_column": "passenger_id"},
            headers={"Content-Type": "text/csv"},
            timeout=(10, 300),
        )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    job = wait_finished(cluster, job_id, BATCH_TIMEOUT)
    assert job["status"] == "succeeded", job["error"]
    assert (job["result"]["rows"], job["result"]["failed_rows"]) == (BATCH_ROWS, 0)

    # which host scored which part: the batch's part records say it
    parts = cluster.redis().hgetall(Keys().batch_parts(job_id))
    nodes = {k.decode(): v.decode() for k, v in parts.items() if k.endswith(b":node")}
    assert len(nodes) > 2, parts  # it was split
    assert set(nodes.values()) == {worker_node(h) for h in WORKER_HOSTS}

    scored = tmp_path / "scored.csv"
    with (
        cluster.http.get(
            cluster.url(f"/api/v1/jobs/{job_id}/result"), stream=True, timeout=(10, 300)
        ) as got,
        scored.open("wb") as sink,
    ):
        assert got.status_code == 200, got.text
        for chunk in got.iter_content(1 << 20):
            sink.write(chunk)
    out = pacsv.read_csv(
        str(scored),
        convert_options=pacsv.ConvertOptions(
            include_columns=["passenger_id", "prediction", "proba_died", "proba_survived"]
        ),
    )
    np.testing.assert_array_equal(out["passenger_id"].to_numpy(), np.arange(BATCH_ROWS))
    model = Registry(models_dir).load("test-v1")
    expected = model.pipeline.predict_proba(frame)[pick]
    got_proba = np.column_stack([out["proba_died"].to_numpy(), out["proba_survived"].to_numpy()])
    np.testing.assert_array_equal(got_proba, expected)
    labels = np.array(model.class_labels)[expected.argmax(axis=1)]
    assert out["prediction"].to_pylist() == labels.tolist()

    # no shared disk: the files live in the object store, none on any host
    assert {f"results/{job_id}.csv", f"results/{job_id}.parquet"} <= set(cluster.stored())
    for host in (*WORKER_HOSTS, WEB):
        assert not [f for f in cluster.files(host) if job_id in str(f)], host


def test_each_worker_host_serves_the_model_version_it_fetched_from_the_store(
    cluster: Cluster,
) -> None:
    assert "models/test-v1/model_card.json" in cluster.stored("models/")
    for host in WORKER_HOSTS:
        cards = [f for f in cluster.files(host) if f.name == "model_card.json"]
        assert [c.parent.name for c in cards] == ["test-v1"], host  # in its own cache


def test_a_prediction_load_is_served_by_both_worker_hosts(cluster: Cluster) -> None:
    instances = passengers(PREDICTION_JOBS)

    def predict(instance: dict) -> str:
        resp = cluster.http.post(
            cluster.url("/api/v1/predictions"),
            params={"wait": 10},
            json={"instances": [instance]},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "succeeded"
        return resp.json()["id"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        job_ids = list(pool.map(predict, instances))
    r = cluster.redis()
    keys = Keys()
    nodes = [r.hget(keys.job(job_id), "node") for job_id in job_ids]
    assert None not in nodes
    assert {n.decode() for n in nodes} == {worker_node(h) for h in WORKER_HOSTS}


def test_every_host_listens_on_its_own_address_only(cluster: Cluster) -> None:
    for name in HOSTS:
        host = cluster.host(name)
        listening = host.listening()
        assert listening, f"nothing listens on {name}"
        for address, port in listening:
            assert address == host.address, f"{name} listens on {address}:{port}"


def test_the_worker_and_web_hosts_talk_to_the_infra_host_over_the_network(
    cluster: Cluster,
) -> None:
    infra = cluster.host(INFRA).address
    resp = cluster.http.get(cluster.url("/api/v1/jobs"))  # the web verifies the key in Redis
    assert resp.status_code == 200, resp.text
    for name in (*WORKER_HOSTS, WEB):
        host = cluster.host(name)
        connections = host.connections()
        remotes = {remote for _, remote in connections}
        assert (infra, REDIS_PORT) in remotes, f"{name} has no connection to Redis on infra"
        for local, remote in connections:
            assert local[0] == host.address, f"{name}: {local} -> {remote}"
            assert not ipaddress.ip_address(remote[0]).is_loopback, f"{name}: {remote}"


def wait_finished(cluster: Cluster, job_id: str, timeout: float) -> dict:
    """The job once terminal, long-polled through the web."""
    deadline = time.monotonic() + timeout
    while True:
        job = cluster.http.get(
            cluster.url(f"/api/v1/jobs/{job_id}"), params={"wait": 20}, timeout=40
        ).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
