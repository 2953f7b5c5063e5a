"""The calibrated ensemble: estimator API, temperature recovery, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from affectlens.ensemble import Calibration, EmotionCalibrator, SentimentStacker, TemperatureScaler, softmax
from affectlens.evaluation.metrics import expected_calibration_error
from affectlens.stacker_choice import (
    choose_stacker,
    domain_balanced_score,
    domain_weights,
    one_standard_error_choice,
    paired_standard_errors,
)

pytest.importorskip("sklearn")


def synthetic(n: int = 3000, seed: int = 0, temperature: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from softmax(true_logits); the 'model' reports logits * temperature (over-confident)."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(scale=1.5, size=(n, 3))
    y = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    lexicon = np.column_stack(
        [true_logits[:, 2] - true_logits[:, 0] + rng.normal(scale=0.5, size=n), rng.normal(size=n)]
    )
    return true_logits * temperature, lexicon, y


def test_temperature_scaler_recovers_the_temperature() -> None:
    logits, _, y = synthetic(temperature=3.0)
    scaler = TemperatureScaler().fit(logits, y)
    assert scaler.temperature_ == pytest.approx(3.0, rel=0.15)
    assert expected_calibration_error(scaler.predict_proba(logits), y) < expected_calibration_error(softmax(logits), y)


def test_stacker_is_calibrated_and_uses_the_lexicon() -> None:
    logits, lexicon, y = synthetic()
    noisy = logits + np.random.default_rng(5).normal(scale=4.0, size=logits.shape)  # a weak network
    test_logits, test_lex, test_y = synthetic(seed=1)
    test_noisy = test_logits + np.random.default_rng(6).normal(scale=4.0, size=test_logits.shape)
    no_lexicon = np.zeros((len(y), 1))
    neural_only = SentimentStacker(alpha=0.1).fit(noisy, no_lexicon, y)
    hybrid = SentimentStacker(alpha=0.1).fit(noisy, lexicon, y)
    acc = lambda p: (p.argmax(1) == test_y).mean()  # noqa: E731
    no_lex_test = np.zeros((len(test_y), 1))
    without = acc(neural_only.predict_proba(test_noisy, no_lex_test))
    assert acc(hybrid.predict_proba(test_noisy, test_lex)) > without + 0.03
    assert expected_calibration_error(hybrid.predict_proba(test_noisy, test_lex), test_y) < 0.05
    assert hybrid.n_features_in_ == 4 and hybrid.coef_.shape == (3, 4)


def test_stacker_falls_back_to_the_network_when_the_lexicon_is_noise() -> None:
    """Pure-noise lexicon features under a strong penalty: the decisions stay the network's."""
    logits, _, y = synthetic(seed=4, temperature=2.0)
    noise = np.random.default_rng(9).normal(size=(len(y), 5))
    model = SentimentStacker(alpha=10.0, class_weight_power=0.0).fit(logits, noise, y)
    assert np.abs(model.coef_).max() < 0.05
    agree = (model.predict_proba(logits, noise).argmax(1) == logits.argmax(1)).mean()
    assert agree > 0.97
    assert model.temperature_ / model.logit_scale_ == pytest.approx(2.0, rel=0.1)  # the over-confidence undone


def test_an_input_far_outside_the_fit_gets_the_largest_correction_seen_not_an_extrapolated_one() -> None:
    logits, lexicon, y = synthetic(n=600, seed=5)
    clipped = SentimentStacker(alpha=0.1, input_clip=3.0).fit(logits, lexicon, y)
    free = SentimentStacker(alpha=0.1).fit(logits, lexicon, y)
    mean, sd = lexicon[:, 0].mean(), lexicon[:, 0].std()
    rows = np.repeat(lexicon[:1], 3, axis=0)
    rows[:, 0] = [mean + 3 * sd, mean + 50 * sd, mean + 100 * sd]  # at the clip, far beyond it, farther still
    same = np.repeat(logits[:1], 3, axis=0)
    got = clipped.decision_function(same, rows)
    np.testing.assert_allclose(got[1], got[2], atol=1e-9)  # beyond the clip nothing moves
    assert np.abs(got[1] - got[0]).max() < np.abs(free.decision_function(same, rows)[1] - got[0]).max()
    again = SentimentStacker.from_dict(clipped.to_dict())
    np.testing.assert_allclose(again.decision_function(same, rows), got, atol=1e-6)
    assert "input_clip" not in free.to_dict() and SentimentStacker.from_dict(free.to_dict()).input_clip is None


