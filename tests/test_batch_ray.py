"""Ray Data engine (``--engine ray`` / ``affectlens.batch.ray_score``) in Ray's local mode.

Skipped when Ray is not installed (``pip install 'affectlens[dist]'``; CI installs the extra).
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'affectlens[dist]'")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'affectlens[dist]'")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from affectlens.batch import BatchOptions, ray_score, score_file  # noqa: E402
from affectlens.batch.testing import FakeEngine, fake_engine_factory  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # Ray's own
FACTORY = functools.partial(fake_engine_factory)


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray for the module (ray_score reuses a running Ray and leaves it running)."""
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def items(n: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": f"text {i} is {'good' if i % 2 else 'bad'}", "group": f"g{i % 3}"}
            for i in range(n)]  # fmt: skip


def test_jsonl_to_jsonl_matches_the_local_engine(tmp_path: Path) -> None:
    rows = items(500)
    rows[7]["text"] = 12  # a number where the text should be: a bad row, not a failed read
    rows[9]["text"] = ""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score_file(src, local, options=BatchOptions(progress=False, keep=("group",)), engine=FakeEngine())
    summary = ray_score(src, remote, factory=FACTORY, keep=("group",), actors=2, batch_size=64, progress=False)
    assert (summary.rows, summary.ok, summary.failed) == (500, 498, 2)
    assert remote.read_bytes() == local.read_bytes()  # same format, same order
    errors = [json.loads(line) for line in (tmp_path / "ray.jsonl.errors.jsonl").read_text().splitlines()]
    assert [(e["id"], e["error"]["code"], e["line"]) for e in errors] == [
        ("r7", "not_a_string", None),
        ("r9", "empty_text", None),
    ]


def test_csv_to_parquet_file(tmp_path: Path) -> None:
    rows = items(300)
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text", "group"])
        w.writeheader()
        w.writerows(rows)
    local, remote = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    score_file(src, local, options=BatchOptions(progress=False), engine=FakeEngine())
    summary = ray_score(src, remote, factory=FACTORY, progress=False)
    assert summary.ok == 300 and summary.errors_file is None
    assert pq.read_table(remote).equals(pq.read_table(local))


def test_parquet_to_folder_with_rays_writer(tmp_path: Path) -> None:
    rows = items(200)
    rows[3]["text"] = None
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src, row_group_size=50)
    out = tmp_path / "scored"
    summary = ray_score(src, str(out), factory=FACTORY, keep=("group",), progress=False)
    assert (summary.rows, summary.ok, summary.failed) == (200, 199, 1)
    table = pq.read_table(out)
    assert sorted(table.column("id").to_pylist()) == sorted(r["id"] for r in rows)
    assert "error_code" in table.column_names and "group" in table.column_names
    bad = table.filter(pa.compute.is_valid(table.column("error_code")))
    assert bad.column("id").to_pylist() == ["r3"] and bad.column("error_code").to_pylist() == ["missing_field"]


def test_cli_engine_ray_with_the_real_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from affectlens.cli import main

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in items(60)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--engine", "ray", "--lexicon-only", "--quiet"]) == 0
    local = tmp_path / "local.jsonl"
    assert main(["score", str(src), "-o", str(local), "--lexicon-only", "--quiet"]) == 0
    assert out.read_bytes() == local.read_bytes()


def test_a_malformed_line_fails_the_ray_job_with_a_hint(tmp_path: Path) -> None:
    from affectlens.batch import BatchError

    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": "broken\n', encoding="utf-8")
    with pytest.raises(BatchError, match="local engine"):
        ray_score(src, tmp_path / "out.jsonl", factory=FACTORY, progress=False)
    assert not (tmp_path / "out.jsonl").exists()
