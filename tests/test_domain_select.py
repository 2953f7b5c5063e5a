"""``affectlens select`` and the Label Studio formats: strategies on arrays (no model), skips, the import/export
shapes, CLI errors, and one end-to-end selection with the shipped model (a few seconds on 2 cores)."""

from __future__ import annotations

import csv
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from affectlens.cli import main
from affectlens.domain import label_studio
from affectlens.domain.select import SelectError, dedupe_key, labelled_keys, read_pool
from affectlens.domain.strategies import (
    MIX_FACTOR,
    STRATEGIES,
    entropy,
    k_center_greedy,
    margin,
    normalize_rows,
    rank,
)


# -- strategies ------------------------------------------------------------------------------------------------
def test_margin_picks_the_closest_calls() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8], [0.49, 0.02, 0.49], [0.3, 0.5, 0.2]])
    np.testing.assert_allclose(margin(probs), [0.85, 0.05, 0.7, 0.0, 0.2], atol=1e-12)
    assert rank("margin", probs, None, 3).tolist() == [3, 1, 4]


def test_entropy_puts_the_flattest_first() -> None:
    probs = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0], [0.6, 0.2, 0.2]])
    np.testing.assert_allclose(entropy(probs), [0.0, math.log(3), math.log(2), entropy(probs[3:])[0]])
    assert rank("entropy", probs, None, 4).tolist() == [1, 3, 2, 0]


