"""Handles and links as the network's training data wrote them.

TweetEval, the network's tweets, replaced every user mention by ``@user`` and dropped every token that starts with
``http`` (``shared/data/tweeteval/SOURCE.md``). A text at inference time still has its handles and links, and a
network that never saw "@maria_eats" or "https://..." reacts to them (the behavioural suite's URL/handle
invariance test). ``as_trained`` applies the same convention before the network reads the text: mentions become
``@user``; links (``http(s)://...``, ``www....``, ``domain.tld/path``) are dropped. The lexicon, the explanations
and their offsets keep the original text.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@\w+")
_LINK = re.compile(r"(?:(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/\S*)", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")


def as_trained(text: str) -> str:
    """``text`` with mentions as ``@user`` and links dropped; the same object when it has neither."""
    if "@" not in text and "/" not in text and "www." not in text.lower():
        return text
    out = _LINK.sub(" ", _MENTION.sub("@user", text))
    if out == text:
        return text
    return _SPACES.sub(" ", out).strip() or text
