"""Handles and links as the network's training data wrote them.

TweetEval, the network's tweets, replaced every user mention by ``@user`` and dropped every token that starts with
``http`` (``shared/data/tweeteval/SOURCE.md``). A text at inference time still has its handles and links, and a
network that never saw "@maria_eats" or "https://..." reacts to them (the behavioural suite's URL/handle
invariance test). ``as_trained`` applies the same convention before the network reads the text: mentions become
``@user``; links (``http(s)://...``, ``www....``, ``domain.tld/path``) are dropped. The lexicon, the explanations
and their offsets keep the original text.

A handle that opens a text still moves the network (its tweets open with ``@user`` in one case in five, replies
mostly): "@someone You will find the show next to the station." read 0.15 more neutral than the sentence alone.
``without_leading_handles`` gives the text without them; with ``NeuralConfig.average_leading_handles`` the network
reads both forms and averages their logits, which halves that move in logit space and keeps part of what a
reply's opening handle tells (off until the shipped calibration is fitted with it).
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@\w+")
_LINK = re.compile(r"(?:(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/\S*)", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
_LEADING_HANDLES = re.compile(r"^\s*(?:@\w+[\s:,]*)+")


def as_trained(text: str) -> str:
    """``text`` with mentions as ``@user`` and links dropped; the same object when it has neither."""
    if "@" not in text and "/" not in text and "www." not in text.lower():
        return text
    out = _LINK.sub(" ", _MENTION.sub("@user", text))
    if out == text:
        return text
    return _SPACES.sub(" ", out).strip() or text


def without_leading_handles(text: str) -> str | None:
    """``text`` without the handles that open it; None where none opens it or nothing else is left."""
    if not text.lstrip().startswith("@"):
        return None
    rest = _LEADING_HANDLES.sub("", text, count=1)
    return rest if rest.strip() and rest != text else None
