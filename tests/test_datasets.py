from __future__ import annotations

import json
from pathlib import Path

import pytest

from affectlens.datasets import DatasetError, LabeledText, load_named, read_table, reddit_sentiment_rows, split_holdout


def test_named_readers(tiny_data: Path) -> None:
    te = load_named("tweeteval-sentiment", tiny_data, "val")
    assert te[0].sentiment == 2 and not te[0].text.endswith(" ")
    ge = load_named("goemotions", tiny_data, "train")
    assert ge[8].emotions == (2, 25) and ge[0].sentiment is None
    sst = load_named("sst2", tiny_data, "train")
    assert all(r.polarity_only and r.sentiment in (0, 2) for r in sst)
    fpb = load_named("financial-phrasebank", tiny_data, "validation")
    assert {r.sentiment for r in fpb} == {0, 1, 2}


def test_tweeteval_emotion_reads_as_polarity(tmp_path: Path) -> None:
    base = tmp_path / "tweeteval" / "emotion"
    base.mkdir(parents=True)
    (base / "val_text.txt").write_text("so angry 😡\nyay\nthings will get better\nmiss you 😢\n", encoding="utf-8")
    (base / "val_labels.txt").write_text("0\n1\n2\n3\n", encoding="utf-8")  # anger, joy, optimism, sadness
    rows = load_named("tweeteval-emotion-polarity", tmp_path, "val")
    assert [r.sentiment for r in rows] == [0, 2, 2, 0]
    assert all(r.polarity_only and r.source == "tweeteval-emotion-polarity" for r in rows)
    assert rows[0].text == "so angry 😡"


def test_goemotions_quoted_text(tmp_path: Path) -> None:
    (tmp_path / "goemotions").mkdir()
    (tmp_path / "goemotions" / "dev.tsv").write_text('"He said ""hi""\tthere"\t4,27\tabc\n', encoding="utf-8")
    (row,) = load_named("goemotions", tmp_path, "dev")
    assert row.text == 'He said "hi"\tthere' and row.emotions == (4, 27)


def test_goemotions_sentiment_is_derived_from_the_emotion_groups(tiny_data: Path, tmp_path: Path) -> None:
    derived = load_named("goemotions-sentiment", tiny_data, "dev")
    by_text = {r.text: r for r in load_named("goemotions", tiny_data, "dev")}
    assert len(derived) == len(by_text) and all(r.emotions is None for r in derived)
    labels = {r.sentiment for r in derived}
    assert labels == {0, 1, 2}  # joy -> positive, anger + sadness -> negative, neutral -> neutral

    (tmp_path / "goemotions").mkdir()
    (tmp_path / "goemotions" / "sentiment_mapping.json").write_text(
        (tiny_data / "goemotions" / "sentiment_mapping.json").read_text(), encoding="utf-8"
    )
    rows = "great\t17\ta\nmixed\t17,2\tb\nwow\t26\tc\nmeh\t27,17\td\n"  # joy; joy+anger; surprise; neutral+joy
    (tmp_path / "goemotions" / "dev.tsv").write_text(rows, encoding="utf-8")
    assert [(r.text, r.sentiment) for r in load_named("goemotions-sentiment", tmp_path, "dev")] == [("great", 2)]


def test_reddit_sentiment_rows_come_from_the_goemotions_rows_of_a_hold_out(tiny_data: Path) -> None:
    rows = [
        LabeledText("so happy 😊", emotions=(17,), source="goemotions"),  # joy
        LabeledText("whatever", emotions=(27,), source="goemotions"),  # neutral
        LabeledText("huh", emotions=(26,), source="goemotions"),  # surprise: ambiguous, no sentiment
        LabeledText("great", sentiment=2, source="tweeteval-sentiment"),  # not GoEmotions
    ]
    got = reddit_sentiment_rows(rows, tiny_data)
    assert [(r.text, r.sentiment, r.source, r.emotions) for r in got] == [
        ("so happy 😊", 2, "goemotions-sentiment", None),
        ("whatever", 1, "goemotions-sentiment", None),
    ]


def test_missing_files_and_unknown_names_explain_themselves(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--data-dir"):
        load_named("sst2", tmp_path, "train")
    with pytest.raises(DatasetError, match="choose one of"):
        load_named("imdb", tmp_path, "train")


def test_read_table_formats_and_column_errors(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"body": "fine", "y": "positive", "emo": ["joy", "love"]}) + "\n", encoding="utf-8")
    (row,) = read_table(jsonl, text_field="body", label_field="y", emotions_field="emo")
    assert row.sentiment == 2 and row.emotions == (17, 18)
    csv_path = tmp_path / "b.csv"
    csv_path.write_text("text,label\nbad,neg\n", encoding="utf-8")
    (row,) = read_table(csv_path, label_map={"neg": 0})
    assert row.sentiment == 0
    with pytest.raises(DatasetError, match="no column 'content'"):
        read_table(csv_path, text_field="content")
    with pytest.raises(DatasetError, match="cannot read sentiment label"):
        read_table(csv_path)
    with pytest.raises(DatasetError, match="unsupported file type"):
        read_table(_touch(tmp_path / "c.xml"))


def _touch(path: Path) -> Path:
    path.write_text("x", encoding="utf-8")
    return path


def test_holdout_split_is_stable_and_keeps_duplicates_together(tiny_data: Path) -> None:
    rows = load_named("tweeteval-sentiment", tiny_data, "train")
    fit, held = split_holdout(rows, 30)
    _, held2 = split_holdout(list(reversed(rows)), 30)
    assert {r.text for r in held} == {r.text for r in held2}
    assert not {r.text.lower() for r in fit} & {r.text.lower() for r in held}
    assert len(fit) + len(held) == len(rows) and held
