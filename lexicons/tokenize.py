"""A cheap VADER-compatible tokenizer with character offsets.

VADER splits on whitespace (``str.split()``) and strips leading and trailing ``string.punctuation``
from each chunk unless that leaves two characters or fewer (then the chunk is kept whole, which
keeps emoticons such as ``:)`` and short words with punctuation such as ``ok,``). We do exactly
that, so that on emoji-free text our tokens are VADER's ``words_and_emoticons``, and add:

- character offsets (``text[start:end] == token.text``);
- emoji split off as their own tokens, found with the ``emoji`` package (ZWJ sequences, skin
  tones, keycaps, flags); a trailing U+FE0E/U+FE0F or skin-tone modifier that the package left
  over is absorbed into the emoji. Each text part between emoji is tokenized like a chunk.
  ``emoji`` is only consulted for a whitespace-delimited chunk that contains a character that
  occurs in some emoji (a C-level regex check), so ASCII text never pays for it.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from .base import EMOJI, PUNCT, WORD, Token

__all__ = ["emoji_spans", "tokenize"]

_PUNCT = string.punctuation
_PUNCT_SET = frozenset(_PUNCT)
_ALNUM = re.compile(r"[^\W_]")
_CLAUSE = frozenset(",;:.!?")
_SENT = frozenset(".!?")
# Characters that extend an emoji the package already matched: variation selectors, skin tones.
_MODIFIERS = frozenset("\ufe0e\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")


@lru_cache(maxsize=1)
def _emoji_char_re() -> re.Pattern[str]:
    """A character class of every non-ASCII character that occurs in an emoji."""
    import emoji

    chars = sorted({c for e in emoji.EMOJI_DATA for c in e if ord(c) > 127})
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def emoji_spans(chunk: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each emoji in a whitespace-free ``chunk``, modifiers included, in order."""
    if chunk.isascii() or _emoji_char_re().search(chunk) is None:
        return []
    import emoji

    spans: list[tuple[int, int]] = []
    n = len(chunk)
    for m in emoji.emoji_list(chunk):
        start, end = m["match_start"], m["match_end"]
        if spans and start < spans[-1][1]:  # already absorbed as a modifier
            continue
        while end < n and chunk[end] in _MODIFIERS:
            end += 1
        spans.append((start, end))
    return spans


def _add(tokens: list[Token], seg: str, s0: int) -> None:
    """Append the VADER token for one whitespace chunk (or chunk part between emoji)."""
    stripped = seg.strip(_PUNCT)
    if len(stripped) <= 2:
        text, start = seg, s0
    else:
        text, start = stripped, s0 + len(seg) - len(seg.lstrip(_PUNCT))
    body = seg.rstrip(_PUNCT)
    trailing = seg[len(body) :] if body else seg
    tokens.append(
        Token(
            text,
            start,
            start + len(text),
            text.lower(),
            WORD if _ALNUM.search(text) else PUNCT,
            not _CLAUSE.isdisjoint(trailing),
            not _SENT.isdisjoint(trailing),
        )
    )


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into VADER tokens with offsets; emoji become their own tokens."""
    tokens: list[Token] = []
    maybe_emoji = not text.isascii()
    pos = 0
    find = text.find
    punct = _PUNCT_SET
    for chunk in text.split():
        cstart = find(chunk, pos)
        cend = cstart + len(chunk)
        pos = cend
        spans = emoji_spans(chunk) if maybe_emoji else None
        if not spans:
            if chunk[0] not in punct and chunk[-1] not in punct:  # fast path: nothing to strip
                kind = WORD if chunk[0].isalnum() or chunk[-1].isalnum() or _ALNUM.search(chunk) else PUNCT
                tokens.append(Token(chunk, cstart, cend, chunk.lower(), kind, False, False))
            else:
                _add(tokens, chunk, cstart)
            continue
        cur = 0
        for es, ee in spans:
            if es > cur:
                _add(tokens, chunk[cur:es], cstart + cur)
            e_text = chunk[es:ee]
            tokens.append(Token(e_text, cstart + es, cstart + ee, e_text, EMOJI, False, False))
            cur = ee
        if cur < len(chunk):
            _add(tokens, chunk[cur:], cstart + cur)
    return tokens
