"""Installed model versions under one directory: listing, cards, verified loading.

Standard library only at import time (the web process lists versions and reads
cards); the scoring code is imported inside :meth:`Registry.load`. A version
with a lean artifact loads with numpy alone; skops and scikit-learn are imported
only to load a pipeline (:meth:`Registry.load_pipeline`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.errors import ArtifactIntegrityError, ModelNotFound
from ml.schema import FeatureSchema

if TYPE_CHECKING:
    from ml.model import Model

log = logging.getLogger(__name__)

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CARD_FILE = "model_card.json"
MODEL_FILE = "model.skops"
LEAN_FILE = "lean.npz"  # the compiled lean scorer (numpy data), absent in older versions
REFERENCE_FILE = "reference.csv"
DEFAULT_FILE = "DEFAULT"  # text file naming the default version
ARTIFACT_FILES = (MODEL_FILE, LEAN_FILE, REFERENCE_FILE)  # the files a card may record
HASH_CHUNK_BYTES = 1 << 20  # bytes read at a time when hashing a file
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.")  # modules whose types skops may rebuild


def check_version(version: str) -> str:
    """Return ``version`` if it is a well-formed version name, else raise ModelNotFound."""
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise ModelNotFound(f"invalid model version {version!r}")
    return version


def bytes_sha256(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def is_trusted_type(name: str) -> bool:
    """Whether skops may rebuild ``name``: a class defined in scikit-learn or numpy.

    The name is resolved and its real module checked, so a function, or a foreign
    class merely imported into a scikit-learn module, is not trusted.
    """
    module_name, _, attribute = name.rpartition(".")
    if not module_name.startswith(TRUSTED_TYPE_PREFIXES) and module_name != "numpy":
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    module = getattr(obj, "__module__", None) or ""
    return isinstance(obj, type) and (module == "numpy" or module.startswith(TRUSTED_TYPE_PREFIXES))


class Registry:
    """The model versions installed as ``<root>/<version>/`` folders."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def refresh(self) -> None:
        """Look again for versions installed since the last look (a folder is read afresh on
        every call already; a registry filled from elsewhere fetches new ones here)."""

    def versions(self) -> list[str]:
        """Installed versions (folders holding a model card), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if VERSION_PATTERN.fullmatch(entry.name) and (entry / CARD_FILE).is_file()
        )

    def default_version(self) -> str:
        """The version named by the DEFAULT file if installed, else the newest one."""
        installed = self.versions()
        if not installed:
            raise ModelNotFound(f"no model installed in {str(self.root)!r}")
        default_file = self.root / DEFAULT_FILE
        if default_file.is_file():
            named = default_file.read_text(encoding="utf-8").strip()
            if named in installed:
                return named
            log.warning("DEFAULT names %r, which is not installed; using the newest", named)
        return max(installed, key=lambda v: (str(self.card(v).get("created_at", "")), v))

    def resolve(self, version: str | None) -> str:
        """``version`` if installed (the default version when ``None``), else ModelNotFound."""
        if version is None:
            return self.default_version()
        check_version(version)
        if not (self.root / version / CARD_FILE).is_file():
            raise ModelNotFound(f"model version {version!r} is not installed")
        return version

    def path(self, version: str | None) -> Path:
        """The folder of an installed version."""
        return self.root / self.resolve(version)

    def card(self, version: str | None) -> dict[str, Any]:
        """The model card of an installed version."""
        card_path = self.path(version) / CARD_FILE
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactIntegrityError(
                f"unreadable model card {str(card_path)!r}: {exc}"
            ) from exc
        if not isinstance(card, dict):
            raise ArtifactIntegrityError(f"model card {str(card_path)!r} is not a JSON object")
        return card

    def schema(self, version: str | None) -> FeatureSchema:
        """The feature schema recorded in a version's card."""
        return FeatureSchema.from_dict(self.card(version)["feature_schema"])

    def read_verified(self, version: str | None, filename: str) -> bytes:
        """The bytes of an artifact whose sha256 matches the card, else ArtifactIntegrityError."""
        resolved = self.resolve(version)
        expected = self.card(resolved).get("artifacts", {}).get(filename)
        file_path = self.root / resolved / filename
        if not expected:
            raise ArtifactIntegrityError(f"{filename} has no recorded sha256 in the model card")
        try:
            data = file_path.read_bytes()
        except OSError as exc:
            raise ArtifactIntegrityError(f"missing artifact {str(file_path)!r}: {exc}") from exc
        if bytes_sha256(data) != expected:
            raise ArtifactIntegrityError(
                f"artifact {str(file_path)!r} does not match its recorded sha256"
            )
        return data

    def reference_path(self, version: str | None) -> Path:
        """Path of a version's reference data, after checking its sha256."""
        self.read_verified(version, REFERENCE_FILE)
        return self.path(version) / REFERENCE_FILE

    def load(self, version: str | None) -> Model:
        """Load a version, verifying its artifacts before deserializing anything.

        From its lean artifact when the card records one (numpy only; the pipeline
        is loaded on first use, but its file is checked now, so a damaged version
        is refused as a whole), else from the skops pipeline.
        """
        from ml.model import Model

        resolved = self.resolve(version)
        card = self.card(resolved)
        if LEAN_FILE in card.get("artifacts", {}):
            from ml.lean.artifact import loads

            self.read_verified(resolved, MODEL_FILE)
            lean = loads(self.read_verified(resolved, LEAN_FILE))
            model = Model(
                resolved, card, lean=lean, pipeline_loader=lambda: self.load_pipeline(resolved)
            )
            how = "lean artifact"
        else:
            model = Model(resolved, card, self.load_pipeline(resolved))
            how = "scikit-learn pipeline"
        log.info("loaded model %s (%s) from its %s", resolved, card.get("estimator"), how)
        return model

    def load_pipeline(self, version: str | None) -> Any:
        """The fitted scikit-learn pipeline of a version, its skops file verified first."""
        resolved = self.resolve(version)
        return loads_trusted(
            self.read_verified(resolved, MODEL_FILE), f"{MODEL_FILE} of {resolved}"
        )


