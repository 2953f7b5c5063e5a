"""Read a file of labelled texts (JSONL / CSV / TSV / Parquet, or a Label Studio JSON export) for the domain
commands (``adapt``, ``audit-labels``, ``compare``).

Rows that cannot be used (no text, empty text, no label, a malformed line) are skipped and counted by reason;
problems with the file as a whole (missing file or column, labels outside the label set, a single class, too
few rows) raise :class:`DomainInputError` with what to do. Labels match the label set after stripping,
case-insensitively; the label set is the one given, else the sentiment labels when every label is one, else the
labels found, sorted (numerically when they are all integers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from affectlens.batch.readers import format_of, open_reader, usable_records
from affectlens.batch.types import ReadOptions
from affectlens.errors import AffectlensError
from affectlens.labels import SENTIMENT_LABELS

__all__ = ["MIN_LABELLED_ROWS", "DomainInputError", "LabelledData", "read_labelled"]

MIN_LABELLED_ROWS = 20  # fewer usable rows than this support no classifier, audit or comparison
FORMATS_HINT = "a labelled JSONL, CSV, TSV or Parquet file, or a Label Studio JSON export"
Row = tuple[int, str, Any]  # (1-based line / row / task number, text, raw label value)


class DomainInputError(AffectlensError):
    """A labelled file cannot be used as a whole; the message says what to change."""

    code = "bad_labelled_data"


@dataclass(frozen=True)
class LabelledData:
    """The usable rows of a labelled file: ``texts[i]`` has the label ``labels[i]`` (one of ``label_set``).

    ``lines[i]`` is where the row is in the file: its line (CSV: the header is line 1), its Parquet row number,
    or, in a Label Studio export, its position among the tasks with a text (1-based).
    ``skipped``: reason -> rows left out."""

    texts: list[str]
    labels: list[str]
    label_set: tuple[str, ...]
    path: str
    skipped: dict[str, int] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_ids(self) -> np.ndarray:
        """``labels`` as indices into ``label_set`` (int64)."""
        index = {name: k for k, name in enumerate(self.label_set)}
        return np.array([index[name] for name in self.labels], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Rows per label, in ``label_set`` order (0 for a label without rows)."""
        found = Counter(self.labels)
        return {name: found.get(name, 0) for name in self.label_set}


def read_labelled(
    path: str | Path,
    text_field: str = "text",
    label_field: str = "label",
    labels: Sequence[str] | None = None,
    *,
    min_rows: int = MIN_LABELLED_ROWS,
    label_source: str = "--labels",
) -> LabelledData:
    """The usable rows of ``path`` (see the module docstring). ``label_source`` names where a given label set
    came from, for the message about labels outside it (e.g. a command that always uses the sentiment labels)."""
    path = Path(path)
    if not path.is_file():
        raise DomainInputError(f"{path}: no such file; give the path of {FORMATS_HINT}")
    skipped: Counter[str] = Counter()
    rows = [(line, text, name) for line, text, value in _rows(path, text_field, label_field, skipped)
            if (name := _label_text(value, skipped)) is not None]  # fmt: skip
    label_set = _clean_label_set(labels) if labels is not None else _infer_label_set([r[2] for r in rows])
    canonical = {name.casefold(): name for name in label_set}
    unknown = Counter(name for _, _, name in rows if name.casefold() not in canonical)
    if unknown:
        raise DomainInputError(_unknown_message(path, unknown, label_set, label_source))
    data = LabelledData(
        texts=[text for _, text, _ in rows],
        labels=[canonical[name.casefold()] for _, _, name in rows],
        label_set=label_set,
        path=str(path),
        skipped=dict(skipped),
        lines=[line for line, _, _ in rows],
    )
    _check_usable(data, min_rows)
    return data


