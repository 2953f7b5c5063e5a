"""`affectlens analyze -` writes one line per input line; `affectlens score -` reads JSONL from stdin."""

from __future__ import annotations

import io
import json
import sys

import pytest

from affectlens.cli import main


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str
) -> tuple[int, list[str]]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
    code = main(argv)
    return code, capsys.readouterr().out.splitlines()


def test_analyze_stdin_keeps_one_output_line_per_input_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    lines = ["great", "", "   ", "awful"] + [f"line {k} is fine" for k in range(40)]
    code, out = run(monkeypatch, capsys, ["analyze", "-", "--lexicon-only"], "\n".join(lines) + "\n")
    assert len(out) == len(lines)
    payloads = [json.loads(line) for line in out]
    assert [p.get("error", {}).get("code") for p in payloads[:4]] == [None, "empty_text", "empty_text", None]
    assert (payloads[0]["label"], payloads[3]["label"]) == ("positive", "negative")
    assert code == 1  # some lines failed


def test_score_reads_jsonl_from_stdin(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": "a", "text": "great"}, {"id": "b", "text": ""}, {"id": "c", "text": "awful"}]
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    code, out = run(monkeypatch, capsys, ["score", "-", "--lexicon-only", "--quiet"], stdin)
    payloads = [json.loads(line) for line in out]
    assert [p["id"] for p in payloads] == ["a", "b", "c"]
    assert payloads[1]["error"]["code"] == "empty_text" and payloads[2]["label"] == "negative"
    assert code == 1


def test_analyze_writes_the_html_view(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out_html = tmp_path / "out.html"
    code = main(["analyze", "--lexicon-only", "--html", str(out_html), "not good"])
    assert code == 0 and out_html.is_file()
    payload = json.loads(capsys.readouterr().out.splitlines()[0])
    assert "tokens" in payload  # --html implies --explain


def test_score_stdin_to_a_file_can_run_again_after_an_interruption(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_text("half a line")  # an interrupted earlier run left these
    (tmp_path / "out.jsonl.checkpoint.json").write_text("{}")
    stdin = '{"id": "a", "text": "great"}\n{"id": "b", "text": "awful"}\n'
    code, _ = run(monkeypatch, capsys, ["score", "-", "-o", str(out), "--lexicon-only", "--quiet"], stdin)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_score_stdin_refuses_resume_and_ray(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    for extra in (["-o", "x.jsonl", "--resume"], ["-o", "x.jsonl", "--engine", "ray"]):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
        assert main(["score", "-", "--lexicon-only", *extra]) == 2
        assert "stdin" in capsys.readouterr().err