def test_choose_stacker_prefers_the_lexicon_when_it_helps() -> None:
    logits, lexicon, y = synthetic(n=1500, seed=7)
    noisy = logits + np.random.default_rng(8).normal(scale=4.0, size=logits.shape)
    model, table = choose_stacker(noisy, lexicon, y, alphas=(0.03, 30.0), class_weight_powers=(0.0,), folds=3)
    assert len(table) == 2
    assert model.alpha == 0.03  # the informative lexicon is not penalised away
    assert (model.coef_ != 0).any()


def test_emotion_calibrator_thresholds_and_rare_labels() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((2000, 4)) < [0.3, 0.05, 0.002, 0.5]).astype(int)
    logits = (y * 2 - 1) * 1.5 + rng.normal(size=y.shape)
    model = EmotionCalibrator().fit(logits, y)
    assert ((model.thresholds_ > 0) & (model.thresholds_ < 1)).all()
    assert model.a_[2] == 1.0 and model.b_[2] == 0.0  # 4 positives: too rare to fit
    assert model.thresholds_[2] == model.global_threshold_
    probs = model.predict_proba(logits)
    assert probs.shape == y.shape and ((probs >= 0) & (probs <= 1)).all()


def test_calibration_round_trip(tmp_path: Path) -> None:
    from affectlens.lexicons.features import FEATURE_NAMES, FEATURE_VERSION

    rng = np.random.default_rng(3)
    logits = rng.normal(size=(400, 3))
    features = rng.normal(size=(400, len(FEATURE_NAMES)))
    y = logits.argmax(1)
    emo_logits = rng.normal(size=(400, 28))
    emo_y = (emo_logits + rng.normal(size=emo_logits.shape) > 1).astype(int)
    cal = Calibration(
        FEATURE_VERSION,
        FEATURE_NAMES,
        1.3,
        SentimentStacker().fit(logits, features, y),
        EmotionCalibrator().fit(emo_logits, emo_y),
        {"note": "test"},
    )
    cal.save(tmp_path)
    loaded = Calibration.load_optional(tmp_path)
    assert loaded is not None
    np.testing.assert_allclose(
        loaded.sentiment_proba(logits, features), cal.sentiment_proba(logits, features), atol=1e-5
    )
    np.testing.assert_allclose(loaded.emotion_proba(emo_logits), cal.emotion_proba(emo_logits), atol=1e-5)
    assert Calibration.load_optional(tmp_path / "nowhere") is None
    assert not loaded.plain_input  # absent from the file: the texts as written (calibrations before version 6)
    cal.plain_input = True
    cal.save(tmp_path)
    assert Calibration.load(tmp_path / "calibration.json").plain_input


def test_choose_stacker_prefers_the_strongest_penalty_when_the_lexicon_is_noise() -> None:
    """One-standard-error rule: a lexicon that does not clearly help is penalised away."""
    logits, _, y = synthetic(n=1500, seed=9)
    noise = np.random.default_rng(10).normal(size=(len(y), 2))
    model, table = choose_stacker(logits, noise, y, alphas=(0.03, 0.3, 30.0), class_weight_powers=(0.0,), folds=5)
    assert len(table) == 3
    assert model.alpha == 30.0


def test_choose_stacker_weighs_every_domain_equally() -> None:
    """A lexicon that helps on the main domain but misleads on reviews (polarity rows) is penalised away."""
    logits, lexicon, y = synthetic(n=1500, seed=7)
    noisy = logits + np.random.default_rng(8).normal(scale=4.0, size=logits.shape)
    alone, alone_table = choose_stacker(noisy, lexicon, y, alphas=(0.03, 30.0), class_weight_powers=(0.0,), folds=3)
    assert alone.alpha == 0.03  # on its own domain the lexicon helps

    rev_logits, rev_lexicon, rev_y = synthetic(n=1500, seed=11)
    keep = rev_y != 1
    polarity = (rev_logits[keep], -rev_lexicon[keep], rev_y[keep])  # the lexicon points the wrong way here
    model, table = choose_stacker(
        noisy, lexicon, y, alphas=(0.03, 30.0), class_weight_powers=(0.0,), folds=3, polarity_rows=polarity
    )
    assert model.alpha == 30.0
    key = "alpha=0.03,class_weight_power=0.0"
    assert table[key]["score"] < alone_table[key]["score"]


def test_one_standard_error_choice_prefers_the_strongest_penalty_within_one_error() -> None:
    """Each row's error is that of its distance to the best (paired over the folds)."""
    rows = [(0.720, 0.0, 0.03, 0.5), (0.718, 0.004, 0.3, 0.5), (0.712, 0.004, 3.0, 0.5), (0.719, 0.002, 1.0, 0.0)]
    assert one_standard_error_choice(rows) == (1.0, 0.0)  # 3.0 is 0.008 below the best: outside its error
    assert one_standard_error_choice([*rows[:3], (0.716, 0.002, 1.0, 0.0)]) == (0.3, 0.5)  # 1.0 now outside
    assert one_standard_error_choice([(0.72, 0.0, 0.03, 0.5), (0.7199, 0.0, 3.0, 0.5)]) == (0.03, 0.5)


def test_domain_weights_interpolate_between_rows_and_domains() -> None:
    domains = ["tweets"] * 90 + ["templates"] * 10
    assert np.allclose(domain_weights(domains, 0.0), 1.0)
    equal = domain_weights(domains, 1.0)
    assert equal.mean() == pytest.approx(1.0)
    assert equal[:90].sum() == pytest.approx(equal[90:].sum())  # each domain weighs the same in all
    half = domain_weights(domains, 0.5)
    assert equal[90:].sum() > half[90:].sum() > 10.0


def test_row_weights_move_the_fit_toward_the_weighted_rows() -> None:
    """A small domain where the lexicon decides gets its say when the domains are weighed equally."""
    rng = np.random.default_rng(3)
    n, m = 2000, 200
    big_logits = rng.normal(scale=2.0, size=(n, 3))
    big_y = softmax(big_logits).argmax(axis=1)
    small_y = rng.integers(0, 3, size=m)
    small_logits = rng.normal(scale=2.0, size=(m, 3))  # the network knows nothing here ...
    gate = np.r_[np.zeros(n), np.ones(m)]
    vote = np.r_[np.zeros(n), small_y - 1.0]  # ... and a gated lexicon vote is right
    logits = np.r_[big_logits, small_logits]
    features = np.column_stack([gate * (vote < 0), gate * (vote > 0)])
    y = np.r_[big_y, small_y]
    domains = ["big"] * n + ["small"] * m
    acc = {}
    for power in (0.0, 1.0):
        model = SentimentStacker(alpha=3.0, class_weight_power=0.0).fit(
            logits, features, y, row_weight=domain_weights(domains, power)
        )
        acc[power] = (model.predict_proba(logits[n:], features[n:]).argmax(axis=1) == small_y).mean()
    assert acc[1.0] > acc[0.0]


def test_the_final_temperature_is_fitted_on_the_rows_asked_for() -> None:
    logits, lexicon, y = synthetic(n=1500, seed=4, temperature=3.0)
    easy_logits, easy_lexicon, easy_y = synthetic(n=1500, seed=5, temperature=0.3)  # under-confident rows
    all_logits, all_lexicon = np.r_[logits, easy_logits], np.r_[lexicon, easy_lexicon]
    all_y = np.r_[y, easy_y]
    first = np.r_[np.ones(len(y), dtype=bool), np.zeros(len(easy_y), dtype=bool)]
    pooled = SentimentStacker(alpha=1.0).fit(all_logits, all_lexicon, all_y)
    masked = SentimentStacker(alpha=1.0).fit(all_logits, all_lexicon, all_y, temperature_rows=first)
    ece = lambda m: expected_calibration_error(m.predict_proba(logits, lexicon), y)  # noqa: E731
    assert ece(masked) < ece(pooled)


def test_domain_balanced_score_weighs_domains_not_rows() -> None:
    y = np.array([0, 1, 2] * 300 + [0, 2] * 5)
    domains = np.array(["tweets"] * 900 + ["news"] * 10)
    pred = y.copy()
    pred[900:] = 1  # every news row wrong
    no_polarity = np.zeros(0, dtype=int)
    assert domain_balanced_score(y, pred, domains, no_polarity, no_polarity) == pytest.approx(0.5)
    polarity_y = np.array([0, 2, 2, 0])
    both = domain_balanced_score(y, pred, domains, polarity_y, np.array([0, 2, 0, 2]))
    assert both == pytest.approx((1.0 + 0.0 + 0.5) / 3)


def test_choose_stacker_rejects_bad_inputs() -> None:
    logits, lexicon, y = synthetic(n=60, seed=3)
    with pytest.raises(ValueError, match="folds"):
        choose_stacker(logits, lexicon, y, folds=1)
    with pytest.raises(ValueError, match="domains"):
        choose_stacker(logits, lexicon, y, domains=["tweets"] * 10)