def _rows(path: Path, text_field: str, label_field: str, skipped: Counter[str]) -> Iterator[Row]:
    """(line, text, raw label) of every row with a non-empty text; other rows are counted in ``skipped``."""
    if path.suffix.lower() == ".json" and _is_json_list(path):
        yield from _label_studio_rows(path, text_field, skipped)
        return
    try:
        fmt = format_of(path)
    except AffectlensError as exc:
        raise DomainInputError(f"{exc.message} ({FORMATS_HINT})") from None
    columns = _columns(path, fmt)
    for name, flag in ((text_field, "--text-field"), (label_field, "--label-field")):
        if name not in columns:
            listed = ", ".join(columns[:30]) or "none"
            raise DomainInputError(
                f"{path} has no {name!r} column (columns: {listed}); set {flag} to the column with the "
                f"{'text' if flag == '--text-field' else 'label'}"
            )
    options = ReadOptions(text_field=text_field, id_field=None, keep=(label_field,))
    try:
        reader = open_reader(path, options, fmt)
    except AffectlensError as exc:
        raise DomainInputError(exc.message) from None
    for record in usable_records(reader, skipped):
        yield int(record.line or 0), record.text, record.keep[0]


def _is_json_list(path: Path) -> bool:
    with open(path, "rb") as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"[")


def _label_studio_rows(path: Path, text_field: str, skipped: Counter[str]) -> Iterator[Row]:
    from affectlens.domain.label_studio import read_export

    for n, (text, label) in enumerate(read_export(path, text_field=text_field), start=1):
        if not isinstance(text, str) or not text.strip():
            skipped["empty_text"] += 1
        elif label is None:
            skipped["no_annotation"] += 1
        else:
            yield n, text, label


def _columns(path: Path, fmt: str) -> list[str]:
    """Field names: the CSV header, the Parquet schema, or the keys of the first JSON object line."""
    from affectlens.monitoring.windows import columns_of

    try:
        return columns_of(str(path), fmt)
    except Exception as exc:  # an unreadable Parquet footer, a file that is not text, ...
        raise DomainInputError(f"{path}: cannot read its columns ({exc}); give {FORMATS_HINT}") from None


def _label_text(value: Any, skipped: Counter[str]) -> str | None:
    """The label as text (integers as digits), or None (counted in ``skipped``) for a missing or odd value."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    skipped["missing_label" if value is None or isinstance(value, str | float) else "not_a_single_label"] += 1
    return None


def _clean_label_set(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        labels = labels.split(",")
    names = [str(name).strip() for name in labels if str(name).strip()]
    folded = [name.casefold() for name in names]
    if len(set(folded)) != len(folded):
        dupes = sorted({name for name in folded if folded.count(name) > 1})
        raise DomainInputError(f"the label set names {', '.join(dupes)} twice (case-insensitively); list each once")
    if len(names) < 2:
        raise DomainInputError(f"the label set needs at least two labels, got {names}: e.g. --labels neg,pos")
    return tuple(names)


def _infer_label_set(names: Sequence[str]) -> tuple[str, ...]:
    spellings: dict[str, str] = {}
    for name in names:
        spellings.setdefault(name.casefold(), name)
    if set(spellings) <= set(SENTIMENT_LABELS):
        return SENTIMENT_LABELS
    found = list(spellings.values())
    if all(name.lstrip("-").isdigit() for name in found):
        return tuple(sorted(found, key=int))
    return tuple(sorted(found, key=str.casefold))


def _unknown_message(path: Path, unknown: Counter[str], label_set: Sequence[str], source: str) -> str:
    listed = ", ".join(f"{name!r} ({n})" for name, n in unknown.most_common(20))
    more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    return (
        f"{path}: {sum(unknown.values())} rows have labels not in {source} ({', '.join(label_set)}): {listed}{more}; "
        "fix those rows or add the labels to the label set"
    )


def _check_usable(data: LabelledData, min_rows: int) -> None:
    present = {name: n for name, n in data.counts().items() if n}
    skipped = f"; skipped: {', '.join(f'{k} {v}' for k, v in sorted(data.skipped.items()))}" if data.skipped else ""
    if len(data) < min_rows:
        total = len(data) + sum(data.skipped.values())
        raise DomainInputError(
            f"{data.path}: only {len(data)} usable labelled rows (of {total}{skipped}); "
            f"at least {min_rows} are needed: label more rows or check --text-field / --label-field"
        )
    if len(present) < 2:
        (only,) = present
        raise DomainInputError(
            f"{data.path}: every usable row has the label {only!r} ({len(data)} rows); at least two classes are "
            "needed: check --label-field, or add rows of the other labels"
        )


def summary_of(data: LabelledData) -> dict[str, Any]:
    """A JSON-ready description: path, rows used, rows per label, rows skipped by reason."""
    return {"path": data.path, "rows": len(data), "labels": data.counts(), "skipped": dict(data.skipped)}
