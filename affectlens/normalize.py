"""Input normalization: every text is checked and normalized the same way before scoring.

Rules (documented in README "Bad input"):

* ``bytes`` must be valid UTF-8, otherwise ``invalid_utf8``; other non-``str`` items are ``not_a_string``.
* Unicode NFC; control characters other than tab/newline are replaced by a space (so offsets stay stable).
* Empty or whitespace-only text is ``empty_text``.
* Text longer than ``max_chars`` is truncated at a whitespace boundary near the limit, with a
  ``truncated`` warning on the prediction (no model reads that far: the neural input is 128 tokens).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

DEFAULT_MAX_CHARS = 5000

_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {chr(127)}
_CONTROL_TABLE = {ord(c): " " for c in _CONTROL}


@dataclass(frozen=True)
class NormalizedText:
    text: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputProblem:
    code: str
    message: str


def normalize_text(item: object, max_chars: int = DEFAULT_MAX_CHARS) -> NormalizedText | InputProblem:
    """Return the normalized text, or the reason it cannot be scored (never raises on bad input)."""
    if isinstance(item, bytes | bytearray):
        try:
            item = bytes(item).decode("utf-8")
        except UnicodeDecodeError as exc:
            return InputProblem("invalid_utf8", f"text is not valid UTF-8 (byte {exc.start}); send UTF-8 text")
    if not isinstance(item, str):
        return InputProblem("not_a_string", f"expected a string, got {type(item).__name__}")
    if max(item, default="a") >= "\ud800" and any("\ud800" <= ch <= "\udfff" for ch in item):
        return InputProblem("invalid_utf8", "text contains unpaired surrogates; send valid Unicode text")
    text = unicodedata.normalize("NFC", item).translate(_CONTROL_TABLE)
    if not text.strip():
        return InputProblem("empty_text", "text is empty or whitespace only; send at least one word")
    warnings: tuple[str, ...] = ()
    if len(text) > max_chars:
        cut = text.rfind(" ", max_chars - 200, max_chars)
        text = text[: cut if cut > 0 else max_chars]
        warnings = (f"truncated: text longer than {max_chars} characters was cut to {len(text)}",)
    return NormalizedText(text, warnings)
