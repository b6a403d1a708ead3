"""``python -m core.model_store``: register a model version built elsewhere, list the store.

``register FOLDER [--default]`` checks the folder (``model.skops``, ``lean.npz``,
``model_card.json``, ``reference.csv``) with ``ml.verification`` (every sha256,
scikit-learn and numpy types only, the lean scorer against the pipeline on the
reference data), then publishes it to the model store: ``LIFEBOAT_STORAGE_URL``'s
``models/`` when set, else ``LIFEBOAT_MODELS_DIR``. Every web and worker process
serves it from then on, without a restart. ``verify FOLDER`` checks only.

Exit status: 0 done, 2 refused (a check failed, or the store holds another version of
that name), 1 the store could not be written or read.

This command loads scikit-learn to check the estimator: no web or worker process
imports this module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core import stores
from core.errors import ModelVersionConflict
from core.settings import get_settings
from ml.errors import VersionRefused
from ml.verification import VerifiedVersion, verify_version

REFUSED = 2  # exit status of a version that failed a check
UNREACHABLE = 1  # exit status when the store cannot be read or written

log = logging.getLogger("core.model_store")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m core.model_store", description=__doc__.splitlines()[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    register = sub.add_parser("register", help="check a version folder and publish it")
    register.add_argument("folder", type=Path)
    register.add_argument("--default", action="store_true", help="make it the store's DEFAULT")
    verify = sub.add_parser("verify", help="check a version folder, publish nothing")
    verify.add_argument("folder", type=Path)
    sub.add_parser("list", help="the versions in the store")
    return p


def describe(checked: VerifiedVersion) -> str:
    scorer = "lean scorer" if checked.lean else "no lean.npz: scored with scikit-learn"
    return f"{checked.version} ({scorer}, largest difference {checked.max_difference:.3g})"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    store = stores.model_store(get_settings())
    try:
        if args.command == "list":
            print("\n".join(store.versions()))
            return 0
        checked = verify_version(args.folder)
        if args.command == "verify":
            print(f"verified {describe(checked)}")
            return 0
        new = store.publish(args.folder, default=args.default)
    except (VersionRefused, ModelVersionConflict) as exc:
        print(f"refused {args.folder}: {exc}", file=sys.stderr)
        return REFUSED
    except Exception as exc:  # noqa: BLE001 - any failure of the store: network, credentials
        print(f"model store ({store!r}) unusable: {exc!r}", file=sys.stderr)
        return UNREACHABLE
    what = "registered" if new else "already registered, identical:"
    print(f"{what} {describe(checked)} in the {store!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