def _clusters(sizes: tuple[int, ...], dim: int = 16, spread: float = 0.05, seed: int = 0) -> np.ndarray:
    """Points around ``len(sizes)`` orthogonal directions, scaled differently (normalization must not care)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, size in enumerate(sizes):
        center = np.zeros(dim)
        center[k] = 1.0
        parts.append((center + spread * rng.standard_normal((size, dim))) * rng.uniform(1, 20, (size, 1)))
    return np.concatenate(parts)


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_k_center_covers_well_separated_clusters(seed: int) -> None:
    vectors = _clusters((40, 5, 15))
    cluster = np.repeat([0, 1, 2], [40, 5, 15])
    picked = k_center_greedy(vectors, 3, seed=seed)
    assert sorted(cluster[picked].tolist()) == [0, 1, 2]
    assert rank("diverse", np.full((60, 3), 1 / 3), vectors, 3, seed=seed).tolist() == picked.tolist()


def test_k_center_is_deterministic_and_never_repeats() -> None:
    vectors = np.concatenate([np.ones((5, 4)), np.eye(4)])  # five identical rows
    a = k_center_greedy(vectors, 9, seed=3)
    assert a.tolist() == k_center_greedy(vectors, 9, seed=3).tolist()
    assert sorted(a.tolist()) == list(range(9))
    assert k_center_greedy(vectors, 50).shape == (9,)
    assert k_center_greedy(vectors, 3, start=6)[0] == 6


def test_normalize_rows_keeps_zero_rows() -> None:
    out = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_margin_plus_diverse_spreads_over_the_uncertain_only() -> None:
    """Two uncertain clusters (A slightly more so) and a big confident one: margin spends the batch on A,
    the mix takes both A and B and nothing confident."""
    vectors = _clusters((4, 10, 60))  # the 5 * 2 candidates of n=2: A's 4 and 6 of B's
    cluster = np.repeat([0, 1, 2], [4, 10, 60])
    rng = np.random.default_rng(0)
    top = np.where(cluster == 0, 0.40, np.where(cluster == 1, 0.42, 0.95)) + rng.uniform(0, 0.005, 74)
    second = np.where(cluster == 2, 0.03, 0.38)
    probs = np.stack([top, second, 1 - top - second], axis=1)
    assert set(cluster[rank("margin", probs, vectors, 2)].tolist()) == {0}
    mixed = rank("margin+diverse", probs, vectors, 2)
    assert sorted(cluster[mixed].tolist()) == [0, 1]
    assert mixed[0] == int(np.argmin(margin(probs)))  # it starts at the most uncertain
    # only the MIX_FACTOR * n most uncertain are candidates
    candidates = set(np.argsort(margin(probs), kind="stable")[: MIX_FACTOR * 3].tolist())
    assert set(rank("margin+diverse", probs, vectors, 3).tolist()) <= candidates


def test_rank_rejects_what_it_cannot_do() -> None:
    probs = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="strategy"):
        rank("random", probs, None, 2)
    with pytest.raises(ValueError, match="at least 1"):
        rank("margin", probs, None, 0)
    with pytest.raises(ValueError, match="embeddings"):
        rank("diverse", probs, None, 2)
    with pytest.raises(ValueError, match="embeddings"):
        rank("margin+diverse", probs, np.zeros((3, 8)), 2)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 30), st.just(3)), elements=st.floats(0.01, 1.0)),
    st.integers(1, 40),
    st.sampled_from(STRATEGIES),
    st.integers(0, 5),
)
def test_rank_returns_distinct_rows_and_scores_stay_in_range(raw: np.ndarray, n: int, strategy: str, seed: int) -> None:
    probs = raw / raw.sum(axis=1, keepdims=True)
    vectors = np.random.default_rng(seed).standard_normal((len(probs), 8))
    picked = rank(strategy, probs, vectors, n, seed=seed)
    assert len(picked) == min(n, len(probs)) == len(set(picked.tolist()))
    assert ((picked >= 0) & (picked < len(probs))).all()
    assert ((margin(probs) >= -1e-12) & (margin(probs) <= 1 + 1e-12)).all()
    assert ((entropy(probs) >= -1e-12) & (entropy(probs) <= math.log(3) + 1e-9)).all()


# -- skips ----------------------------------------------------------------------------------------------------
def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_dedupe_key_ignores_whitespace_and_case() -> None:
    assert dedupe_key("  I  LOVE\tit \n") == dedupe_key("i love it") == "i love it"
    assert dedupe_key("I love it!") != dedupe_key("I love it")


def test_labelled_and_repeated_texts_are_skipped(tmp_path: Path) -> None:
    pool = _jsonl(tmp_path / "pool.jsonl", [{"text": t} for t in
                  ["Great day", "great   DAY", "awful day", "a table", "new text", "already in LS", "queued"]]
                  + [{"text": ""}, {"other": 1}, "not json"])  # fmt: skip
    done = tmp_path / "done.csv"
    done.write_text("text,label\nawful day,negative\nA TABLE,neutral\n", encoding="utf-8")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([
        {"data": {"text": "already in LS"}, "annotations": [{"result": label_studio.choice_result("neutral")}]},
        {"data": {"text": "queued"}, "annotations": []},  # imported, not annotated yet: skipped too
    ]), encoding="utf-8")  # fmt: skip
    keys, described = labelled_keys([str(done), str(export)], "text")
    assert keys == {"awful day", "a table", "already in ls", "queued"}
    assert [d["texts"] for d in described] == [2, 2]
    got = read_pool(str(pool), "text", keys)
    assert got.texts == ["Great day", "new text"]
    assert got.lines == [1, 5]
    assert got.skipped == Counter(labelled=4, duplicate=1, empty_text=1, missing_field=1, malformed_json=1)
    assert got.rows == 10


def test_a_pool_with_nothing_left_says_so(tmp_path: Path) -> None:
    pool = _jsonl(tmp_path / "pool.jsonl", [{"text": "a"}, {"text": "A "}])
    with pytest.raises(SelectError, match=r"nothing left to select.*labelled 2"):
        read_pool(str(pool), "text", {"a"})


# -- Label Studio formats -------------------------------------------------------------------------------------
def test_label_config_is_the_single_choice_xml() -> None:
    root = ET.fromstring(label_studio.label_config(("neg", "pos & more")))
    text, choices = list(root)
    assert (text.tag, text.get("name"), text.get("value")) == ("Text", "text", "$text")
    assert (choices.tag, choices.get("name"), choices.get("toName"), choices.get("choice")) == (
        "Choices", "sentiment", "text", "single")  # fmt: skip
    assert [c.get("value") for c in choices] == ["neg", "pos & more"]
    assert [c.get("value") for c in ET.fromstring(label_studio.LABEL_CONFIG)[1]] == [
        "negative", "neutral", "positive"]  # fmt: skip
    with pytest.raises(label_studio.LabelStudioFormatError):
        label_studio.label_config(["only"])


def test_tasks_carry_the_prediction_as_a_pre_annotation() -> None:
    pred = {"label": "positive", "scores": {"negative": 0.1, "neutral": 0.2, "positive": 0.7}}
    got = label_studio.tasks(["I love it", "no prediction"], [pred, None], "affectlens-minilm-0.2.0")
    assert got == [
        {
            "data": {"text": "I love it"},
            "predictions": [
                {
                    "model_version": "affectlens-minilm-0.2.0",
                    "score": 0.7,
                    "result": [
                        {
                            "from_name": "sentiment",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": ["positive"]},
                        }
                    ],
                }
            ],
        },
        {"data": {"text": "no prediction"}},
    ]
    with pytest.raises(label_studio.LabelStudioFormatError, match="not one of"):
        label_studio.tasks(["x"], [{"label": "angry", "scores": {}}], "v")
    with pytest.raises(label_studio.LabelStudioFormatError, match="2 texts but 1"):
        label_studio.tasks(["x", "y"], [pred], "v")


def _annotation(ident: int, label: str | None, when: str, **extra: Any) -> dict[str, Any]:
    """An annotation as Label Studio 1.23's JSON export writes it (the fields read_export looks at)."""
    result = [] if label is None else label_studio.choice_result(label)
    return {"id": ident, "completed_by": 1, "result": result, "was_cancelled": False, "ground_truth": False,
            "created_at": when, "updated_at": when, "lead_time": 3.2, **extra}  # fmt: skip


