"""Praise framing a situation: the commonest shape of sarcasm.

"Great, just great: the ferry left without us." pairs praise with a situation that holds none; sarcasm most often
takes this shape (positive sentiment next to a negative situation). ``praise_frame`` finds the shape without
judging the situation: a short frame of praise (at most ``MAX_FRAME_WORDS`` words, a positive word and no negative
one) that opens the text up to a comma, colon or semicolon (each of its clauses praises or is a short
interjection), before a situation (the rest of its sentence) of at least ``MIN_SITUATION_WORDS`` words without a
positive word or emoji ("Terrific, the printer jammed twice. Truly terrific.").
Whether the situation is a mishap is the network's to read: the situation is the text's ``focus`` view
(``affectlens.views``), and the evidence gate ``praise_frame`` opens where the network reads it as negative. A
frame is no sentence of its own: "Naw, you're good. They lost it." and "I didn't know that! Thanks!" are sincere
(measured on Reddit comments, where such sentences opened the gate on praise). "Great news: we won the cup!" is no
frame (the situation holds praise), nor is a text with a question.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import WORD, Token

__all__ = ["MAX_FRAME_WORDS", "MIN_SITUATION_WORDS", "praise_frame"]

MAX_FRAME_WORDS = 5
MIN_SITUATION_WORDS = 3
MAX_INTERJECTION_WORDS = 2  # a clause of the frame without praise ("Yeah,", "Oh,", "universe:")


def _is_praise(valences: Sequence[float]) -> bool:
    return any(v > 0 for v in valences) and not any(v < 0 for v in valences)


def _words(tokens: Sequence[Token]) -> int:
    return sum(1 for t in tokens if t.kind == WORD)


def praise_frame(text: str, tokens: Sequence[Token], valences: Sequence[float]) -> tuple[int, int] | None:
    """The situation's token span ``[start, end)`` (to the end of its sentence) where a frame of praise opens the
    text; else None. ``valences``: the tokens' final valences (after negation: "wasn't helpful" is no praise). A
    question praises nothing ("Is it good? I will tell you after the trip.")."""
    n = len(tokens)
    if "?" in text:
        return None
    start = clause = words = 0
    for k in range(n - 1):  # clause by clause: each praises, or is an interjection ("Yeah,", "universe:")
        words += tokens[k].kind == WORD
        if words > MAX_FRAME_WORDS or tokens[k].sent_end:  # a sentence of praise is an opinion, no frame
            break
        if not tokens[k].clause_end:
            continue
        said = valences[clause : k + 1]
        interjection = _words(tokens[clause : k + 1]) <= MAX_INTERJECTION_WORDS
        if any(v < 0 for v in said) or not (interjection or any(v > 0 for v in said)):
            break
        clause = k + 1
        if _is_praise(valences[: k + 1]):
            start = k + 1
    end = next((k + 1 for k in range(start, n) if tokens[k].sent_end), n)  # the situation: the sentence it opens
    if start == 0 or _words(tokens[start:end]) < MIN_SITUATION_WORDS:
        return None
    if any(v > 0 for v in valences[start:end]):
        return None
    return start, end
