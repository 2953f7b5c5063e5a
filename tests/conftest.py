"""Shared fixtures: tiny datasets in the shared/data layout and a tiny BERT built from a config."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

POSITIVE = [
    "i love this so much",
    "what a great day",
    "this is wonderful news",
    "happy and grateful today",
    "best movie ever made",
    "amazing work thank you",
    "so good i smiled",
    "great service and nice people",
]
NEGATIVE = [
    "i hate this so much",
    "what a terrible day",
    "this is awful news",
    "sad and angry today",
    "worst movie ever made",
    "horrible work no thanks",
    "so bad i cried",
    "rude service and mean people",
]
NEUTRAL = [
    "the meeting is at noon",
    "the train leaves at six",
    "this is a table",
    "we have two cats at home",
    "the report is on page four",
    "the store opens on monday",
    "it is a blue car",
    "he read the paper",
]


def write_tiny_data(root: Path, repeat: int = 3) -> Path:
    """Tiny files in the layout of shared/data (TweetEval, GoEmotions, SST-2, Financial PhraseBank)."""
    rows = [(t, 2) for t in POSITIVE] + [(t, 0) for t in NEGATIVE] + [(t, 1) for t in NEUTRAL]
    te = root / "tweeteval" / "sentiment"
    te.mkdir(parents=True)
    for split, n in (("train", repeat), ("val", 1)):
        texts = [f"{t} {k}" if k else t for k in range(n) for t, _ in rows]
        labels = [str(y) for _ in range(n) for _, y in rows]
        (te / f"{split}_text.txt").write_text("".join(f"{t} \n" for t in texts), encoding="utf-8")
        (te / f"{split}_labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    ge = root / "goemotions"
    ge.mkdir()
    emo = [(t, "17") for t in POSITIVE] + [(t, "2,25") for t in NEGATIVE] + [(t, "27") for t in NEUTRAL]
    for split in ("train", "dev"):
        (ge / f"{split}.tsv").write_text(
            "".join(f"{t}\t{lab}\tid{i}\n" for i, (t, lab) in enumerate(emo)), encoding="utf-8"
        )
    mapping = {  # the shape of GoEmotions' own sentiment_mapping.json (a subset of its labels)
        "ambiguous": ["confusion", "surprise"],
        "negative": ["anger", "sadness", "fear"],
        "positive": ["joy", "love", "gratitude"],
    }
    (ge / "sentiment_mapping.json").write_text(json.dumps(mapping), encoding="utf-8")
    sst = root / "sst"
    sst.mkdir()
    for split in ("train", "validation"):
        body = "".join(f"{t} .\t{1 if y == 2 else 0}\n" for t, y in rows if y != 1)
        (sst / f"sst2_{split}.tsv").write_text("sentence\tlabel\n" + body, encoding="utf-8")
    irony = root / "tweeteval" / "irony"
    irony.mkdir()
    ironic = [f"oh great, {t} yay" for t in NEGATIVE] + [f"just what i needed, {t}" for t in NEGATIVE]
    plain = POSITIVE + NEUTRAL
    for split in ("train", "val"):
        texts = ironic + plain
        labels = ["1"] * len(ironic) + ["0"] * len(plain)
        (irony / f"{split}_text.txt").write_text("".join(f"{t} \n" for t in texts), encoding="utf-8")
        (irony / f"{split}_labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    emotion = root / "tweeteval" / "emotion"  # 0 anger, 1 joy, 2 optimism, 3 sadness
    emotion.mkdir()
    for split in ("train", "val"):
        # 32 tweets with emoji (a slice needs 20) and 16 without
        texts = [f"{t} {e}" for e in "😊🎉" for t in POSITIVE] + [f"{t} {e}" for e in "😡😞" for t in NEGATIVE]
        texts += POSITIVE + NEGATIVE
        labels = ["1"] * 2 * len(POSITIVE) + ["0"] * 2 * len(NEGATIVE) + ["2"] * len(POSITIVE) + ["3"] * len(NEGATIVE)
        (emotion / f"{split}_text.txt").write_text("".join(f"{t} \n" for t in texts), encoding="utf-8")
        (emotion / f"{split}_labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    fpb = root / "financial_phrasebank"
    fpb.mkdir()
    names = {0: "negative", 1: "neutral", 2: "positive"}
    for split in ("train", "validation"):
        body = "".join(f"{t}\t{names[y]}\t100\n" for t, y in rows)
        (fpb / f"{split}.tsv").write_text("sentence\tlabel\tagreement\n" + body, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def lexicon() -> Any:
    """The default lexicon pipeline (spaCy parser included), shared by the tests of the lexicon's views."""
    from affectlens.lexicons import LexiconPipeline

    return LexiconPipeline()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with a 32-dim hidden size and a word-level vocabulary made from the fixtures."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    out = tmp_path_factory.mktemp("tiny-bert")
    words = sorted({w for t in POSITIVE + NEGATIVE + NEUTRAL for w in t.split()} | {".", "!", "0", "1", "2"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(out)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).save_pretrained(out)
    return out


def make_tiny_config(tiny_data: Path, tiny_base_model: Path, out: Path, **overrides: Any) -> Any:
    """A ``TrainConfig`` for a few fast steps on the tiny data and model, no MLflow (``overrides`` win)."""
    from affectlens.export.train import TrainConfig

    options: dict[str, Any] = dict(
        data_dir=str(tiny_data),
        output_dir=str(out),
        base_model=str(tiny_base_model),
        epochs=10,
        batch_size=8,
        learning_rate=3e-3,
        holdout_percent=20,
        min_words_polarity=1,
        mlflow=False,
    )
    options.update(overrides)
    return TrainConfig(**options)


@pytest.fixture
def tiny_train_config(tiny_data: Path, tiny_base_model: Path) -> Callable[..., Any]:
    """``make(out, **overrides)``: ``make_tiny_config`` bound to the tiny data and model."""
    return lambda out, **overrides: make_tiny_config(tiny_data, tiny_base_model, out, **overrides)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_data: Path, tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few steps of the real fine-tuning code on the tiny fixture data."""
    from affectlens.export.train import train

    out = tmp_path_factory.mktemp("run")
    summary = train(make_tiny_config(tiny_data, tiny_base_model, out, eval_every=50, seed=1, emotion_loss_weight=0.05))
    assert summary["steps"] > 0 and (out / "best" / "config.json").is_file()
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported by the real export code (fp32 kept, int8, fp16)."""
    pytest.importorskip("optimum.exporters.onnx")
    from affectlens.export.onnx_export import ExportConfig, export_model

    out = tmp_path_factory.mktemp("model")
    export_model(
        ExportConfig(
            checkpoint=str(tiny_checkpoint / "best"), output_dir=str(out), name="tiny", version="0.0.1", keep_fp32=True
        )
    )
    return out
