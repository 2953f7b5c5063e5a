"""Batch scoring (affectlens.batch): formats, bad rows, ordering, workers, checkpoints and resume.

Most tests inject a tiny fake engine (affectlens.batch.testing.FakeEngine); the ones at the end run the real
engine in lexicon mode through the CLI.
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from affectlens.batch import BatchOptions, ordered_map, score_file
from affectlens.batch.formatting import FLAT_COLUMNS
from affectlens.batch.readers import CsvReader, JsonlReader
from affectlens.batch.testing import FakeEngine, fake_engine_factory
from affectlens.batch.types import Position, ReadOptions
from affectlens.errors import AffectlensError, ConfigError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


# -- helpers -----------------------------------------------------------------------------------------
def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": f"text number {i} is {'good' if i % 2 else 'bad'}", "group": i % 3}
            for i in range(start, start + n)]  # fmt: skip


def write_jsonl(path: Path, items: list[Any]) -> Path:
    with open(path, "wb") as f:
        for item in items:
            f.write(item if isinstance(item, bytes) else json.dumps(item).encode() + b"\n")
    return path


def write_csv(path: Path, items: list[dict[str, Any]], fields: tuple[str, ...] = ("id", "text", "group")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(items)
    return path


def write_parquet(path: Path, items: list[dict[str, Any]], row_group_size: int = 64) -> Path:
    pq.write_table(pa.Table.from_pylist(items), path, row_group_size=row_group_size)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return pq.read_table(path).to_pylist()


def read_errors(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


OPTS = BatchOptions(progress=False, chunk_size=16)


# -- formats -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("out_fmt", ["jsonl", "csv", "parquet"])
def test_every_input_format_to_every_output_format(tmp_path: Path, in_fmt: str, out_fmt: str) -> None:
    items = rows(100)
    src = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}[in_fmt](tmp_path / f"in.{in_fmt}", items)
    out = tmp_path / f"out.{out_fmt}"
    summary = score_file(src, out, options=BatchOptions(progress=False, chunk_size=16, keep=("group",)),
                         engine=FakeEngine())  # fmt: skip
    assert (summary.rows, summary.ok, summary.failed, summary.exit_code) == (100, 100, 0, 0)
    got = read_output(out)
    assert [g["id"] for g in got] == [r["id"] for r in items]  # the input order, every id once
    expected = [p.to_dict() for p in FakeEngine().score_batch([r["text"] for r in items])]
    for g, e, r in zip(got, expected, items, strict=True):
        assert g["label"] == e["label"]
        if out_fmt == "jsonl":
            assert g["scores"] == e["scores"] and g["emotions"] == e["emotions"]
            assert g["group"] == (str(r["group"]) if in_fmt == "csv" else r["group"])
        else:
            assert float(g["score_positive"]) == pytest.approx(e["scores"]["positive"])
            assert float(g["emotion_joy"]) == pytest.approx(e["emotions"]["joy"])
            assert str(g["group"]) == str(r["group"])
    assert not list(tmp_path.glob("out.*.partial")) and not (tmp_path / f"out.{out_fmt}.checkpoint.json").exists()
    assert not (tmp_path / f"out.{out_fmt}.errors.jsonl").exists()


def test_flat_schema_types_and_parquet_input_types_are_kept(tmp_path: Path) -> None:
    items = [{"id": i, "text": f"t {i}", "score": i / 2} for i in range(10)]
    src = write_parquet(tmp_path / "in.parquet", items)
    out = tmp_path / "out.parquet"
    score_file(src, out, options=BatchOptions(progress=False, keep=("score",)), engine=FakeEngine())
    table = pq.read_table(out)
    assert table.column_names == ["id", "score", *FLAT_COLUMNS]
    assert table.schema.field("id").type == pa.int64() and table.schema.field("score").type == pa.float64()
    assert table.schema.field("score_positive").type == pa.float64()
    assert table.schema.field("emotions_predicted").type == pa.list_(pa.string())
    assert table.column("id").to_pylist() == list(range(10))


def test_keep_column_named_like_a_prediction_field_is_prefixed(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "hello there", "label": "gold"}])
    out = tmp_path / "out.jsonl"
    score_file(src, out, options=BatchOptions(progress=False, keep=("label",)), engine=FakeEngine())
    [row] = read_output(out)
    assert row["input_label"] == "gold" and row["label"] in ("negative", "neutral", "positive")


def test_text_and_id_fields_and_missing_ids_fall_back_to_line_numbers(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"key": "a", "body": "one"}, b"\n", {"body": "two"}])
    out = tmp_path / "out.jsonl"
    opts = BatchOptions(progress=False, text_field="body", id_field="key")
    assert score_file(src, out, options=opts, engine=FakeEngine()).ok == 2
    assert [r["id"] for r in read_output(out)] == ["a", 3]  # line 2 is blank (skipped), line 3 has no key


def test_tsv_in_and_out(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_text('id\ttext\nx\thello, world\ny\t"quoted\ttab"\n', encoding="utf-8")
    out = tmp_path / "out.tsv"
    assert score_file(src, out, options=OPTS, engine=FakeEngine()).ok == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:2] == ["id", "label"] and [ln.split("\t")[0] for ln in lines[1:]] == ["x", "y"]


def test_csv_records_may_span_lines_and_carry_a_bom(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes('\ufeffid,text\n1,"first line\nsecond line"\n2,plain\n'.encode())
    out = tmp_path / "out.jsonl"
    assert score_file(src, out, options=OPTS, engine=FakeEngine()).ok == 2
    assert [r["id"] for r in read_output(out)] == ["1", "2"]


def test_stdout_output_has_errors_inline(tmp_path: Path) -> None:
    import io

    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "fine"}, {"id": 2, "text": ""}])
    buf = io.BytesIO()
    summary = score_file(src, None, options=OPTS, engine=FakeEngine(), stdout=buf)
    got = [json.loads(line) for line in buf.getvalue().decode().splitlines()]
    assert [g["id"] for g in got] == [1, 2] and got[1]["error"]["code"] == "empty_text" and got[1]["line"] == 2
    assert summary.exit_code == 1


# -- bad rows --------------------------------------------------------------------------------------
def dirty_jsonl(path: Path) -> Path:
    return write_jsonl(path, [
        {"id": "ok1", "text": "a good row"},
        {"id": "num", "text": 42},                      # 2 not a string
        b'{"id": "utf", "text": "caf\xe9 latin-1"}\n',   # 3 invalid UTF-8
        b'{"id": "broken", "text": "no closing brace"\n',  # 4 malformed JSON
        {"id": "missing", "body": "no text field"},      # 5 missing field
        {"id": "empty", "text": "   "},                  # 6 empty (the engine's check)
        b"[1, 2, 3]\n",                                  # 7 not an object
        {"id": "null", "text": None},                    # 8 null
        {"id": "ok2", "text": "another good row"},
    ])  # fmt: skip


def test_bad_jsonl_rows_go_to_the_errors_file_with_lines_and_reasons(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    summary = score_file(dirty_jsonl(tmp_path / "in.jsonl"), out, options=OPTS, engine=FakeEngine())
    assert (summary.rows, summary.ok, summary.failed, summary.exit_code) == (9, 2, 7, 1)
    assert [r["id"] for r in read_output(out)] == ["ok1", "ok2"]
    errors = read_errors(Path(summary.errors_file or ""))
    assert summary.errors_file == str(tmp_path / "out.jsonl.errors.jsonl")
    assert [(e["line"], e["id"], e["error"]["code"]) for e in errors] == [
        (2, "num", "not_a_string"), (3, "utf", "invalid_utf8"), (4, 4, "malformed_json"),
        (5, "missing", "missing_field"), (6, "empty", "empty_text"), (7, 7, "not_an_object"),
        (8, "null", "missing_field"),
    ]  # fmt: skip
    assert all(e["error"]["message"] for e in errors)
    assert summary.error_codes["missing_field"] == 2


def test_every_reader_judges_a_text_cell_the_same_way(tmp_path: Path) -> None:
    """One check of the text (readers.check_text) for JSONL, Parquet and Ray: a null is missing_field everywhere."""
    from affectlens.batch.readers import check_text

    assert check_text(b"caf\xe9", "text")[1] == (
        "invalid_utf8",
        "text is not valid UTF-8 (byte 3); re-encode the file as UTF-8",
    )
    assert check_text(float("nan"), "text")[1] == check_text(None, "text")[1] == ("missing_field", "'text' is null")
    assert check_text(b"caf\xc3\xa9", "text") == ("caf\u00e9", None)
    src_j = write_jsonl(tmp_path / "in.jsonl", [{"id": 0, "text": None}, {"id": 1, "text": "fine"}])
    src_p = write_parquet(tmp_path / "in.parquet", [{"id": 0, "text": None}, {"id": 1, "text": "fine"}])
    errors = []
    for src in (src_j, src_p):
        summary = score_file(src, tmp_path / f"{src.suffix[1:]}.jsonl", options=OPTS, engine=FakeEngine())
        errors.append(read_errors(Path(summary.errors_file or "")))
    assert (
        errors[0]
        == errors[1]
        == [{"line": 1, "id": 0, "error": {"code": "missing_field", "message": "'text' is null"}}]
    )


def test_bad_csv_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"id,text,group\n"
        b"a,fine,1\n"
        b"b,too,many,fields\n"        # 3 wrong field count
        b'c,"bad"quote,1\n'           # 4 malformed quoting (strict)
        b"d,caf\xe9,1\n"              # 5 invalid UTF-8
        b"e,,1\n"                     # 6 empty text
        b"f,short\n"                  # 7 too few fields
        b"g,also fine,2\n"
    )  # fmt: skip
    out = tmp_path / "out.csv"
    summary = score_file(src, out, options=BatchOptions(progress=False, keep=("group",)), engine=FakeEngine())
    assert (summary.ok, summary.failed) == (2, 5)
    assert [r["id"] for r in read_output(out)] == ["a", "g"]
    errors = read_errors(tmp_path / "out.csv.errors.jsonl")
    assert [(e["line"], e["error"]["code"]) for e in errors] == [
        (3, "malformed_csv"),
        (4, "malformed_csv"),
        (5, "invalid_utf8"),
        (6, "empty_text"),
        (7, "malformed_csv"),
    ]
    assert [e["id"] for e in errors] == ["b", 4, "d", "e", "f"]


def test_bad_parquet_rows(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 3, 4], "text": pa.array([b"fine", b"\xff\xfe", None, b"also fine"], pa.binary())})
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out = tmp_path / "out.jsonl"
    summary = score_file(src, out, options=OPTS, engine=FakeEngine())
    assert [r["id"] for r in read_output(out)] == [1, 4]
    errors = read_errors(Path(summary.errors_file or ""))
    assert [(e["line"], e["id"], e["error"]["code"]) for e in errors] == [
        (2, 2, "invalid_utf8"),
        (3, 3, "missing_field"),
    ]


def test_whole_file_problems_are_usage_errors(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", rows(3))
    with pytest.raises(AffectlensError, match="no column 'body'"):
        score_file(src, tmp_path / "o.jsonl", options=BatchOptions(text_field="body"), engine=FakeEngine())
    with pytest.raises(ConfigError, match="extension"):
        score_file(src, tmp_path / "o.xlsx", engine=FakeEngine())
    with pytest.raises(AffectlensError, match="no such file"):
        score_file(tmp_path / "nope.jsonl", tmp_path / "o.jsonl", engine=FakeEngine())
    with pytest.raises(AffectlensError, match="not a readable Parquet"):
        (tmp_path / "bad.parquet").write_bytes(b"not parquet")
        score_file(tmp_path / "bad.parquet", tmp_path / "o.jsonl", engine=FakeEngine())


def test_a_scorer_crash_stops_the_job_resumably(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", rows(100))
    out = tmp_path / "out.jsonl"
    with pytest.raises(AffectlensError, match="--resume"):
        score_file(src, out, options=OPTS, engine=FakeEngine(fail_on=rows(100)[50]["text"]))
    assert not out.exists() and (tmp_path / "out.jsonl.checkpoint.json").exists()
    summary = score_file(src, out, options=BatchOptions(progress=False, chunk_size=16, resume=True),
                         engine=FakeEngine())  # fmt: skip
    assert summary.resumed_rows == 48 and summary.rows == 100
    assert [r["id"] for r in read_output(out)] == [r["id"] for r in rows(100)]


# -- readers resume from a position --------------------------------------------------------------
def test_readers_resume_from_any_position_they_report(tmp_path: Path) -> None:
    items = rows(30)
    items[5]["text"] = "multi\nline"
    for reader in (JsonlReader(write_jsonl(tmp_path / "a.jsonl", items), ReadOptions()),
                   CsvReader(write_csv(tmp_path / "a.csv", items), ReadOptions())):  # fmt: skip
        full = list(reader.records())
        for k in (0, 1, 6, 17, 29):
            _, pos = full[k]
            rest = list(reader.records(pos))
            assert [r for r, _ in rest] == [r for r, _ in full[k + 1 :]], (reader.format, k)
        assert list(reader.records(Position(full[-1][1].offset, 99))) == []


# -- ordering and workers -------------------------------------------------------------------------
def test_ordered_map_keeps_order_with_bounded_in_flight() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from affectlens.batch import Chunk
    from affectlens.batch.types import Record

    in_flight, peak = 0, 0

    def work(recs: list[Record]) -> Any:
        import random
        import time

        time.sleep(random.random() / 200)
        return [r.line for r in recs]

    def chunks() -> Any:
        nonlocal in_flight, peak
        for i in range(40):
            in_flight += 1
            peak = max(peak, in_flight)
            yield Chunk([Record(i, i, "t", ())], Position(i, i))

    with ThreadPoolExecutor(4) as ex:
        out: list[Any] = []
        for _chunk, result in ordered_map(lambda recs: ex.submit(work, recs), chunks(), 3):
            in_flight -= 1
            out.extend(result)
    assert out == list(range(40)) and peak <= 3


def test_workers_give_the_same_output_in_the_same_order(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", rows(500))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    factory = functools.partial(fake_engine_factory)
    s1 = score_file(src, one, options=BatchOptions(progress=False, chunk_size=32), factory=factory)
    s2 = score_file(src, two, options=BatchOptions(progress=False, chunk_size=32, workers=2), factory=factory)
    assert one.read_bytes() == two.read_bytes()
    assert (s1.workers, s2.workers, s2.rows) == (1, 2, 500)


def test_engine_threads_fill_in_only_when_not_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    import affectlens.engine
    from affectlens import batch
    from affectlens.engine import EngineConfig
    from affectlens.neural import NeuralConfig

    captured: dict[str, Any] = {}
    monkeypatch.setattr(affectlens.engine, "Engine", lambda config: captured.setdefault("c", []).append(config))
    cfg = EngineConfig(mode="neural")
    batch.engine_factory(cfg)(4)
    batch.engine_factory(replace(cfg, neural=NeuralConfig(intra_op_threads=1)))(4)
    assert [c.neural.intra_op_threads for c in captured["c"]] == [4, 1]
    assert batch.describe_scorer(batch.engine_factory(cfg)) == "engine:neural:default:nrc=True"


# -- checkpoints and resume ------------------------------------------------------------------------
@pytest.mark.parametrize("out_fmt", ["jsonl", "csv", "parquet"])
def test_resume_after_a_crash_mid_way_continues_without_duplicates(tmp_path: Path, out_fmt: str) -> None:
    items = rows(300)
    src = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / f"out.{out_fmt}"
    crash = FakeEngine(fail_on=items[200]["text"])
    opts = BatchOptions(progress=False, chunk_size=20, parquet_part_rows=40)
    with pytest.raises(AffectlensError):
        score_file(src, out, options=opts, engine=crash)
    ckpt = json.loads((tmp_path / f"out.{out_fmt}.checkpoint.json").read_text())
    assert ckpt["state"] == "running" and 0 < ckpt["rows"] <= 200
    if out_fmt != "parquet":  # garbage after the committed offset (a torn write) is cut off on resume
        with open(tmp_path / f"out.{out_fmt}.partial", "ab") as f:
            f.write(b'{"id": "torn write')
    engine = FakeEngine()
    summary = score_file(src, out, options=replace(opts, resume=True), engine=engine)
    assert summary.resumed_rows == ckpt["rows"] and summary.rows == 300 and summary.ok == 300
    assert engine.calls == (300 - ckpt["rows"] + 19) // 20  # only the rows after the checkpoint were scored
    assert [str(r["id"]) for r in read_output(out)] == [r["id"] for r in items]


def test_checkpoint_refuses_to_mix_jobs(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", rows(100))
    out = tmp_path / "out.jsonl"
    with pytest.raises(AffectlensError):
        score_file(src, out, options=OPTS, engine=FakeEngine(fail_on=rows(100)[60]["text"]))
    with pytest.raises(ConfigError, match="--resume"):  # forgot --resume: refuse to throw the work away
        score_file(src, out, options=OPTS, engine=FakeEngine())
    with pytest.raises(ConfigError, match="text_field"):
        score_file(src, out, options=BatchOptions(resume=True, text_field="id", progress=False), engine=FakeEngine())
    write_jsonl(src, rows(101))
    with pytest.raises(ConfigError, match="changed"):
        score_file(src, out, options=BatchOptions(resume=True, progress=False), engine=FakeEngine())
    summary = score_file(src, out, options=BatchOptions(restart=True, progress=False), engine=FakeEngine())
    assert summary.resumed_rows == 0 and summary.rows == 101 and len(read_output(out)) == 101


def test_resume_without_a_checkpoint_starts_over_and_a_finished_job_is_not_redone(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", rows(20))
    out = tmp_path / "out.jsonl"
    resume = BatchOptions(resume=True, progress=False)
    assert score_file(src, out, options=resume, engine=FakeEngine()).rows == 20
    first = out.read_bytes()
    # a job killed while finishing (checkpoint says done, output already renamed) completes on --resume
    ckpt = tmp_path / "out.jsonl.checkpoint.json"
    ckpt.write_text(json.dumps({"version": 1, "state": "done", "rows": 20, "ok": 20, "failed": 0, "error_codes": {},
                                "position": {"offset": 0, "line": 1}}))  # fmt: skip
    engine = FakeEngine()
    summary = score_file(src, out, options=resume, engine=engine)
    assert engine.calls == 0 and summary.rows == 20 and out.read_bytes() == first and not ckpt.exists()


def test_errors_file_resumes_too(tmp_path: Path) -> None:
    items: list[Any] = []
    for i in range(120):
        items.append({"id": i, "text": "" if i % 10 == 0 else f"row {i}"})
    src = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    with pytest.raises(AffectlensError):
        score_file(src, out, options=OPTS, engine=FakeEngine(fail_on="row 77"))
    summary = score_file(src, out, options=BatchOptions(resume=True, progress=False, chunk_size=16),
                         engine=FakeEngine())  # fmt: skip
    assert summary.failed == 12 and summary.ok == 108
    errors = read_errors(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["id"] for e in errors] == list(range(0, 120, 10))


def test_progress_reports_rate_and_eta(tmp_path: Path) -> None:
    import io

    src = write_jsonl(tmp_path / "in.jsonl", rows(50))
    stream = io.StringIO()
    score_file(src, tmp_path / "o.jsonl", options=BatchOptions(progress=True, chunk_size=10), engine=FakeEngine(),
               progress_stream=stream)  # fmt: skip
    last = stream.getvalue().strip().splitlines()[-1]
    assert "100.0%" in last and "50 rows" in last and "rows/s" in last and "ETA" in last


# -- the command line with the real engine (lexicon mode: no model needed) -------------------------
def test_cli_score_lexicon_mode_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    src = dirty_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.csv"
    code = main(["score", str(src), "-o", str(out), "--lexicon-only", "--keep", "id", "--no-progress"])
    assert code == 1  # some rows failed
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (summary["ok"], summary["failed"]) == (2, 7) and summary["scorer"].startswith("engine:lexicon")
    got = read_output(out)
    assert [r["id"] for r in got] == ["ok1", "ok2"] and got[0]["label"] == "positive"
    assert got[0]["model_name"] == "affectlens-lexicon"
    assert len(read_errors(tmp_path / "out.csv.errors.jsonl")) == 7
    code = main(["score", str(write_jsonl(tmp_path / "good.jsonl", rows(5))), "-o", str(tmp_path / "g.jsonl"),
                 "--lexicon-only", "--quiet"])  # fmt: skip
    assert code == 0 and capsys.readouterr().err == ""


def test_cli_stdout_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 7, "text": "I love it"}])
    assert main(["score", str(src), "--lexicon-only", "--quiet", "--explain"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    obj = json.loads(line)
    assert obj["id"] == 7 and obj["label"] == "positive" and obj["tokens"]
    assert main(["score", str(src), "-o", str(tmp_path / "o.txt"), "--lexicon-only"]) == 2
    assert "extension" in capsys.readouterr().err
    assert main(["score", str(src), "--resume", "--lexicon-only"]) == 2


def test_real_engine_results_match_score_batch(tmp_path: Path) -> None:
    from affectlens.engine import Engine, EngineConfig

    engine = Engine(EngineConfig(mode="lexicon"))
    items = rows(40)
    src = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "o.jsonl"
    score_file(src, out, options=BatchOptions(progress=False, chunk_size=7), engine=engine)
    expected = [p.to_dict() for p in engine.score_batch([r["text"] for r in items])]
    for got, exp, item in zip(read_output(out), expected, items, strict=True):
        assert got == {"id": item["id"], **exp}
