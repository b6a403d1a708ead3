"""Model versions in a store: listing, publishing and downloading them, sha256 checked.

A version is the objects ``<prefix><version>/<file>`` (the files its model card
records, then ``model_card.json`` itself, written last so that a listing, which
looks for cards, never sees half a version); ``<prefix>DEFAULT`` names the default.
Publishing takes a folder already checked by ``ml.verification``; downloading
writes a version into a local folder through a temporary one renamed at the end,
after checking every file against the card's sha256.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from core.errors import ModelVersionConflict
from core.storage import Storage
from ml.errors import ArtifactIntegrityError
from ml.registry import (
    ARTIFACT_FILES,
    CARD_FILE,
    DEFAULT_FILE,
    VERSION_PATTERN,
    check_version,
    read_folder_card,
)


class ModelStore:
    """Model versions under ``prefix`` in an object store."""

    def __init__(self, storage: Storage, prefix: str = "") -> None:
        self.storage = storage
        self.prefix = prefix

    def __repr__(self) -> str:
        where = getattr(self.storage, "url", None) or getattr(self.storage, "root", "")
        return f"{self.storage.name} store {str(where)!r}, prefix {self.prefix!r}"

    def versions(self) -> list[str]:
        """Versions whose model card is in the store, sorted."""
        found = set()
        for entry in self.storage.list(self.prefix):
            key = entry.key
            version, _, name = key.removeprefix(self.prefix).partition("/")
            if name == CARD_FILE and VERSION_PATTERN.fullmatch(version):
                found.add(version)
        return sorted(found)

    def default(self) -> str | None:
        """The version ``DEFAULT`` names, if the store holds one."""
        try:
            named = self.storage.read_bytes(self.prefix + DEFAULT_FILE).decode("utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return named if VERSION_PATTERN.fullmatch(named) else None

    def card_bytes(self, version: str) -> bytes:
        return self.storage.read_bytes(f"{self.prefix}{check_version(version)}/{CARD_FILE}")

    def publish(self, folder: Path, *, default: bool = False) -> bool:
        """Upload a checked version folder; False if the store already holds it, identical.

        ModelVersionConflict if it holds the version with another card.
        """
        card = read_folder_card(folder)
        version = card["version"]
        card_bytes = (folder / CARD_FILE).read_bytes()
        new = version not in self.versions()
        if not new and json.loads(self.card_bytes(version)) != card:
            raise ModelVersionConflict(f"the store already holds another model version {version!r}")
        if new:
            for name in sorted(card["artifacts"]):
                self.storage.write_bytes(
                    f"{self.prefix}{version}/{name}", (folder / name).read_bytes()
                )
            self.storage.write_bytes(f"{self.prefix}{version}/{CARD_FILE}", card_bytes)
        if default:
            self.storage.write_bytes(self.prefix + DEFAULT_FILE, f"{version}\n".encode())
        return new

    def download(self, version: str, cache: Path) -> Path:
        """``cache/<version>/``, downloaded and checked if absent (ArtifactIntegrityError if a
        file differs from its sha256 in the card; nothing is left behind then)."""
        final = cache / check_version(version)
        if final.is_dir():
            return final
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=cache))
        try:
            card_bytes = self.card_bytes(version)
            (staging / CARD_FILE).write_bytes(card_bytes)
            artifacts = json.loads(card_bytes).get("artifacts")
            if not isinstance(artifacts, dict):
                raise ArtifactIntegrityError(f"the model card of {version} records no artifacts")
            for name in artifacts:
                if name not in ARTIFACT_FILES:  # a known file name: never a path out of the folder
                    raise ArtifactIntegrityError(f"the model card of {version} records {name!r}")
                data = self.storage.read_bytes(f"{self.prefix}{version}/{name}")
                (staging / name).write_bytes(data)
            card = read_folder_card(staging)
            if card["version"] != version:
                raise ArtifactIntegrityError(
                    f"the model card under {version} names {card['version']}"
                )
            staging.chmod(0o755)
            try:
                os.rename(staging, final)
            except OSError:
                if not final.is_dir():  # not another process's copy of the same version
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def download_default(self, cache: Path) -> None:
        """Copy the store's ``DEFAULT`` into the cache (left as it is when the store has none)."""
        named = self.default()
        if named is None:
            return
        handle, temporary = tempfile.mkstemp(prefix=".tmp-default-", dir=cache)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(named + "\n")
        try:
            os.chmod(temporary, 0o644)
            os.replace(temporary, cache / DEFAULT_FILE)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
