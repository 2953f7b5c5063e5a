"""Readers for labelled text datasets, shared by `affectlens train` and `affectlens evaluate`.

Every reader returns a list of `LabeledText`. A row carries a 3-class sentiment label, a polarity-only
label (binary data such as SST-2, where "neutral" was never an option), a set of GoEmotions labels, or
several of these. Readers never download anything: they read the files under a data directory.

Named datasets (``load_named``) use the layout of ``shared/data`` (see its README):

==========================  =======================================  =====================
name                        files                                    splits
==========================  =======================================  =====================
tweeteval-sentiment         tweeteval/sentiment/{split}_text.txt     train, val
goemotions                  goemotions/{split}.tsv                   train, dev
goemotions-sentiment        goemotions/{split}.tsv and               train, dev
                            goemotions/sentiment_mapping.json
sst2                        sst/sst2_{split}.tsv                     train, validation
financial-phrasebank        financial_phrasebank/{split}.tsv         train, validation
==========================  =======================================  =====================

Any CSV/TSV/JSONL file can be read with ``read_table`` and column options.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from affectlens.errors import AffectlensError
from affectlens.labels import EMOTION_LABELS, SENTIMENT_LABELS


@dataclass(frozen=True)
class LabeledText:
    """One labelled text.

    ``sentiment`` indexes SENTIMENT_LABELS. ``polarity_only`` marks binary data (negative vs positive
    only): such a row says nothing about how neutral the text is, so losses and metrics that need the
    neutral class must leave it out. ``emotions`` holds indices into EMOTION_LABELS (multi-label).
    """

    text: str
    sentiment: int | None = None
    polarity_only: bool = False
    emotions: tuple[int, ...] | None = None
    source: str = ""
    irony: int | None = None  # 1 ironic, 0 not (TweetEval irony)


class DatasetError(AffectlensError):
    code = "dataset"


SENTIMENT_NAMES = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
EMOTION_NAMES = {name: i for i, name in enumerate(EMOTION_LABELS)}

NAMED_DATASETS = (
    "tweeteval-sentiment", "goemotions", "sst2", "financial-phrasebank", "goemotions-sentiment",
    "tweeteval-emotion-polarity",
)  # fmt: skip
IRONY_DATASET = "tweeteval-irony"  # loadable by name; not a sentiment/emotion set, so not in NAMED_DATASETS


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path} (pass --data-dir pointing at the data folder)")
    return path


def _read_tweeteval(data_dir: Path, task: str, split: str) -> list[tuple[str, int]]:
    """(text, integer label) pairs of a TweetEval task: ``{split}_text.txt`` + ``{split}_labels.txt``."""
    base = Path(data_dir) / "tweeteval" / task
    texts = _require(base / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = _require(base / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    texts = texts[: len(labels)]
    if len(texts) != len(labels):
        raise DatasetError(f"{base}: {len(texts)} texts but {len(labels)} labels for split {split!r}")
    return [(text.strip(), int(label)) for text, label in zip(texts, labels, strict=True)]


def read_tweeteval_sentiment(data_dir: Path, split: str) -> list[LabeledText]:
    """TweetEval sentiment (0 neg, 1 neu, 2 pos)."""
    rows = _read_tweeteval(data_dir, "sentiment", split)
    return [LabeledText(text, sentiment=label, source="tweeteval-sentiment") for text, label in rows]


# TweetEval emotion's four labels (its mapping.txt: 0 anger, 1 joy, 2 optimism, 3 sadness) as a polarity.
_EMOTION_POLARITY = {0: 0, 1: 2, 2: 2, 3: 0}


def read_tweeteval_emotion_polarity(data_dir: Path, split: str) -> list[LabeledText]:
    """TweetEval emotion as polarity-only rows: anger and sadness negative, joy and optimism positive. Tweets with
    their emoji (TweetEval sentiment has none): the emoji slice of ``affectlens evaluate``; no affectlens network
    trains on this set."""
    return [
        LabeledText(text, sentiment=_EMOTION_POLARITY[label], polarity_only=True, source="tweeteval-emotion-polarity")
        for text, label in _read_tweeteval(data_dir, "emotion", split)
    ]


def read_tweeteval_irony(data_dir: Path, split: str) -> list[LabeledText]:
    """TweetEval irony (0 not ironic, 1 ironic)."""
    return [
        LabeledText(text, irony=label, source="tweeteval-irony")
        for text, label in _read_tweeteval(data_dir, "irony", split)
    ]


def read_goemotions(data_dir: Path, split: str) -> list[LabeledText]:
    """GoEmotions TSV without header: text, comma-separated label ids, comment id (quote-aware)."""
    path = _require(Path(data_dir) / "goemotions" / f"{split}.tsv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line_no, fields in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if len(fields) < 2:
                raise DatasetError(f"{path}:{line_no}: expected text<TAB>label ids, got {fields!r}")
            ids = tuple(sorted({int(i) for i in fields[1].split(",") if i.strip()}))
            rows.append(LabeledText(fields[0].strip(), emotions=ids, source="goemotions"))
    return rows


def read_sst2(data_dir: Path, split: str) -> list[LabeledText]:
    """SST-2 (binary): polarity-only rows, label 0 -> negative, 1 -> positive."""
    path = _require(Path(data_dir) / "sst" / f"sst2_{split}.tsv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            label = SENTIMENT_NAMES["positive"] if record["label"].strip() == "1" else SENTIMENT_NAMES["negative"]
            rows.append(LabeledText(record["sentence"].strip(), sentiment=label, polarity_only=True, source="sst2"))
    return rows


def read_phrasebank(data_dir: Path, split: str) -> list[LabeledText]:
    """Financial PhraseBank TSV with header ``sentence, label, agreement``."""
    path = _require(Path(data_dir) / "financial_phrasebank" / f"{split}.tsv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            rows.append(
                LabeledText(
                    record["sentence"].strip(),
                    sentiment=SENTIMENT_NAMES[record["label"].strip()],
                    source="financial-phrasebank",
                )
            )
    return rows


def goemotions_sentiment(data_dir: Path | str) -> Callable[[Sequence[int]], int | None]:
    """The 3-class sentiment of a GoEmotions label set, by the dataset's own ``sentiment_mapping.json`` (positive,
    negative and ambiguous emotions): positive (negative) when every label is a positive (negative) emotion,
    neutral when the only label is "neutral", else None (ambiguous or mixed)."""
    path = _require(Path(data_dir) / "goemotions" / "sentiment_mapping.json")
    mapping = json.loads(path.read_text(encoding="utf-8"))
    group = {EMOTION_LABELS.index(e): g for g in ("positive", "negative") for e in mapping[g]}
    neutral = EMOTION_LABELS.index("neutral")

    def sentiment(emotions: Sequence[int]) -> int | None:
        groups = {group.get(i, "other") for i in emotions}
        if tuple(emotions) == (neutral,):
            return SENTIMENT_LABELS.index("neutral")
        if groups in ({"positive"}, {"negative"}):
            return SENTIMENT_LABELS.index(groups.pop())
        return None

    return sentiment


def read_goemotions_sentiment(data_dir: Path, split: str) -> list[LabeledText]:
    """GoEmotions comments with a 3-class sentiment derived from their emotion labels (``goemotions_sentiment``;
    comments with ambiguous or mixed labels are left out). Reddit comments, some with emoji: a sentiment domain
    that the other validation sets lack."""
    return reddit_sentiment_rows(read_goemotions(data_dir, split), data_dir)


def reddit_sentiment_rows(rows: Sequence[LabeledText], data_dir: Path | str) -> list[LabeledText]:
    """A sentiment row (source ``goemotions-sentiment``) for each GoEmotions row of ``rows`` whose labels give one
    (``goemotions_sentiment``); other rows are skipped."""
    sentiment = goemotions_sentiment(data_dir)
    out = []
    for row in rows:
        if row.source != "goemotions" or not row.emotions:
            continue
        label = sentiment(row.emotions)
        if label is not None:
            out.append(LabeledText(row.text, sentiment=label, source="goemotions-sentiment"))
    return out


def load_named(name: str, data_dir: Path | str, split: str) -> list[LabeledText]:
    """Load one of NAMED_DATASETS from ``data_dir``."""
    readers = {
        "tweeteval-sentiment": read_tweeteval_sentiment,
        "goemotions": read_goemotions,
        "sst2": read_sst2,
        "financial-phrasebank": read_phrasebank,
        "goemotions-sentiment": read_goemotions_sentiment,
        "tweeteval-irony": read_tweeteval_irony,
        "tweeteval-emotion-polarity": read_tweeteval_emotion_polarity,
    }
    if name not in readers:
        known = ", ".join((*NAMED_DATASETS, IRONY_DATASET))
        raise DatasetError(f"unknown dataset {name!r}; choose one of {known} or pass a file")
    return readers[name](Path(data_dir), split)


def _parse_sentiment(value: object, label_map: dict[str, int] | None) -> int:
    key = str(value).strip()
    if label_map is not None:
        if key not in label_map:
            raise DatasetError(f"label {key!r} is not in the label map {sorted(label_map)}")
        return label_map[key]
    if key.lower() in SENTIMENT_NAMES:
        return SENTIMENT_NAMES[key.lower()]
    if key in {"0", "1", "2"}:
        return int(key)
    raise DatasetError(f"cannot read sentiment label {key!r}: use negative/neutral/positive, 0/1/2 or --label-map")


def _parse_emotions(value: object) -> tuple[int, ...]:
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    ids = set()
    for item in items:
        key = str(item).strip()
        if not key:
            continue
        if key in EMOTION_NAMES:
            ids.add(EMOTION_NAMES[key])
        elif key.isdigit() and int(key) < len(EMOTION_LABELS):
            ids.add(int(key))
        else:
            raise DatasetError(f"unknown emotion label {key!r}; use GoEmotions names or ids 0-27")
    return tuple(sorted(ids))


def _iter_records(path: Path) -> Iterable[dict[str, object]]:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".json", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{path}:{line_no}: invalid JSON ({exc.msg})") from exc
        return
    if suffix in {".csv", ".tsv"}:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
        return
    raise DatasetError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .csv or .tsv")


def read_table(
    path: Path | str,
    *,
    text_field: str = "text",
    label_field: str | None = "label",
    emotions_field: str | None = None,
    label_map: dict[str, int] | None = None,
    polarity_only: bool = False,
) -> list[LabeledText]:
    """Read a CSV/TSV/JSONL file of labelled texts, naming the columns to use."""
    path = _require(Path(path))
    rows = []
    for n, record in enumerate(_iter_records(path), start=1):
        if text_field not in record:
            raise DatasetError(f"{path}: row {n} has no column {text_field!r} (columns: {sorted(record)})")
        sentiment = None
        if label_field and record.get(label_field) not in (None, ""):
            sentiment = _parse_sentiment(record[label_field], label_map)
        emotions = None
        if emotions_field and record.get(emotions_field) not in (None, ""):
            emotions = _parse_emotions(record[emotions_field])
        rows.append(LabeledText(str(record[text_field]).strip(), sentiment, polarity_only, emotions, source=path.stem))
    return rows


def holdout_bucket(text: str, buckets: int = 100) -> int:
    """A stable bucket in [0, buckets) from the text alone (for the calibration hold-out)."""
    digest = hashlib.blake2b(text.strip().lower().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


def split_holdout(rows: Sequence[LabeledText], percent: int) -> tuple[list[LabeledText], list[LabeledText]]:
    """Split rows into (fit, held_out) by a hash of the text, so that duplicates land on one side.

    The fine-tune never sees the held-out part; the calibrated stacker is fitted on it.
    """
    fit: list[LabeledText] = []
    held_out: list[LabeledText] = []
    for row in rows:
        (held_out if holdout_bucket(row.text) < percent else fit).append(row)
    return fit, held_out
