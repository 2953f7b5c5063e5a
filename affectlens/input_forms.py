"""Named, versioned text forms the network reads: the same function in training and at inference.

A model records the form it was trained with in ``affectlens_model.json`` (``input_form``) and in its Hugging
Face ``config.json`` (``affectlens_input_form``); ``NeuralModel`` and ``affectlens train`` look it up here. Names are
versioned: a change to what a form does needs a new name, or old models would silently read other text.
Only the network's input changes: the lexicon and the explanations keep reading (and pointing into) the
original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from affectlens.errors import ConfigError

EMOJI_TEXT = "emoji-text-v1"  # each emoji replaced by its English name ("👎" -> "thumbs down")
INPUT_FORMS = (EMOJI_TEXT,)


def _identity(text: str) -> str:
    return text


_SKIN_TONE = re.compile(r"_(?:light|medium-light|medium|medium-dark|dark)_skin_tone")
_SPACES = re.compile(r"[ \t]{2,}")


def _emoji_name(chars: str, data: dict[str, Any]) -> str:
    name = _SKIN_TONE.sub("", data["en"].strip(":")).replace("_", " ").lower()
    if len(chars) == 2 and all("\U0001f1e6" <= c <= "\U0001f1ff" for c in chars):
        name = f"flag of {name}"  # regional-indicator pairs: the emoji package names only the country
    return f" {name} "


def emoji_text(text: str) -> str:
    """``emoji-text-v1``: every emoji (ZWJ sequences, skin tones, variation selectors, flags) replaced by its
    English CLDR name from the ``emoji`` package, lower-case, without the skin tone ("👍🏽" -> "thumbs up",
    "🇫🇷" -> "flag of france"), padded with spaces. When a name was put, runs of spaces and tabs in the text
    become one space and the ends are stripped (the tokenizer splits on whitespace, so its ids do not change).
    A text without emoji is returned as is (the same object).
    """
    if text.isascii():
        return text
    import emoji

    replaced = emoji.replace_emoji(text, replace=_emoji_name)
    if replaced == text:
        return text
    return _SPACES.sub(" ", replaced).strip()


def input_form(name: str | None) -> Callable[[str], str]:
    """The text function for ``name`` (None: the text as is)."""
    if name is None:
        return _identity
    if name == EMOJI_TEXT:
        return emoji_text
    raise ConfigError(f"unknown network input form {name!r}: this affectlens knows {', '.join(INPUT_FORMS)}")
