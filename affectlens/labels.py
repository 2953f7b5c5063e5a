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
# The neural model has one linear layer: the first three rows are the sentiment head (softmax), the next 28 the
# emotion head (independent sigmoids) and, in models trained with it, one more row the irony head (a sigmoid).
NUM_OUTPUTS = NUM_SENTIMENT + NUM_EMOTION
SENTIMENT_SLICE = slice(0, NUM_SENTIMENT)
EMOTION_SLICE = slice(NUM_SENTIMENT, NUM_SENTIMENT + NUM_EMOTION)
IRONY_INDEX = NUM_SENTIMENT + NUM_EMOTION  # present only when the model has the irony head
NUM_OUTPUTS_WITH_IRONY = NUM_OUTPUTS + 1


def output_names(irony: bool = False) -> list[str]:
    """Names of the network's output rows (``config.id2label`` of the Hugging Face model)."""
    names = [f"sentiment:{n}" for n in SENTIMENT_LABELS] + [f"emotion:{n}" for n in EMOTION_LABELS]
    return [*names, "irony:irony"] if irony else names


VADER_THRESHOLD = 0.05  # VADER's convention: compound >= 0.05 positive, <= -0.05 negative
