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


def test_scoring_with_a_lean_artifact_imports_no_sklearn_scipy_or_pandas(
    trained_root: Path, tmp_path: Path
) -> None:
    """What a scoring worker process does: load the default version, score rows and a file."""
    upload = tmp_path / "upload.csv"
    upload.write_text(
        "pclass,sex,age,sibsp,parch,fare,embarked\n1,female,29,0,0,211.3,S\n3,male,,0,0,7.9,\n"
    )
    code = f"""
import io, sys
from ml.batch.chunks import ChunkScorer
from ml.batch.parts import plan_parts, score_part
from ml.registry import Registry

model = Registry({str(trained_root)!r}).load(None)
row = dict(pclass=1, sex="female", age=29.0, sibsp=0, parch=0, fare=211.3, embarked="S")
assert model.predict_rows([row])[0]["prediction"] == "survived"
columns = list(row)
parts, _ = plan_parts({str(upload)!r}, len(",".join(columns)) + 1, 1 << 20)
sink = io.BytesIO()
summary = score_part(ChunkScorer(model, None, []), {str(upload)!r}, columns, parts[0], sink,
                     chunk_bytes=1 << 16, max_decoded_bytes=1 << 30)
assert summary.rows == 2 and summary.failed == 0, (summary, sink.getvalue())
heavy = sorted(m for m in ("sklearn", "scipy", "pandas", "skops") if m in sys.modules)
assert not heavy, heavy
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