EXPORT = [
    {"id": 1, "data": {"text": "one annotation"}, "annotations": [_annotation(1, "positive", "2026-01-01T10:00:00Z")]},
    {"id": 2, "data": {"text": "changed their mind"}, "annotations": [
        _annotation(3, "neutral", "2026-01-02T10:00:00.5Z"), _annotation(2, "negative", "2026-01-02T09:00:00Z")]},
    {"id": 3, "data": {"text": "skipped"}, "annotations": [
        _annotation(4, None, "2026-01-03T10:00:00Z", was_cancelled=True)]},
    {"id": 4, "data": {"text": "not annotated"}, "annotations": [], "predictions": [7]},
    {"id": 5, "data": {"text": "latest is cancelled"}, "annotations": [
        _annotation(5, "negative", "2026-01-04T10:00:00Z"),
        _annotation(6, "positive", "2026-01-05T10:00:00Z", was_cancelled=True)]},
    {"id": 6, "data": {"text": "ground truth wins"}, "annotations": [
        _annotation(7, "neutral", "2026-01-06T10:00:00Z", ground_truth=True),
        _annotation(8, "positive", "2026-01-07T10:00:00Z")]},
    {"id": 7, "data": {"text": "empty result"}, "annotations": [_annotation(9, None, "2026-01-08T10:00:00Z")]},
    {"id": 8, "data": {"other": "no text"}, "annotations": [_annotation(10, "positive", "2026-01-08T10:00:00Z")]},
    {"id": 9, "data": {"text": "other control too"}, "annotations": [_annotation(11, None, "2026-01-09T10:00:00Z",
        result=[{"from_name": "topic", "type": "choices", "value": {"choices": ["sports"]}},
                *label_studio.choice_result("negative")])]},
]  # fmt: skip


def test_read_export_takes_the_latest_usable_annotation(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(EXPORT), encoding="utf-8")
    assert label_studio.read_export(path) == [
        ("one annotation", "positive"),
        ("changed their mind", "neutral"),
        ("skipped", None),
        ("not annotated", None),
        ("latest is cancelled", "negative"),
        ("ground truth wins", "neutral"),
        ("empty result", None),
        ("other control too", "negative"),
    ]
    assert label_studio.read_export(str(path), text_field="other") == [("no text", "positive")]


