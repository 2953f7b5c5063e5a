"""Resume after a real kill: a scoring process is SIGKILLed mid-way, then ``--resume`` finishes the job.

Every id must come out exactly once and in input order, the rows committed before the kill must not be scored
again, and OUTPUT must never exist half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pq = pytest.importorskip("pyarrow.parquet")

SCRIPT = """
import functools, json, sys
from affectlens.batch import BatchOptions, score_file
from affectlens.batch.testing import fake_engine_factory
src, out, workers, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
opts = BatchOptions(progress=False, chunk_size=25, workers=workers, resume=resume, parquet_part_rows=100)
summary = score_file(src, out, options=opts, factory=functools.partial(fake_engine_factory, delay=0.001))
print(json.dumps(summary.to_dict()))
"""


def write_input(path: Path, n: int) -> list[str]:
    ids = [f"id-{i:06d}" for i in range(n)]
    with open(path, "w", encoding="utf-8") as f:
        for i, rid in enumerate(ids):
            text = "" if i % 500 == 7 else f"row {i}: {'lovely' if i % 3 else 'awful'} weather today"
            f.write(json.dumps({"id": rid, "text": text}) + "\n")
    return ids


def start(args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def kill_when(
    proc: subprocess.Popen[bytes], checkpoint: Path, rows: int, timeout: float = 120, group: bool = True
) -> dict[str, Any]:
    """SIGKILL the process group (or, ``group=False``, the parent alone) once the checkpoint records at least
    ``rows`` rows; return the checkpoint."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"finished before the kill: {proc.communicate()}"
            try:
                if json.loads(checkpoint.read_text())["rows"] >= rows:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        else:
            pytest.fail("the job made no progress")
    finally:
        alive = job_processes(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL) if group else os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(alive) >= (1 if group else 3)  # the parent (+ 2 workers and multiprocessing's resource tracker)
    assert proc.returncode == -signal.SIGKILL
    return dict(json.loads(checkpoint.read_text()))


def output_ids(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return [str(v) for v in pq.read_table(path, columns=["id"]).column("id").to_pylist()]
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(("out_name", "workers"), [("out.jsonl", 1), ("out.parquet", 2)])
def test_sigkill_mid_way_then_resume(tmp_path: Path, out_name: str, workers: int) -> None:
    src = tmp_path / "in.jsonl"
    ids = write_input(src, 3000)
    out = tmp_path / out_name
    checkpoint = tmp_path / f"{out_name}.checkpoint.json"
    cmd = [sys.executable, "-c", SCRIPT, str(src), str(out), str(workers)]
    ckpt = kill_when(start([*cmd, "0"]), checkpoint, rows=600)
    assert ckpt["state"] == "running" and 600 <= ckpt["rows"] < 3000
    assert not out.exists()  # never a half-written OUTPUT
    proc = start([*cmd, "1"])
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    summary = json.loads(stdout.decode().strip().splitlines()[-1])
    assert summary["resumed_rows"] == ckpt["rows"]  # the committed rows were not scored again
    assert summary["rows"] == 3000 and summary["failed"] == 6
    good = [rid for i, rid in enumerate(ids) if i % 500 != 7]
    assert output_ids(out) == good  # every id exactly once, in input order
    errors = [json.loads(line) for line in (tmp_path / f"{out_name}.errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [i + 1 for i in range(3000) if i % 500 == 7]
    assert not checkpoint.exists() and not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.parts"))


def job_processes(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group: the job's parent, its workers, multiprocessing helpers."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_cli_sigkill_of_the_parent_ends_its_workers_then_resume_real_engine(tmp_path: Path) -> None:
    """The real command line and engine (lexicon mode, 2 worker processes): SIGKILL of the parent alone must
    end the workers (they are not in the kill); --resume then loses and duplicates no row."""
    src = tmp_path / "in.jsonl"
    ids = write_input(src, 12000)
    out = tmp_path / "out.jsonl"
    cli = [sys.executable, "-m", "affectlens.cli", "score", str(src), "-o", str(out), "--lexicon-only",
           "--workers", "2", "--chunk-size", "100", "--no-progress"]  # fmt: skip
    proc = start(cli)
    checkpoint = tmp_path / "out.jsonl.checkpoint.json"
    try:
        ckpt = kill_when(proc, checkpoint, rows=1500, timeout=240, group=False)
        assert _wait_gone(proc.pid, 5.0) == []  # every process of the job ended with its parent
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever survived: do not leave it running
    assert not out.exists()
    proc = start([*cli, "--resume"])
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr.decode()  # 1: some rows (the empty texts) failed
    summary = json.loads(stderr.decode().strip().splitlines()[-1])
    assert summary["resumed_rows"] == ckpt["rows"] and summary["rows"] == 12000 and summary["failed"] == 24
    assert output_ids(out) == [rid for i, rid in enumerate(ids) if i % 500 != 7]  # 0 lost, 0 duplicated


def _wait_gone(pgid: int, seconds: float) -> list[int]:
    """The job's processes still alive after up to ``seconds`` (polling; empty as soon as all are gone)."""
    deadline = time.monotonic() + seconds
    while (alive := job_processes(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive
