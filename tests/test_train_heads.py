"""The issue-11 training recipe on tiny data: irony head, augmentation, behaviour fit rows, export, runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from affectlens.datasets import LabeledText
from affectlens.labels import IRONY_INDEX, NUM_OUTPUTS_WITH_IRONY, output_names


@pytest.fixture(scope="module")
def irony_run(tiny_data: Path, tiny_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from affectlens.export.train import train

    from tests.conftest import make_tiny_config

    out = tmp_path_factory.mktemp("irony-run")
    config = dict(epochs=4, eval_every=40, seed=1, irony=True, augment=True, augment_negation_share=0.5)
    train(make_tiny_config(tiny_data, tiny_base_model, out, **config))
    return out


@pytest.mark.slow
def test_irony_head_is_trained_saved_and_exported(irony_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("optimum.exporters.onnx")
    from affectlens.export.onnx_export import ExportConfig, export_model

    from affectlens.engine import Engine, EngineConfig
    from affectlens.neural import NeuralModel

    config = json.loads((irony_run / "best" / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(NUM_OUTPUTS_WITH_IRONY)] == output_names(irony=True)
    summary = json.loads((irony_run / "training_summary.json").read_text())
    assert "tweeteval-irony.irony_f1" in summary["history"][-1]
    holdout = [json.loads(line) for line in (irony_run / "holdout.jsonl").read_text().splitlines()]
    assert any(r.get("irony") is not None for r in holdout)
    out = tmp_path / "model"
    export_model(ExportConfig(checkpoint=str(irony_run / "best"), output_dir=str(out), fp16=False))
    card = json.loads((out / "affectlens_model.json").read_text())
    assert card["irony"] is True
    model = NeuralModel(out)
    assert model.has_irony and model.logits(["oh great, worst movie ever made yay"]).shape == (1, IRONY_INDEX + 1)
    prediction = Engine(EngineConfig(mode="neural", model_dir=str(out))).score("oh great, worst movie ever made yay")
    assert prediction.irony is not None and 0.0 <= prediction.irony <= 1.0
    assert "irony" in prediction.to_dict()


@pytest.mark.slow
def test_a_base_with_our_heads_keeps_every_trained_row(irony_run: Path, tmp_path: Path) -> None:
    """Retraining from a model with the irony head (32 outputs) starts from its heads, not from fresh ones."""
    import torch
    from affectlens.export.network import network_for
    from affectlens.export.train import TrainConfig

    trained = network_for(str(irony_run / "best"), TrainConfig(data_dir="-", output_dir="-", irony=True))
    from safetensors.torch import load_file

    stored = load_file(str(irony_run / "best" / "model.safetensors"))["classifier.weight"]
    assert torch.equal(trained.classifier.weight.data, stored)
    without = network_for(str(irony_run / "best"), TrainConfig(data_dir="-", output_dir="-", irony=False))
    assert without.config.num_labels == NUM_OUTPUTS_WITH_IRONY - 1
    assert torch.equal(without.classifier.weight.data, stored[:-1])


def test_models_without_the_irony_head_have_no_irony_field(tiny_model_dir: Path) -> None:
    from affectlens.engine import Engine, EngineConfig

    prediction = Engine(EngineConfig(mode="neural", model_dir=str(tiny_model_dir))).score("what a day")
    assert prediction.irony is None and "irony" not in prediction.to_dict()


def test_the_shipped_model_gives_irony() -> None:
    from affectlens.engine import Engine, EngineConfig

    prediction = Engine(EngineConfig()).score("oh great, another Monday")
    assert prediction.irony is not None and 0.0 <= prediction.to_dict()["irony"] <= 1.0


def test_negation_and_contrast_rows_follow_the_semantics() -> None:
    from affectlens.export.augment import AugmentConfig, augment, load_parser

    rows = [
        LabeledText("The battery is impressive.", sentiment=2, source="tweeteval-sentiment"),
        LabeledText("The staff were rude to us.", sentiment=0, source="tweeteval-sentiment"),
        LabeledText("I loved the ending of this film.", sentiment=2, source="sst2", polarity_only=True),
        LabeledText("The screen is not bright.", sentiment=0, source="tweeteval-sentiment"),
        LabeledText("Profits rose 5 percent this year.", sentiment=2, source="financial-phrasebank"),
    ]
    made = augment(rows, load_parser(), AugmentConfig(negation_share=1.0, contrast_share=1.0))
    by_text = {r.text: r for r in made if r.source.startswith("augment:negation")}
    negated = {t.replace("n't", " not").replace("  ", " "): r.sentiment for t, r in by_text.items()}
    assert negated.get("The battery is not impressive.", negated.get("The battery is not impressive")) == 0
    assert any(t.startswith("The staff were") and "not" in t for t in negated) or any("weren" in t for t in by_text)
    assert any(r.sentiment == 1 for t, r in by_text.items() if "staff" in t)  # negated negative -> neutral
    assert by_text.get("The screen is bright.") is not None and by_text["The screen is bright."].sentiment == 2
    assert not any("Profits" in t for t in by_text)  # financial news is not negated
    contrasts = [r for r in made if r.source.startswith("augment:contrast")]
    assert contrasts and all(r.sentiment in (0, 2) for r in contrasts)


def test_negation_forms_embed_aside_or_keep_the_label_as_the_semantics_say() -> None:
    from affectlens.export.augment import (
        ASIDES,
        EMBEDDING_FRAMES,
        IDIOM_FRAMES,
        AugmentConfig,
        load_parser,
        negation_forms,
    )

    texts = [
        ("The food was great.", 2), ("My phone is terrible.", 0), ("The staff were friendly today.", 2),
        ("This update broke everything.", 0), ("The hotel looks amazing.", 2), ("I love this song.", 2),
    ]  # fmt: skip
    rows = [LabeledText(t, sentiment=s, source="tweeteval-sentiment") for t, s in texts]
    rows.append(LabeledText("Profits rose 5 percent this year.", sentiment=2, source="financial-phrasebank"))
    nlp = load_parser()
    made = negation_forms(
        list(zip(rows, nlp.pipe(r.text for r in rows), strict=True)), AugmentConfig(negation_form_share=1.0)
    )
    assert made and not any("Profits" in r.text for r in made)  # financial news is not rewritten
    for r in made:
        assert r.source == "augment:negation:tweeteval-sentiment"
        original = next(s for t, s in texts if t.rstrip(".").lower().split()[-1] in r.text.lower())
        if any(a in r.text for a in ASIDES) or any(
            f.split("{")[0].strip() and r.text.startswith(f.split("{")[0]) for f in EMBEDDING_FRAMES
        ):
            assert r.sentiment == (0 if original == 2 else 1)  # negated: positive -> negative, negative -> neutral
        else:
            assert any(f.replace("{c}", "").replace("{C}", "").strip(" .,") in r.text for f in IDIOM_FRAMES)
            assert r.sentiment == original  # the idiom negates nothing
    asides = [r.text for r in made if any(a in r.text for a in ASIDES)]
    assert asides and all(", " in t and " not, " in t for t in asides)


def test_negated_factual_rows_stay_neutral() -> None:
    from affectlens.export.augment import AugmentConfig, augment, load_parser

    rows = [
        LabeledText("The ferry leaves the harbour at noon.", sentiment=1, source="tweeteval-sentiment"),
        LabeledText("My cousin is flying to Lima on Monday.", sentiment=1, source="tweeteval-sentiment"),
        LabeledText("Shares of the bank rose 3 percent today.", sentiment=1, source="financial-phrasebank"),
    ]
    made = augment(rows, load_parser(), AugmentConfig(neutral_negation_share=1.0, contrast_share=0.0))
    assert made and {r.sentiment for r in made} == {1}
    assert all(r.source == "augment:negation:tweeteval-sentiment" for r in made)
    assert any("not" in r.text or "n't" in r.text for r in made)
    assert not augment(rows, load_parser(), AugmentConfig(neutral_negation_share=0.0, contrast_share=0.0))


def test_identity_swaps_keep_the_label_and_skip_non_identity_uses() -> None:
    from affectlens.export.augment import AugmentConfig, identity_swaps

    rows = [
        LabeledText("My old phone is great", sentiment=2),
        LabeledText("Old people deserve respect", sentiment=1),
        LabeledText("The Muslim community hosted a lovely fair", sentiment=2),
    ]
    swapped = identity_swaps(rows, AugmentConfig(identity_swaps_per_row=3))
    assert not any("phone" in r.text for r in swapped)
    assert {r.sentiment for r in swapped if "community" in r.text} == {2}
    assert all(r.text.split()[1][0].isupper() for r in swapped if "community" in r.text)
    assert len([r for r in swapped if "deserve" in r.text]) == 3


def test_surface_variants_keep_every_label_and_change_only_a_handle_a_typo_or_a_city() -> None:
    from affectlens.export.augment import AugmentConfig, surface_variants

    from affectlens.behaviour.vocab import VOCAB

    rows = [
        LabeledText("@user @user the concert was wonderful tonight", sentiment=2, source="tweeteval-sentiment"),
        LabeledText("Shares fell sharply after the report", sentiment=0, source="financial-phrasebank"),
        LabeledText("We moved to Lisbon last spring", sentiment=1, emotions=(27,), source="goemotions"),
        LabeledText("Real Madrid won again", sentiment=2, source="tweeteval-sentiment"),
    ]
    every = AugmentConfig(handle_share=1.0, typo_share=1.0, place_swaps_per_row=3)
    made = surface_variants(rows, every)
    by_kind: dict[str, list[LabeledText]] = {}
    for row in made:
        by_kind.setdefault(row.source.split(":")[1], []).append(row)
    handles = {r.text for r in by_kind["handle"]}
    assert "the concert was wonderful tonight" in handles  # leading handles dropped
    assert "@user Shares fell sharply after the report" in handles  # one added
    for row in rows:
        (typo,) = [r for r in surface_variants([row], every) if r.source.startswith("augment:typo:")]
        diff = [i for i, (a, b) in enumerate(zip(row.text, typo.text, strict=True)) if a != b]
        assert len(diff) == 2 and diff[1] == diff[0] + 1 and sorted(row.text) == sorted(typo.text)  # one swap
    places = by_kind["place"]
    held = set(VOCAB["check"]["city"]) | set(VOCAB["calibration"]["city"])
    assert len(places) == 3
    assert all(r.text.startswith("We moved to ") and r.text.endswith(" last spring") for r in places)
    assert not any(city in r.text for r in places for city in held | {"Lisbon"})
    assert {(r.sentiment, r.emotions) for r in places} == {(1, (27,))}  # every label of the row kept
    assert not any("won again" in r.text for r in places)  # "Real Madrid": part of a longer name
    assert surface_variants(rows, every) == made  # deterministic
    assert not surface_variants(rows, AugmentConfig(handle_share=0.0, typo_share=0.0, place_swaps_per_row=0))


def test_behaviour_fit_rows_are_single_label_and_from_the_fit_half_only() -> None:
    from affectlens.export.training_data import behaviour_rows

    from affectlens.behaviour import generate

    train, holdout = behaviour_rows(seed=3)
    rows = train + holdout
    check = {c.text for c in generate(half="check", seed=3)}
    assert rows and not check & {r.text for r in rows}
    assert {r.sentiment for r in rows} == {0, 1, 2}
    assert np.all([r.source == "behaviour-fit" for r in rows])


def test_behaviour_fit_holdout_is_whole_templates_never_trained_on() -> None:
    from affectlens.export.training_data import BEHAVIOUR_HOLDOUT_EVERY, behaviour_rows

    from affectlens.behaviour import generate
    from affectlens.behaviour.vocab import vocabulary_words, words

    train, holdout = behaviour_rows(seed=3)
    assert not {r.text for r in train} & {r.text for r in holdout}
    assert 0.15 < len(holdout) / (len(train) + len(holdout)) < 0.5
    template_of = {c.text: c.template for c in generate(half="fit", seed=3)}
    template_of.update({c.text: c.template for c in generate(half="fit", seed=3, vocabulary="calibration")})
    template_of.update({c.text: c.template for c in generate(half="calibration", seed=3)})
    held_templates = {template_of[r.text] for r in holdout}
    assert held_templates.isdisjoint({template_of[r.text] for r in train})
    calibration_templates = {t for t in held_templates if t.split("/")[1] == "calibration"}
    assert len(calibration_templates) >= 40  # the calibration templates: all held out, none trained on
    assert all(
        int(t.rsplit("/", 1)[1]) % BEHAVIOUR_HOLDOUT_EVERY == BEHAVIOUR_HOLDOUT_EVERY - 1
        for t in held_templates - calibration_templates
    )
    fit_words = vocabulary_words("fit")
    assert not any(words(r.text) & fit_words - words_of_templates() for r in holdout)  # no fit word is held out


def words_of_templates() -> set[str]:
    import re

    from affectlens.behaviour.templates import TEMPLATES
    from affectlens.behaviour.vocab import words

    slot = re.compile(r"\{[A-Za-z_]+\}")
    return {
        w
        for t in TEMPLATES.values()
        for half in ("fit", "calibration")
        for tt in t[half]
        for p in (tt.pattern, tt.variant or "")
        for w in words(slot.sub(" ", p))
    }


@pytest.mark.slow
def test_a_calibration_for_the_irony_head_is_refused_on_a_model_without_it(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from affectlens.engine import Engine, EngineConfig, default_model_dir
    from affectlens.errors import ConfigError

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    shutil.copy2(default_model_dir() / "calibration.json", folder / "calibration.json")  # fitted with irony
    with pytest.raises(ConfigError, match="irony head"):
        Engine(EngineConfig(model_dir=str(folder)))


def test_recovered_config_names_the_heads_and_input_form_of_the_card() -> None:
    from affectlens.export.dequantize import hf_config

    config = hf_config({"hidden_size": 8}, 2, {"irony": True, "input_form": "emoji-text-v1"})
    assert [config["id2label"][str(i)] for i in range(NUM_OUTPUTS_WITH_IRONY)] == output_names(irony=True)
    assert config["affectlens_input_form"] == "emoji-text-v1"
    assert len(hf_config({}, 2, {})["id2label"]) == NUM_OUTPUTS_WITH_IRONY - 1
