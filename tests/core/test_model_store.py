"""The model store and a process's cache of it: publish, download (sha256 checked), new
versions found without a restart, damaged ones never served."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from core.errors import ModelVersionConflict
from core.model_store import CachedRegistry, ModelStore
from core.storage import Entry, LocalStorage
from ml.errors import ArtifactIntegrityError, ModelNotFound

V1 = "test-v1"


def renamed(models_dir: Path, tmp_path: Path, version: str) -> Path:
    """A copy of the session's version folder whose card names ``version``."""
    folder = tmp_path / "built" / version
    shutil.copytree(models_dir / V1, folder)
    card = json.loads((folder / "model_card.json").read_text())
    (folder / "model_card.json").write_text(json.dumps({**card, "version": version}))
    return folder


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(LocalStorage(tmp_path / "bucket"), "models/")


def test_a_published_version_is_listed_and_downloads_identical(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    assert store.publish(models_dir / V1)
    assert store.versions() == [V1]
    assert (tmp_path / "bucket" / "models" / V1 / "model_card.json").is_file()
    copy = store.download(V1, tmp_path / "cache")
    for path in (models_dir / V1).iterdir():
        assert (copy / path.name).read_bytes() == path.read_bytes()


def test_publishing_the_same_version_again_changes_nothing(
    store: ModelStore, models_dir: Path
) -> None:
    assert store.publish(models_dir / V1)
    assert not store.publish(models_dir / V1)


def test_another_version_under_a_published_name_is_refused(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    other = renamed(models_dir, tmp_path, V1)
    card = json.loads((other / "model_card.json").read_text())
    (other / "model_card.json").write_text(json.dumps({**card, "seed": 7}))
    with pytest.raises(ModelVersionConflict, match="already holds another model version 'test-v1'"):
        store.publish(other)


def test_a_version_damaged_in_the_store_is_not_downloaded(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    stored = tmp_path / "bucket" / "models" / V1 / "model.skops"
    stored.write_bytes(stored.read_bytes() + b"\0")
    with pytest.raises(ArtifactIntegrityError, match=r"model\.skops does not match its sha256"):
        store.download(V1, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # no version, no temporary folder


def test_the_cache_serves_a_version_published_after_it_started(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1, default=True)
    registry = CachedRegistry([store], tmp_path / "cache", refresh=3600, miss_relist=0)
    assert registry.versions() == [V1]
    assert registry.default_version() == V1
    store.publish(renamed(models_dir, tmp_path, "test-v2"))
    assert registry.versions() == [V1]  # not listed again before `refresh` has passed
    assert registry.resolve("test-v2") == "test-v2"  # asked for: listed at once
    assert registry.load("test-v2").version == "test-v2"
    assert registry.versions() == [V1, "test-v2"]


def test_an_unknown_version_asked_for_again_at_once_does_not_list_the_store_again(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    registry = CachedRegistry([store], tmp_path / "cache", refresh=3600, miss_relist=3600)
    registry.versions()
    store.publish(renamed(models_dir, tmp_path, "test-v2"))
    with pytest.raises(ModelNotFound):
        registry.resolve("test-v2")


def test_a_version_damaged_in_the_store_is_never_served(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    store.publish(renamed(models_dir, tmp_path, "test-v2"))
    stored = tmp_path / "bucket" / "models" / "test-v2" / "lean.npz"
    stored.write_bytes(b"forged")
    registry = CachedRegistry([store], tmp_path / "cache", refresh=3600, miss_relist=0)
    assert registry.versions() == [V1]
    with pytest.raises(ModelNotFound, match="'test-v2' is not installed"):
        registry.resolve("test-v2")


class Unreachable(LocalStorage):
    """A store that cannot be reached (as an object store during an outage)."""

    def list(self, prefix: str) -> Iterator[Entry]:
        raise ConnectionError("connection refused")

    def open(self, key: str) -> BinaryIO:
        raise ConnectionError("connection refused")


def test_an_unreachable_store_leaves_the_cache_serving(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    CachedRegistry([store], tmp_path / "cache", refresh=0).versions()
    offline = CachedRegistry(
        [ModelStore(Unreachable(tmp_path / "bucket"), "models/")], tmp_path / "cache", refresh=0
    )
    assert offline.versions() == [V1]
    assert offline.load(V1).version == V1
    with pytest.raises(ModelNotFound):
        offline.resolve("test-v2")


def test_the_first_store_holding_a_version_wins_and_later_ones_add_theirs(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    local = ModelStore(LocalStorage(tmp_path / "models"))
    local.publish(models_dir / V1, default=True)
    local.publish(renamed(models_dir, tmp_path, "test-local"))
    shared = renamed(models_dir, tmp_path / "shared", V1)
    card = json.loads((shared / "model_card.json").read_text())
    (shared / "model_card.json").write_text(json.dumps({**card, "seed": 7}))
    store.publish(shared, default=True)
    registry = CachedRegistry([store, local], tmp_path / "cache", refresh=3600)
    assert registry.versions() == ["test-local", V1]
    assert registry.card(V1)["seed"] == 7  # the shared store's, not the folder's


class Stalled(LocalStorage):
    """A store whose listing hangs until released (as an object store that stopped answering)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = threading.Event()
        self.release = threading.Event()

    def list(self, prefix: str) -> Iterator[Entry]:
        self.entered.set()
        self.release.wait(60)
        return super().list(prefix)


def test_a_stalled_store_holds_up_the_caller_listing_it_not_the_others(
    store: ModelStore, models_dir: Path, tmp_path: Path
) -> None:
    store.publish(models_dir / V1)
    CachedRegistry([store], tmp_path / "cache", refresh=0).versions()
    stalled = Stalled(tmp_path / "bucket")
    registry = CachedRegistry([ModelStore(stalled, "models/")], tmp_path / "cache", refresh=0)
    lister = threading.Thread(target=registry.sync)
    lister.start()
    assert stalled.entered.wait(30)
    assert registry.versions() == [V1]  # served from the cache while the store is listed
    assert lister.is_alive()  # so it did not wait for the listing to end
    stalled.release.set()
    lister.join(30)