def test_read_export_reads_json_min(tmp_path: Path) -> None:
    rows = [  # as Label Studio 1.23 writes JSON_MIN: one row per annotation, newest first
        {"text": "meh", "id": 2, "sentiment": "neutral", "annotator": 1, "annotation_id": 3,
         "created_at": "2026-01-02T10:00:00Z", "updated_at": "2026-01-02T10:00:00Z", "lead_time": None},
        {"text": "I love it", "id": 1, "sentiment": "positive", "annotator": 1, "annotation_id": 1,
         "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:00:00Z", "lead_time": None},
        {"text": "meh", "id": 2, "sentiment": "negative", "annotator": 1, "annotation_id": 2,
         "created_at": "2026-01-01T11:00:00Z", "updated_at": "2026-01-01T11:00:00Z", "lead_time": None},
        {"text": "multi", "id": 3, "sentiment": {"choices": ["positive", "neutral"]}},
    ]  # fmt: skip
    path = tmp_path / "min.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert label_studio.read_export(path) == [("meh", "neutral"), ("I love it", "positive"), ("multi", "positive")]


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "not a JSON file"), ('{"a": 1}', "JSON list of tasks"), ("[1, 2]", "JSON list of tasks"),
     ('[{"data": {"body": "x"}}]', "no task has a 'text' text .*body")],
)  # fmt: skip
def test_read_export_errors_say_what_to_do(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(label_studio.LabelStudioFormatError, match=needle):
        label_studio.read_export(path)
    with pytest.raises(label_studio.LabelStudioFormatError, match="no such file"):
        label_studio.read_export(tmp_path / "missing.json")
    assert label_studio.read_export(_jsonl(tmp_path / "empty.json", ["[]"])) == []


# -- the command ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "pool_rows", "needle"),
    [
        (["-n", "0"], [{"text": "a"}], "-n must be"),
        ([], [], "is empty"),
        ([], [{"review": "a"}, {"review": "b"}], "no usable 'text' text .*review.*--text-field"),
        (["-o", "batch.csv"], [{"text": "a"}], "give a .json path"),
        (["--lexicon-only"], [{"text": "a"}], "needs the network's embeddings"),
        (["--auto-accept", "0"], [{"text": "a"}], "--auto-accept is a probability"),
        (["--labelled", "POOL"], [{"text": "a"}], "nothing left to select"),
        (["--labelled", "missing.csv"], [{"text": "a"}], "no such file"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], pool_rows: list[Any], needle: str
) -> None:
    pool = _jsonl(tmp_path / "pool.jsonl", pool_rows)
    extra = [str(pool) if e == "POOL" else str(tmp_path / e) if e.endswith((".csv", ".json")) else e for e in extra]
    argv = ["select", str(pool), "-n", "3", "-o", str(tmp_path / "batch.json"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error [bad_select_input]" in err
    assert re.search(needle, err), err
    assert not (tmp_path / "batch.json").exists()


def _pool_texts() -> list[str]:
    """~60 texts: clearly positive/negative/neutral ones and hedged, mixed ones."""
    things = ["phone", "movie", "hotel", "pizza", "laptop"]
    templates = [
        "I love this {}", "what a great {}", "the {} was wonderful", "best {} ever",
        "I hate this {}", "what a terrible {}", "the {} was awful", "worst {} ever",
        "the {} is on the table", "we bought a {} on monday", "the {} arrives at noon",
        "the {} was fine I guess", "not sure about the {}", "the {} is okay but pricey",
    ]  # fmt: skip
    return [t.format(x) for t in templates for x in things[:4]] + ["great staff but the room smelled"] * 2


def test_select_end_to_end_with_the_shipped_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = _pool_texts()
    pool = _jsonl(tmp_path / "pool.jsonl", [{"text": t} for t in texts] + [{"text": "  I LOVE this phone"}])
    done = _jsonl(tmp_path / "done.jsonl", [{"text": "what a great movie", "label": "positive"}])
    out = tmp_path / "round1" / "batch.json"
    argv = ["select", str(pool), "-n", "10", "-o", str(out), "--labelled", str(done), "--auto-accept", "0.9"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    unique = len(set(texts)) - 1  # minus the labelled one
    assert summary["pool"]["candidates"] == unique
    assert summary["pool"]["skipped"] == {"duplicate": 2, "labelled": 1}
    assert (summary["strategy"], summary["requested"], summary["selected"]) == ("margin+diverse", 10, 10)
    assert summary["batch"]["mean_margin"] < summary["pool_mean_margin"]

    tasks = json.loads(out.read_text(encoding="utf-8"))
    batch = [t["data"]["text"] for t in tasks]
    assert len(batch) == len(set(batch)) == 10
    assert "what a great movie" not in batch and set(batch) <= set(texts)
    for t in tasks:
        (pred,) = t["predictions"]
        assert pred["model_version"] == summary["model_version"] and 0 < pred["score"] <= 1
        assert pred["result"][0]["value"]["choices"][0] in ("negative", "neutral", "positive")
    with open(out.with_suffix(".csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == batch and [int(r["rank"]) for r in rows] == list(range(1, 11))
    assert [r["predicted_label"] for r in rows] == [t["predictions"][0]["result"][0]["value"]["choices"][0]
                                                    for t in tasks]  # fmt: skip
    for r in rows:
        assert float(r["confidence"]) >= 1 / 3 and 0 <= float(r["margin"]) <= 1 and float(r["entropy"]) >= 0
    assert (out.parent / "label_config.xml").read_text(encoding="utf-8") == label_studio.LABEL_CONFIG
    weak = [json.loads(line) for line in out.with_suffix(".weak.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(weak) == summary["weak_labels"]["rows"] > 0
    assert all(w["confidence"] >= 0.9 and w["text"] not in batch and w["weak"] for w in weak)

    # round 2: skip the first batch (its import file is read as a Label Studio export); more than is left
    argv = ["select", str(pool), "-n", "500", "-o", str(tmp_path / "round2.json"), "--strategy", "margin",
            "--labelled", str(done), str(out)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "asked for 500 texts but only" in captured.err
    again = json.loads(captured.out)
    assert again["selected"] == unique - 10 == again["pool"]["candidates"]
    second = [t["data"]["text"] for t in json.loads((tmp_path / "round2.json").read_text(encoding="utf-8"))]
    assert not set(second) & set(batch)
    assert "weak" not in again["outputs"]
