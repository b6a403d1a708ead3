"""Chunk scoring and file splitting without Redis or Celery (``ml.batch``)."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ml.batch.chunks import ChunkScorer
from ml.batch.parquet import csv_to_parquet, plan_row_groups, score_row_groups
from ml.batch.parts import plan_parts, score_part
from tests.batches.helpers import FEATURES, rows, to_csv, to_parquet


@pytest.fixture(scope="module")
def model(models_dir: Path):  # type: ignore[no-untyped-def]
    from ml.registry import Registry

    return Registry(models_dir).load("test-v1")


def as_text_table(records: list[dict]) -> pa.Table:
    columns = list(records[0])
    return pa.table({c: pa.array([str(r[c]) for r in records], pa.string()) for c in columns})


def test_scored_probabilities_equal_the_pipelines_including_missing_values(model) -> None:  # type: ignore[no-untyped-def]
    records = rows(300)
    for r in records[::5]:
        r["embarked"] = ""
        r["fare"] = "NA"
    scorer = ChunkScorer(model, "passenger", ["note"])
    out = scorer.score(as_text_table(records), np.arange(1, 301)).table
    frame = pd.DataFrame(records)[list(FEATURES)]
    for name in ("age", "fare"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    frame["embarked"] = frame["embarked"].mask(frame["embarked"] == "", np.nan)  # as imputed
    expected = model.pipeline.predict_proba(frame)
    got = np.column_stack([out["proba_died"].to_numpy(), out["proba_survived"].to_numpy()])
    np.testing.assert_array_equal(got, expected)
    assert out["error"].null_count == 300


def test_a_sampling_scorer_keeps_every_nth_good_row_with_its_features_and_scores(model) -> None:  # type: ignore[no-untyped-def]
    records = rows(30)
    records[9]["pclass"] = "9"  # row 10: bad, so not sampled
    records[14]["embarked"] = ""  # row 15: a missing category
    scorer = ChunkScorer(model, "passenger", ["note"], sample_every=5)
    out = scorer.score(as_text_table(records), np.arange(1, 31)).table
    assert [s["row"] for s in scorer.sampled] == [5, 15, 20, 25, 30]
    for sampled in scorer.sampled:
        i = sampled["row"] - 1
        record = records[i]
        assert sampled["features"] == {
            name: (
                None
                if record[name] == ""
                else record[name]
                if name in ("sex", "embarked")
                else float(record[name])
            )
            for name in FEATURES
        }
        assert sampled["prediction"] == out["prediction"][i].as_py()
        assert sampled["probabilities"] == {
            "died": out["proba_died"][i].as_py(),
            "survived": out["proba_survived"][i].as_py(),
        }
    assert scorer.sampled[1]["features"]["embarked"] is None


def test_every_broken_rule_of_a_row_is_named_in_its_error(model) -> None:  # type: ignore[no-untyped-def]
    records = rows(2)
    records[1].update(pclass="2.5", sex="", sibsp="inf", fare="-1")
    out = ChunkScorer(model, None, []).score(as_text_table(records), np.array([1, 2]))
    assert out.failed == 1
    assert out.table["error"].to_pylist() == [
        None,
        "pclass: must be an integer; sex: may not be null; sibsp: must be a finite number; "
        "fare: must be between 0 and 1024.6584",
    ]
    assert out.table["prediction"].to_pylist()[1] is None


def test_parts_are_cut_on_line_boundaries_and_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    body = to_csv(rows(100))
    path.write_bytes(body)
    header = body.index(b"\n") + 1
    parts, lines = plan_parts(path, header, 500)
    assert lines == 100
    assert len(parts) > 5
    assert parts[0].start == header
    assert parts[-1].end == len(body)
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start
        assert body[after.start - 1 : after.start] == b"\n"
        assert after.lines_before == before.lines_before + body[before.start : before.end].count(
            b"\n"
        )


def test_an_unparseable_line_keeps_its_place_and_its_line_number(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = to_csv(rows(30)).splitlines(keepends=True)
    lines.insert(12, b"oops\n")
    path = tmp_path / "in.csv"
    path.write_bytes(b"".join(lines))
    columns = lines[0].decode().strip().split(",")
    scorer = ChunkScorer(model, None, ["passenger", "note"])
    parts, _ = plan_parts(path, len(lines[0]), 300)
    out = io.BytesIO()
    for part in parts:
        sink = io.BytesIO()
        score_part(scorer, path, columns, part, sink, chunk_bytes=1024, max_decoded_bytes=1 << 30)
        out.write(sink.getvalue())
    import csv

    got = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert [r[0] for r in got] == [str(i) for i in range(1, 32)]
    assert got[11][1:3] == ["oops", ""]
    assert got[11][-1] == "the line has 1 field(s), the header 9"
    assert [r[1] for r in got if r[1] != "oops"] == [f"p{i}" for i in range(30)]


def test_parquet_parts_are_runs_of_whole_row_groups_and_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    path.write_bytes(to_parquet(rows(1000), row_group_size=100))
    parts, total = plan_row_groups(path, 8192)
    assert total == 1000
    assert len(parts) > 1
    assert parts[0].start == 0
    assert parts[-1].end == 10
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start
        assert after.lines_before == before.lines_before + 100 * (before.end - before.start)


def test_a_typed_parquet_file_scores_as_the_same_rows_in_a_csv_file(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = rows(300)
    records[4]["embarked"] = None  # a null category is missing, as an empty CSV field
    records[9]["pclass"] = None  # and a null in a required column is flagged
    parquet = tmp_path / "in.parquet"
    parquet.write_bytes(to_parquet(records, row_group_size=70))
    as_csv = tmp_path / "in.csv"
    body = to_csv(records)
    as_csv.write_bytes(body)
    columns = list(records[0])
    scorer = ChunkScorer(model, "passenger", ["note"])
    from_csv, from_parquet = io.BytesIO(), io.BytesIO()
    (csv_part,), _ = plan_parts(as_csv, body.index(b"\n") + 1, 1 << 20)
    score_part(
        scorer, as_csv, columns, csv_part, from_csv, chunk_bytes=2048, max_decoded_bytes=1 << 30
    )
    parts, _ = plan_row_groups(parquet, 4096)
    for part in parts:
        score_row_groups(
            scorer,
            parquet,
            columns,
            part,
            from_parquet,
            chunk_bytes=2048,
            max_decoded_bytes=1 << 30,
        )
    assert from_parquet.getvalue() == from_csv.getvalue()
    assert b"pclass: may not be null" in from_parquet.getvalue()


def test_a_scored_csv_becomes_parquet_with_the_scored_files_types(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = rows(50)
    records[1]["note"] = ""
    records[2]["note"] = "NA"
    records[3]["note"] = "two\nlines"
    records[5]["sex"] = "alien"
    scorer = ChunkScorer(model, None, ["passenger", "note"])
    scored = scorer.score(as_text_table(records), np.arange(1, 51)).table
    csv_path = tmp_path / "scored.csv"
    pacsv.write_csv(scored, csv_path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    target = tmp_path / "scored.parquet"
    csv_to_parquet(csv_path, scorer.schema, target)
    assert pq.read_table(target).equals(scored)
