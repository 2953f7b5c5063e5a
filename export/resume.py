"""Resumable training checkpoints: where a run stands, written atomically, checked and restored.

``output_dir/resume/`` holds ``state.pt`` (model, optimizer, scheduler, torch RNG) and ``progress.json``
(``TrainState``, batch / python / numpy RNG states, the config and a fingerprint of the training rows).
Resuming is refused when options that change what is trained, or the data, differ from the checkpoint's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from affectlens.datasets import LabeledText
from affectlens.errors import ConfigError

if TYPE_CHECKING:
    from affectlens.export.train import TrainConfig

__all__ = [
    "RESUME_DIR",
    "RESUME_MAY_CHANGE",
    "TrainState",
    "check_resumable",
    "checkpoint_to_resume",
    "data_fingerprint",
    "find_resume_checkpoint",
    "restore_resume_checkpoint",
    "save_resume_checkpoint",
]

log = logging.getLogger("affectlens.train")

RESUME_DIR = "resume"
# Options that may differ when resuming: they do not change what is trained.
RESUME_MAY_CHANGE = ("resume", "threads", "mlflow", "data_dir", "output_dir")


def data_fingerprint(rows: Sequence[LabeledText]) -> str:
    """sha256 of the training rows in order: resuming on other data is refused."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(asdict(row), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class TrainState:
    """Where a run stands; with the model, optimizer and scheduler it is everything resuming needs."""

    step: int = 0
    epoch_batches: list[list[int]] = field(default_factory=list)  # the current pass over the data
    position: int = 0  # batches of epoch_batches already trained on
    best: dict[str, Any] = field(default_factory=lambda: {"selection": -1.0})
    history: list[dict[str, Any]] = field(default_factory=list)
    running: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None


def _rng_states(batch_rng: random.Random) -> dict[str, Any]:
    state: Any = np.random.get_state()
    return {
        "batch": _jsonable(batch_rng.getstate()),
        "python": _jsonable(random.getstate()),
        "numpy": [state[0], state[1].tolist(), *state[2:]],
    }


def _set_rng_states(saved: dict[str, Any], batch_rng: random.Random) -> None:
    """Inverse of ``_rng_states`` (the JSON lists back to the tuples and arrays the generators take)."""
    batch_rng.setstate(_as_tuple(saved["batch"]))
    random.setstate(_as_tuple(saved["python"]))
    kind, keys, *rest = saved["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value


def save_resume_checkpoint(
    out: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    state: TrainState,
    batch_rng: random.Random,
    meta: dict[str, Any],
) -> Path:
    """Write ``out/resume/`` atomically: build it in a temp folder, then swap it in by renames."""
    import torch

    target = out / RESUME_DIR
    for stale in out.glob(f".{RESUME_DIR}-*"):  # left by a crash while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{RESUME_DIR}-", dir=out))
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        },
        tmp / "state.pt",
    )
    progress = {"state": asdict(state), "rng": _rng_states(batch_rng), **meta}
    (tmp / "progress.json").write_text(json.dumps(progress), encoding="utf-8")
    for name in ("state.pt", "progress.json"):
        with open(tmp / name, "rb") as fh:
            os.fsync(fh.fileno())
    old = out / f"{RESUME_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)  # a crash between the renames leaves resume.old: find_resume_checkpoint takes it
    shutil.rmtree(old, ignore_errors=True)
    return target


def find_resume_checkpoint(out: Path) -> Path | None:
    """``out/resume`` (or ``out/resume.old`` after a crash mid-swap) if it holds a complete checkpoint."""
    for name in (RESUME_DIR, f"{RESUME_DIR}.old"):
        if (out / name / "progress.json").is_file() and (out / name / "state.pt").is_file():
            return out / name
    return None


def checkpoint_to_resume(out: Path, resume: bool) -> Path | None:
    """The checkpoint a run continues from: required with ``resume``, ignored (with a warning) without it."""
    checkpoint = find_resume_checkpoint(out)
    if resume and checkpoint is None:
        raise ConfigError(
            f"nothing to resume: no checkpoint in {out / RESUME_DIR} (one is written every --eval-every steps); "
            "run without --resume to start a new run"
        )
    if not resume and checkpoint is not None:
        log.warning("%s exists: starting afresh and overwriting it (pass --resume to continue instead)", checkpoint)
        checkpoint = None
    return checkpoint


def check_resumable(cfg: TrainConfig, saved: dict[str, Any], fingerprint: str, where: Path) -> None:
    """Refuse a checkpoint written with other options (beyond ``RESUME_MAY_CHANGE``) or on other data."""
    now = json.loads(json.dumps(asdict(cfg)))  # as it was saved: tuples become lists
    changed = [
        f"{key}={saved['config'].get(key)!r} (now {now[key]!r})"
        for key in now
        if key not in RESUME_MAY_CHANGE and saved["config"].get(key) != now[key]
    ]
    if changed:
        raise ConfigError(
            f"cannot resume from {where}: it was written with other options: {', '.join(changed)}. "
            "Pass the same options, or use a new --output-dir to start afresh"
        )
    if saved["data_fingerprint"] != fingerprint:
        raise ConfigError(
            f"cannot resume from {where}: the training data differ from the data it was trained on "
            "(other --data-dir contents?); use a new --output-dir to start afresh"
        )


def restore_resume_checkpoint(
    checkpoint: Path,
    saved: dict[str, Any],
    model: Any,
    optimizer: Any,
    scheduler: Any,
    batch_rng: random.Random,
) -> TrainState:
    """Load the tensors and RNG states of ``checkpoint`` (whose ``progress.json`` is ``saved``) in place."""
    import torch

    tensors = torch.load(checkpoint / "state.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(tensors["model"])
    optimizer.load_state_dict(tensors["optimizer"])
    scheduler.load_state_dict(tensors["scheduler"])
    torch.set_rng_state(tensors["torch_rng"])
    state = TrainState(**saved["state"])
    _set_rng_states(saved["rng"], batch_rng)
    return state
