"""Batch scoring: ``affectlens score INPUT -o OUTPUT``, :func:`score_file` (local processes or REST) and
:func:`ray_score` (Ray Data).

A job is a pipeline ``reader -> chunks -> scorer -> formatter -> sink``:

* :mod:`~affectlens.batch.readers`: JSONL / CSV / Parquet streamed in bounded memory; bad rows become error
  records with their line number, the good ones are still scored.
* the scorer (:mod:`~affectlens.batch.pools`): anything with ``score_batch(texts, explain=...)`` in this
  process, a ``factory(threads)`` built once per ``--workers N`` process, or a running TorchServe
  (:mod:`~affectlens.batch.rest`); chunks keep the input order with a bounded number in flight.
* :mod:`~affectlens.batch.formatting` and :mod:`~affectlens.batch.sinks`: the output formats, fsynced files
  and the checkpoint (:mod:`~affectlens.batch.checkpoint`) that ``--resume`` continues from.
* :mod:`~affectlens.batch.job` runs it locally; :mod:`~affectlens.batch.ray` on Ray Data with the same
  readers' checks and formatting; :mod:`~affectlens.batch.cli` is ``affectlens score``.

Importing this package is cheap: Ray, pyarrow, urllib3 and the engine are imported when used.
"""

from __future__ import annotations

from .cli import register_command, run_score
from .job import score_file
from .pools import ScorerSpec, cpu_count, describe_scorer, engine_factory, ordered_map
from .ray import ray_score
from .rest import RestError, RestOptions
from .types import BatchError, BatchOptions, BatchSummary, Chunk, InProcess, Scorer, ScorerFactory, Workers

__all__ = [
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "Chunk",
    "InProcess",
    "RestError",
    "RestOptions",
    "Scorer",
    "ScorerFactory",
    "ScorerSpec",
    "Workers",
    "cpu_count",
    "describe_scorer",
    "engine_factory",
    "ordered_map",
    "ray_score",
    "register_command",
    "run_score",
    "score_file",
]
