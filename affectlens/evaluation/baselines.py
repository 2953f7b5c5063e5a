"""Baselines the report and the behavioural suite compare against: stock VADER and TF-IDF + logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from affectlens.datasets import LabeledText


def stock_vader(texts: Sequence[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from affectlens.engine import lexicon_sentiment_scores

    analyzer = SentimentIntensityAnalyzer()
    return lexicon_sentiment_scores(np.array([analyzer.polarity_scores(t)["compound"] for t in texts]))


def tfidf_baseline(train: Sequence[LabeledText], texts: Sequence[str], polarity_only: bool) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced"),
    )
    model.fit([r.text for r in train], [r.sentiment for r in train])
    proba = model.predict_proba(texts)
    out = np.zeros((len(texts), 3))
    out[:, model.classes_] = proba
    return out
