"""Engine options: the one declaration of what a user picks (mode, provider, threads, lexicons) and its flags.

``EngineOptions`` is what the CLI flags, ``affectlens serve`` (passed to the TorchServe worker) and the handler's
config section all mean; ``engine_config()`` turns it into the engine's ``EngineConfig``. ``add_engine_arguments``
and ``engine_config_from_args`` are the argparse side, used by every command that builds an Engine.

Importing this module is cheap: the engine is imported only when an ``EngineConfig`` is built.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from affectlens.errors import ConfigError

if TYPE_CHECKING:
    from affectlens.engine import EngineConfig

PROVIDERS = ("auto", "cpu", "cuda")  # = the providers NeuralConfig accepts
MAX_AUTO_THREADS = 8  # a MiniLM pass scales no further; more threads only contend


@dataclass(frozen=True)
class EngineOptions:
    """What to run. ``threads``: ONNX Runtime intra-op threads; 0 = automatic (see ``auto_threads``)."""

    mode: str = "hybrid"  # hybrid | neural | lexicon (= affectlens.engine.MODES)
    provider: str = "auto"  # auto | cpu | cuda
    threads: int = 0
    use_nrc: bool = True  # False for commercial use (NRC's licence is non-commercial)
    use_parser: bool = True  # False: negation scope by window rule, not spaCy
    spin_wait: bool = True  # ONNX Runtime threads spin while idle (False: they sleep; see NeuralConfig.spin_wait)
    identity_neutral: bool = True  # protected-attribute words neutral for network and lexicons (identity_terms.py)

    def __post_init__(self) -> None:
        from affectlens.engine import MODES

        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.provider not in PROVIDERS:
            raise ConfigError(f"provider must be one of {', '.join(PROVIDERS)}, not {self.provider!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ConfigError(f"threads must be a non-negative integer (0 = automatic), not {self.threads!r}")
        for name in ("use_nrc", "use_parser", "spin_wait", "identity_neutral"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not {getattr(self, name)!r}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EngineOptions:
        """The options given by the flags of ``add_engine_arguments``."""
        mode = "lexicon" if args.lexicon_only else "neural" if args.neural_only else "hybrid"
        return cls(mode=mode, provider=args.provider, threads=args.threads, use_nrc=not args.no_nrc,
                   use_parser=not args.no_parser, spin_wait=not getattr(args, "no_spin_wait", False),
                   identity_neutral=not getattr(args, "keep_identity_terms", False))  # fmt: skip

    def overrides(self) -> dict[str, Any]:
        """The options that differ from the defaults (what ``affectlens serve`` hands the worker)."""
        default = EngineOptions()
        return {k: v for k, v in asdict(self).items() if getattr(default, k) != v}

    def engine_config(self, model_dir: str | None = None, **engine_fields: Any) -> EngineConfig:
        """The ``EngineConfig`` for these options (``engine_fields``: other EngineConfig fields, e.g. max_chars)."""
        from affectlens.engine import EngineConfig
        from affectlens.lexicons import LexiconConfig
        from affectlens.neural import NeuralConfig

        return EngineConfig(
            mode=self.mode,
            model_dir=model_dir,
            lexicon=LexiconConfig(
                use_nrc=self.use_nrc, use_parser=self.use_parser, identity_neutral=self.identity_neutral
            ),
            neural=NeuralConfig(
                provider=self.provider,
                intra_op_threads=self.threads,
                spin_wait=self.spin_wait,
                identity_neutral=self.identity_neutral,
            ),
            **engine_fields,
        )


ENGINE_OPTION_NAMES = tuple(f.name for f in fields(EngineOptions))


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def auto_threads(workers: int = 1, cores: int | None = None) -> int:
    """Intra-op threads per worker for the lowest single-request latency: all cores for one worker (a
    request's matrix products then use every core), ``cores // workers`` for several, at most 8."""
    cores = available_cores() if cores is None else cores
    return max(1, min(MAX_AUTO_THREADS, cores // max(1, workers)))


def add_engine_arguments(
    parser: argparse.ArgumentParser, *, model: bool = True, explain: bool = True, threads_help: str | None = None
) -> None:
    """Flags for the engine options (plus ``--model`` and ``--explain`` unless turned off)."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--lexicon-only", action="store_true", help="lexicon analyzers only (no neural model)")
    mode.add_argument("--neural-only", action="store_true", help="calibrated neural model only (no lexicon)")
    if model:
        parser.add_argument("--model", default=None, help="model folder (default: the shipped default model)")
    parser.add_argument("--provider", default="auto", choices=PROVIDERS, help="ONNX Runtime provider")
    parser.add_argument(
        "--threads", type=int, default=0, help=threads_help or "ONNX Runtime intra-op threads (0 = all cores)"
    )
    parser.add_argument("--no-nrc", action="store_true", help="disable the NRC emotion lexicon (licence)")
    parser.add_argument("--no-parser", action="store_true", help="negation scope by window rule, not spaCy")
    parser.add_argument(
        "--keep-identity-terms",
        action="store_true",
        help="protected-attribute words as written for the network and the lexicons (default: neutral for both)",
    )
    parser.add_argument(
        "--no-spin-wait",
        action="store_true",
        help="ONNX Runtime threads sleep instead of spinning between runs (frees the cores for other processes)",
    )
    if explain:
        parser.add_argument("--explain", action="store_true", help="add per-token evidence and attributions")


def engine_config_from_args(args: argparse.Namespace) -> EngineConfig:
    """The ``EngineConfig`` for the flags of ``add_engine_arguments`` (``--model`` included)."""
    return EngineOptions.from_args(args).engine_config(model_dir=getattr(args, "model", None))