def loads_trusted(data: bytes, what: str) -> Any:
    """The object a skops file holds, rebuilt only if every type in it is trusted.

    Refuses (ArtifactIntegrityError) a file that is not a skops archive (a pickle, say)
    and one naming any type :func:`is_trusted_type` rejects; never ``trusted=True``.
    """
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises zip, JSON and key errors alike
        raise ArtifactIntegrityError(f"{what} is not a readable skops file: {exc!r}") from exc
    refused = sorted(name for name in untrusted if not is_trusted_type(name))
    if refused:
        raise ArtifactIntegrityError(f"{what} holds untrusted types: {refused}")
    try:
        return skops.io.loads(data, trusted=untrusted)
    except Exception as exc:  # a malformed archive fails anywhere in skops
        raise ArtifactIntegrityError(f"{what} cannot be loaded: {exc!r}") from exc


def read_folder_card(folder: Path) -> dict[str, Any]:
    """The model card of a version folder whose recorded artifacts all match their sha256.

    Standard library only (a process checks a downloaded copy with it). Refuses
    (ArtifactIntegrityError) an unreadable card, a malformed version name, a card
    recording no sha256 for the model or the reference data, a recorded artifact that
    is missing or differs from its sha256, and a file the card does not record.
    """
    card_path = folder / CARD_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactIntegrityError(f"unreadable model card {str(card_path)!r}: {exc}") from exc
    if not isinstance(card, dict) or not isinstance(card.get("artifacts"), dict):
        raise ArtifactIntegrityError(f"model card {str(card_path)!r} records no artifacts")
    version = card.get("version")
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise ArtifactIntegrityError(f"model card names an invalid version {version!r}")
    artifacts: dict[str, Any] = card["artifacts"]
    for required in (MODEL_FILE, REFERENCE_FILE):
        if required not in artifacts:
            raise ArtifactIntegrityError(f"the model card records no sha256 of {required}")
    unknown = set(artifacts) - set(ARTIFACT_FILES)
    if unknown:
        raise ArtifactIntegrityError(f"the model card records unknown artifacts {sorted(unknown)}")
    for name, expected in sorted(artifacts.items()):
        try:
            actual = file_sha256(folder / name)
        except OSError as exc:
            raise ArtifactIntegrityError(f"missing artifact {name} in {str(folder)!r}") from exc
        if actual != expected:
            raise ArtifactIntegrityError(f"{name} does not match its sha256 in the model card")
    extra = {p.name for p in folder.iterdir()} - {CARD_FILE, *artifacts}
    if extra:
        raise ArtifactIntegrityError(f"files the model card does not record: {sorted(extra)}")
    return card


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
