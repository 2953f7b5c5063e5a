"""``affectlens audit-labels``: flipped labels are found and ranked first; outputs and summary."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from affectlens.cli import main
from affectlens.domain.audit_core import audit_arrays, out_of_sample_probs

pytest.importorskip("cleanlab")
pytest.importorskip("sklearn")

ITEMS = ["food", "service", "hotel room", "movie", "staff", "delivery", "phone", "concert"]
POSITIVE = ["was wonderful and I loved it", "was excellent, truly a delight", "made me so happy"]
NEGATIVE = ["was terrible and I hated it", "was awful, a total disaster", "made me so angry"]
NEUTRAL = ["is listed on page four of the form", "was delivered on a Tuesday", "has a serial number"]


def synthetic(n_per_class: int = 50, flips: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three Gaussian clusters in 16 dimensions; the labels of ``flips`` known rows changed to another class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (3, 16))
    y = np.repeat(np.arange(3), n_per_class)
    x = centres[y] + rng.normal(0, 1, (len(y), 16))
    flipped = rng.choice(len(y), flips, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 3, flips)) % 3
    return x, noisy, flipped


def test_flipped_rows_are_the_top_suspects_for_any_label_set() -> None:
    x, noisy, flipped = synthetic()
    audit = audit_arrays(x, noisy, ("billing", "bug", "other"), folds=5, seed=0)
    top = set(audit.suspects[: len(flipped)].tolist())
    assert len(top & set(flipped.tolist())) >= len(flipped) - 2
    assert audit.classes == ("billing", "bug", "other")
    assert audit.probe_metrics()["accuracy"] > 0.85  # against the noisy labels: ~92% of them are right
    clean = np.setdiff1d(np.arange(len(noisy)), flipped)
    assert audit.quality[flipped].mean() < 0.3 < audit.quality[clean].mean()
    assert np.all(np.diff(audit.quality[audit.suspects]) >= 0)  # ranked by label quality, lowest first


def test_probabilities_sum_to_one_and_classes_without_rows_are_dropped() -> None:
    x, noisy, _ = synthetic(flips=1)
    probs = out_of_sample_probs(x, noisy, folds=3, seed=1)
    assert probs.shape == (len(noisy), 3) and np.allclose(probs.sum(axis=1), 1.0)
    audit = audit_arrays(x, noisy + 1, ("unused", "a", "b", "c"), folds=3)  # label 0 has no rows
    assert audit.classes == ("a", "b", "c") and audit.pred_probs.shape == (len(noisy), 3)


def sentences() -> list[tuple[str, str]]:
    rows = []
    for label, endings in (("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL)):
        rows += [(f"The {item} {ending}.", label) for item, ending in itertools.product(ITEMS, endings)]
    return rows


def test_audit_labels_command_ranks_flipped_rows_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sentences()  # 72 rows, 24 per class
    flipped = {3: "negative", 10: "neutral", 30: "positive", 41: "neutral", 50: "positive", 60: "negative"}
    path = tmp_path / "reviews.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "stars"])
        writer.writerows((text, flipped.get(i, label)) for i, (text, label) in enumerate(rows))
    out = tmp_path / "suspects.csv"
    code = main(["audit-labels", str(path), "--text-field", "review", "--label-field", "stars", "-o", str(out),
                 "--threads", "1"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    with open(out, encoding="utf-8") as f:
        suspects = list(csv.DictReader(f))
    assert summary["rows"] == 72 and summary["suspects"] == len(suspects) >= 4
    flipped_lines = {i + 2 for i in flipped}  # CSV line numbers: the header is line 1
    top = {int(row["line"]) for row in suspects[:6]}
    assert len(top & flipped_lines) >= 5, suspects[:8]  # measured: exactly the 6 flipped rows, first
    first = suspects[0]
    assert (
        first["given_label"] == flipped[int(first["line"]) - 2]
        and first["suggested_label"] == rows[int(first["line"]) - 2][1]
    )
    assert [int(r["rank"]) for r in suspects] == list(range(1, len(suspects) + 1))
    assert summary["probe"]["folds"] == 5 and summary["probe"]["accuracy"] > 0.8
    assert sum(summary["suspects_per_label"].values()) == summary["suspects"]
    assert summary["top_suspects"][0]["line"] == int(first["line"])


def test_suspects_as_jsonl(tmp_path: Path) -> None:
    from affectlens.domain.audit import write_rows
    from affectlens.domain.labelled import DomainInputError

    rows = [{"rank": 1, "line": 2, "text": "é", "given_label": "a", "suggested_label": "b", "label_quality": 0.1,
             "p_given": 0.1, "p_suggested": 0.9}]  # fmt: skip
    path = write_rows(rows, tmp_path / "s.jsonl")
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == rows
    with pytest.raises(DomainInputError, match=r"use \.csv or \.jsonl"):
        write_rows(rows, tmp_path / "s.xlsx")