def _shipped_calibration(tmp_path: Path, **changes: object) -> Path:
    """The shipped model's calibration.json, with ``changes`` applied, in ``tmp_path``."""
    import json

    from affectlens.engine import default_model_dir

    data = json.loads((default_model_dir() / "calibration.json").read_text(encoding="utf-8"))
    data.update(changes)
    (tmp_path / "calibration.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


def test_the_shipped_calibration_loads(tmp_path: Path) -> None:
    assert Calibration.load_optional(_shipped_calibration(tmp_path)) is not None


def test_a_calibration_file_of_another_format_is_refused(tmp_path: Path) -> None:
    from affectlens.ensemble import CALIBRATION_FORMAT
    from affectlens.errors import ConfigError

    with pytest.raises(ConfigError, match=f"calibration format {CALIBRATION_FORMAT + 1} is not {CALIBRATION_FORMAT}"):
        Calibration.load_optional(_shipped_calibration(tmp_path, format=CALIBRATION_FORMAT + 1))


@pytest.mark.parametrize("change", ["feature_version", "feature_names"])
def test_a_calibration_fitted_on_other_lexicon_features_is_refused(tmp_path: Path, change: str) -> None:
    from affectlens.lexicons.features import FEATURE_NAMES, FEATURE_VERSION

    from affectlens.errors import ConfigError

    names = [*list(FEATURE_NAMES)[:-1], "no_such_feature"]
    value: object = f"{FEATURE_VERSION}-old" if change == "feature_version" else names
    with pytest.raises(ConfigError, match="re-run `affectlens calibrate`"):
        Calibration.load_optional(_shipped_calibration(tmp_path, **{change: value}))


def test_stacker_features_are_read_by_name() -> None:
    """A calibration names its columns: any subset, in any order, and the irony logit when it was fitted with it."""
    from affectlens.lexicons import LexiconPipeline
    from affectlens.lexicons.features import FEATURE_NAMES

    from affectlens.ensemble import IRONY_FEATURE, stacker_features
    from affectlens.labels import IRONY_INDEX

    analyses = LexiconPipeline().analyze_batch(["not bad at all", "I expected it to be awful, but it wasn't"])
    full = np.stack([a.features for a in analyses])
    names = (FEATURE_NAMES[5], FEATURE_NAMES[0], FEATURE_NAMES[-1])
    assert np.array_equal(stacker_features(np.zeros((2, 31)), analyses, names), full[:, [5, 0, -1]])
    logits = np.arange(64, dtype=float).reshape(2, 32)
    with_irony = stacker_features(logits, analyses, (*FEATURE_NAMES, IRONY_FEATURE))
    assert np.array_equal(with_irony[:, -1], logits[:, IRONY_INDEX]) and with_irony.shape == (2, len(FEATURE_NAMES) + 1)


def test_the_stacker_refuses_a_feature_vector_of_the_wrong_width(tmp_path: Path) -> None:
    from affectlens.errors import ConfigError

    calibration = Calibration.load_optional(_shipped_calibration(tmp_path))
    assert calibration is not None
    with pytest.raises(ConfigError, match="lexicon features"):
        calibration.sentiment_proba(np.zeros((2, 3)), np.zeros((2, len(calibration.feature_names) + 1)))


def test_paired_standard_errors_cancel_the_noise_every_candidate_shares() -> None:
    """Folds differ a lot in difficulty, candidates little: the paired error of a candidate that is steadily 0.01
    behind is near 0 (it is clearly worse), while the unpaired per-candidate error is large."""
    fold_difficulty = np.array([0.60, 0.80, 0.70, 0.90, 0.65])
    scores = np.stack(
        [fold_difficulty, fold_difficulty - 0.01, fold_difficulty + np.array([0.02, -0.02, 0.01, -0.01, 0.0])]
    )
    errors = paired_standard_errors(scores, best=0)
    assert errors[0] == 0.0 and errors[1] == pytest.approx(0.0, abs=1e-12)
    assert errors[2] == pytest.approx(np.std([-0.02, 0.02, -0.01, 0.01, 0.0], ddof=1) / np.sqrt(5))
    assert np.std(fold_difficulty, ddof=1) / np.sqrt(5) > 0.04


def test_choose_stacker_does_not_buy_macro_recall_with_miscalibrated_probabilities() -> None:
    """With a rare class, balanced class weights raise macro recall but move probability off the prior; the
    candidates whose out-of-fold ECE is clearly worse than the best-calibrated one's are not chosen."""
    logits, lexicon, y = synthetic(n=3000, seed=21)
    keep = (y != 1) | (np.random.default_rng(22).random(len(y)) < 0.15)  # neutral becomes rare
    logits, lexicon, y = logits[keep], lexicon[keep], y[keep]
    model, table = choose_stacker(logits, lexicon, y, alphas=(0.3,), class_weight_powers=(0.0, 1.0), folds=5)
    weighted, plain = table["alpha=0.3,class_weight_power=1.0"], table["alpha=0.3,class_weight_power=0.0"]
    assert weighted["ece"] > plain["ece"] + 0.01 and not weighted["eligible"] and plain["eligible"]
    assert model.class_weight_power == 0.0


def gated_world(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A network that is right on ordinary rows and confidently wrong (inverted) on a rare gated kind of row
    (10 %), where an evidence column (zero elsewhere) holds the truth. Returns logits, features, labels, gate."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    gate = rng.random(n) < 0.1
    logits = 2.5 * np.eye(3)[y] + rng.normal(scale=1.0, size=(n, 3))
    logits[gate] = 2.5 * np.eye(3)[2 - y[gate]] + rng.normal(scale=1.0, size=(gate.sum(), 3))
    vote = np.where(y == 2, 1.0, np.where(y == 0, -1.0, 0.0))
    features = np.column_stack([rng.normal(size=n), gate * (vote > 0), gate * (vote < 0)])
    return logits, features, y, gate


def test_the_evidence_stage_follows_the_evidence_where_its_gate_is_open() -> None:
    logits, features, y, _ = gated_world()
    t_logits, t_features, t_y, t_gate = gated_world(seed=1)
    one = SentimentStacker(alpha=3.0, class_weight_power=0.0).fit(logits, features, y)
    two = SentimentStacker(alpha=3.0, class_weight_power=0.0, evidence_alpha=0.01, evidence_columns=(1, 2))
    two.fit(logits, features, y)
    acc = lambda m, rows: (m.predict_proba(t_logits, t_features).argmax(1)[rows] == t_y[rows]).mean()  # noqa: E731
    assert acc(two, t_gate & (t_y != 1)) > 0.9  # where the evidence votes, the two-stage stacker follows it
    assert acc(two, t_gate & (t_y != 1)) > acc(one, t_gate & (t_y != 1))
    assert acc(two, ~t_gate) >= acc(one, ~t_gate) - 0.01  # and the ordinary rows keep the network's decisions


def test_the_evidence_stage_moves_closed_gate_rows_by_one_constant() -> None:
    logits, features, y, gate = gated_world()
    two = SentimentStacker(alpha=1.0, evidence_alpha=0.1, evidence_columns=(1, 2)).fit(logits, features, y)
    base = two._base_scores(logits[~gate], features[~gate][:, [0]])
    shift = two.decision_function(logits[~gate], features[~gate]) - base
    assert np.allclose(shift, shift[0])


def test_a_two_stage_stacker_round_trips_and_an_old_one_loads_as_one_stage() -> None:
    logits, features, y, _ = gated_world()
    two = SentimentStacker(alpha=1.0, evidence_alpha=0.1, evidence_columns=(1, 2)).fit(logits, features, y)
    again = SentimentStacker.from_dict(two.to_dict())
    assert np.allclose(again.predict_proba(logits, features), two.predict_proba(logits, features), atol=1e-6)
    one = SentimentStacker(alpha=1.0).fit(logits, features, y)
    data = one.to_dict()
    assert "evidence" not in data
    loaded = SentimentStacker.from_dict(data)
    assert loaded.evidence_alpha is None
    assert np.allclose(loaded.predict_proba(logits, features), one.predict_proba(logits, features), atol=1e-6)


def test_a_calibration_that_reads_the_irony_head_is_refused_for_a_network_without_it(tmp_path: Path) -> None:
    from affectlens.lexicons.features import FEATURE_VERSION

    from affectlens.errors import ConfigError

    rng = np.random.default_rng(1)
    logits, features, y = rng.normal(size=(120, 3)), rng.normal(size=(120, 1)), rng.integers(0, 3, 120)
    emotions = EmotionCalibrator().fit(rng.normal(size=(120, 28)), (rng.random((120, 28)) > 0.8).astype(int))
    for name in ("ironic*lexicon_negative", "irony*network_neutral", "vader_compound"):
        cal = Calibration(FEATURE_VERSION, (name,), 1.0, SentimentStacker().fit(logits, features, y), emotions, {})
        cal.check_heads(True, tmp_path)
        if name == "vader_compound":
            cal.check_heads(False, tmp_path)  # reads no head: fine for any network
        else:
            with pytest.raises(ConfigError, match="irony head"):
                cal.check_heads(False, tmp_path)
