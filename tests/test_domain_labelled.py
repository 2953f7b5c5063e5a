"""``affectlens.domain.labelled.read_labelled``: formats, label matching, skipped rows and the coded errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from affectlens.cli import main
from affectlens.domain.labelled import MIN_LABELLED_ROWS, DomainInputError, read_labelled

ROWS = [(f"sentence number {i}", ["negative", "neutral", "positive"][i % 3]) for i in range(30)]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_table(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_jsonl_labels_match_case_insensitively_and_bad_rows_are_counted(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"text": t, "label": f"  {y.upper()} "} for t, y in ROWS]
    rows += [{"text": "   ", "label": "positive"}, {"text": "no label", "label": None}, {"label": "positive"}]
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    with open(path, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    data = read_labelled(path)
    assert data.label_set == ("negative", "neutral", "positive")
    assert data.texts == [t for t, _ in ROWS]
    assert data.labels == [y for _, y in ROWS]
    assert data.counts() == {"negative": 10, "neutral": 10, "positive": 10}
    assert data.skipped == {"empty_text": 1, "missing_label": 1, "missing_field": 1, "malformed_json": 1}
    assert data.lines[:3] == [1, 2, 3]
    assert data.label_ids.tolist()[:3] == [0, 1, 2]


def test_csv_tsv_parquet_and_jsonl_read_the_same_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"body": [t for t, _ in ROWS], "y": [y for _, y in ROWS], "other": list(range(len(ROWS)))})
    pq.write_table(table, tmp_path / "a.parquet")
    write_table(tmp_path / "a.csv", ROWS, ("body", "y"))
    write_table(tmp_path / "a.tsv", ROWS, ("body", "y"))
    write_jsonl(tmp_path / "a.jsonl", [{"body": t, "y": y} for t, y in ROWS])
    read = [read_labelled(tmp_path / f"a.{ext}", "body", "y") for ext in ("parquet", "csv", "tsv", "jsonl")]
    assert all(d.texts == read[0].texts and d.labels == read[0].labels for d in read)
    assert read[1].lines[0] == 2  # CSV: the header is line 1


def test_given_label_order_wins_and_canonical_spelling_is_the_given_one(tmp_path: Path) -> None:
    path = write_table(tmp_path / "a.csv", [(f"t {i}", ["Spam", "HAM"][i % 2]) for i in range(24)])
    data = read_labelled(path, labels=["spam", "ham", "unsure"])
    assert data.label_set == ("spam", "ham", "unsure")
    assert set(data.labels) == {"spam", "ham"}
    assert data.counts()["unsure"] == 0
    assert read_labelled(path, labels="ham,spam").label_set == ("ham", "spam")  # a comma-separated string


def test_inferred_label_sets_numeric_and_other(tmp_path: Path) -> None:
    numeric = write_jsonl(tmp_path / "n.jsonl", [{"text": f"t {i}", "label": [10, 2, 1][i % 3]} for i in range(30)])
    assert read_labelled(numeric).label_set == ("1", "2", "10")
    other = write_table(tmp_path / "o.csv", [(f"t {i}", ["billing", "Bug", "account"][i % 3]) for i in range(30)])
    assert read_labelled(other).label_set == ("account", "billing", "Bug")


def test_label_studio_export_is_read_through_read_export(tmp_path: Path) -> None:
    choice = [{"from_name": "sentiment", "type": "choices", "value": {"choices": ["positive"]}}]
    tasks: list[dict[str, object]] = [
        {"data": {"text": f"task {i}"}, "annotations": [{"result": json.loads(json.dumps(choice))}]} for i in range(24)
    ]
    for i in range(1, 24, 2):
        tasks[i]["annotations"][0]["result"][0]["value"]["choices"] = ["negative"]  # type: ignore[index]
    tasks.append({"data": {"text": "not annotated yet"}, "annotations": []})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    data = read_labelled(path)
    assert len(data) == 24 and data.skipped == {"no_annotation": 1}
    assert data.labels[:2] == ["positive", "negative"] and data.lines[:2] == [1, 2]


@pytest.mark.parametrize(
    ("rows", "kwargs", "expected"),
    [
        (ROWS, {"labels": ["negative", "positive"]}, ["10 rows have labels not in --labels", "'neutral' (10)"]),
        (ROWS, {"text_field": "sentence"}, ["no 'sentence' column (columns: text, label)", "--text-field"]),
        (ROWS, {"label_field": "gold"}, ["no 'gold' column", "--label-field"]),
        ([(f"t {i}", "positive") for i in range(25)], {}, ["every usable row has the label 'positive'"]),
        (ROWS[:MIN_LABELLED_ROWS - 1], {}, [f"only {MIN_LABELLED_ROWS - 1} usable labelled rows", "at least 20"]),
    ],
    ids=["unknown-labels", "no-text-column", "no-label-column", "one-class", "too-few-rows"],
)  # fmt: skip
def test_unusable_files_raise_with_what_to_do(
    tmp_path: Path, rows: list[tuple[str, str]], kwargs: dict[str, object], expected: list[str]
) -> None:
    path = write_table(tmp_path / "a.csv", rows)
    with pytest.raises(DomainInputError) as info:
        read_labelled(path, **kwargs)  # type: ignore[arg-type]
    assert info.value.code == "bad_labelled_data"
    for part in expected:
        assert part in info.value.message


def test_audit_labels_command_exits_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_table(tmp_path / "a.csv", ROWS)
    assert main(["audit-labels", str(path), "--labels", "negative,positive"]) == 2
    assert "error [bad_labelled_data]" in capsys.readouterr().err
    assert main(["audit-labels", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
    assert main(["compare", str(path), "--label-field", "gold"]) == 2
    assert "set --label-field" in capsys.readouterr().err
