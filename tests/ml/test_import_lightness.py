"""The modules the web process imports stay free of numpy, pandas and sklearn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_web_side_modules_do_not_import_heavy_libraries() -> None:
    code = (
        "import ml.schema, ml.registry, ml.errors; import sys; "
        "assert 'sklearn' not in sys.modules and 'pandas' not in sys.modules "
        "and 'numpy' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
