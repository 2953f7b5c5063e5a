"""Label sets shared by every part of affectlens (training, runtime, evaluation)."""

from __future__ import annotations

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

# GoEmotions label order (its labels.txt); "neutral" is the last of the 28.
EMOTION_LABELS: tuple[str, ...] = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)

NUM_SENTIMENT = len(SENTIMENT_LABELS)
NUM_EMOTION = len(EMOTION_LABELS)
# The neural model has one linear layer of NUM_SENTIMENT + NUM_EMOTION outputs: the first three rows
# are the sentiment head (softmax), the remaining 28 the emotion head (independent sigmoids).
NUM_OUTPUTS = NUM_SENTIMENT + NUM_EMOTION
