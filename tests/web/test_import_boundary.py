"""The web process never loads the heavy ML libraries (they belong to the workers)."""

from __future__ import annotations

import subprocess
import sys

from devsupport import ROOT

HEAVY = ("sklearn", "pandas", "numpy", "evidently", "scipy", "pyarrow")


def test_the_web_application_imports_no_ml_library() -> None:
    code = (
        "import sys, web.app\n"
        "web.app.create_app()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == ""
