"""MLflow glue for training, export and evaluation: the one place that reads the MLflow environment.

``MLFLOW_TRACKING_URI`` and ``MLFLOW_EXPERIMENT_NAME`` are honoured when set. Training without them logs to a
local file store under its output folder (``<output_dir>/mlruns``), experiment ``affectlens``; export and
evaluation log only when tracking is configured (the variable is set, or a URI is passed). Everything goes
through ``MlflowClient``: no global active run, so a caller's own MLflow state is left alone. mlflow is
imported inside functions (the ``train`` extra installs mlflow-skinny).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affectlens.errors import ConfigError, MissingDependencyError

log = logging.getLogger("affectlens.tracking")

DEFAULT_EXPERIMENT = "affectlens"
LOCAL_STORE = "mlruns"
_BATCH = 100  # MLflow accepts at most 100 params (1000 metrics) per log_batch call
_MAX_PARAM_CHARS = 6000
_BAD_KEY_CHARS = re.compile(r"[^\w\-. :/]")


def _client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise MissingDependencyError.for_extra("mlflow", "train") from exc
    if uri.startswith("file:"):
        # MLflow 3 only opens a plain file store after this opt-in; it is the no-server default here.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def tracking_configured() -> bool:
    """True when ``MLFLOW_TRACKING_URI`` is set (export and evaluation log only then)."""
    return bool(os.environ.get("MLFLOW_TRACKING_URI"))


def resolve_tracking_uri(output_dir: str | Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a local file store in ``output_dir/mlruns``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    if output_dir is None:
        raise ConfigError("no MLflow tracking URI: set MLFLOW_TRACKING_URI or pass a tracking URI")
    return (Path(output_dir) / LOCAL_STORE).resolve().as_uri()


def experiment_name() -> str:
    """``MLFLOW_EXPERIMENT_NAME`` if set, else ``affectlens``."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


def metric_key(name: str) -> str:
    """A metric name MLflow accepts (``@`` -> ``_at_``, other odd characters -> ``_``)."""
    return _BAD_KEY_CHARS.sub("_", name.replace("@", "_at_"))


@dataclass(frozen=True)
class TrackedRun:
    """One MLflow run, addressed by id through its own client."""

    client: Any
    run_id: str
    experiment_id: str
    tracking_uri: str

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(str(k), str(v)[:_MAX_PARAM_CHARS]) for k, v in params.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + _BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(metric_key(k), float(v), now, step or 0) for k, v in metrics.items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, metrics=items[start : start + _BATCH])

    def log_artifacts(self, folder: str | Path, artifact_path: str | None = None) -> None:
        """Upload every file under ``folder`` (kept relative) to ``artifact_path`` of the run."""
        path = Path(folder)
        if not path.is_dir():
            raise ConfigError(f"cannot log artifacts: {path} is not a folder")
        self.client.log_artifacts(self.run_id, str(path), artifact_path)

    def log_artifact(self, file: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(file), artifact_path)


def _experiment_id(client: Any, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return str(client.create_experiment(name))
        except Exception:  # created meanwhile by another process
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        raise ConfigError(
            f"MLflow experiment {name!r} is deleted: restore it (`mlflow experiments restore`) "
            "or set MLFLOW_EXPERIMENT_NAME to another name"
        )
    return str(experiment.experiment_id)


@contextmanager
def start_run(
    output_dir: str | Path | None,
    run_name: str,
    params: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[TrackedRun]:
    """Open a new run (or reopen ``run_id`` to continue it) and close it FINISHED, KILLED or FAILED.

    ``params`` are logged only for a new run: a continued run keeps the ones it was started with.
    """
    uri = tracking_uri or resolve_tracking_uri(output_dir)
    client = _client(uri)
    if run_id:
        try:
            existing = client.get_run(run_id)
        except Exception as exc:
            raise ConfigError(
                f"MLflow run {run_id} is not in the tracking store {uri}: resume with the MLFLOW_TRACKING_URI "
                "the run started with"
            ) from exc
        run = TrackedRun(client, run_id, str(existing.info.experiment_id), uri)
        client.update_run(run_id, status="RUNNING")
    else:
        experiment_id = _experiment_id(client, experiment_name())
        created = client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
        run = TrackedRun(client, str(created.info.run_id), experiment_id, uri)
        if params:
            run.log_params(params)
    log.info("MLflow run %s in %s", run.run_id, uri)
    try:
        yield run
    except KeyboardInterrupt:
        client.set_terminated(run.run_id, status="KILLED")
        raise
    except BaseException:
        client.set_terminated(run.run_id, status="FAILED")
        raise
    client.set_terminated(run.run_id, status="FINISHED")


def _log_folder(
    folder: str | Path,
    artifact_path: str,
    kind: str,
    run_id: str | None,
    tracking_uri: str | None,
    run_name: str | None,
    metrics: Mapping[str, float] | None,
) -> str | None:
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return None
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"cannot log the {kind} to MLflow: {path} is not a folder")
    run_id = run_id or os.environ.get("MLFLOW_RUN_ID") or None
    if run_id:  # add to an existing run (e.g. the training run), leave its status alone
        client = _client(uri)
        try:
            experiment_id = str(client.get_run(run_id).info.experiment_id)
        except Exception as exc:
            raise ConfigError(f"cannot log the {kind}: MLflow run {run_id} is not in the tracking store {uri}") from exc
        run = TrackedRun(client, run_id, experiment_id, uri)
        run.log_artifacts(path, artifact_path)
        if metrics:
            run.log_metrics(metrics)
        return run_id
    name = run_name or f"{kind} {path.resolve().name}"
    with start_run(None, name, tracking_uri=uri, tags={"affectlens.kind": kind}) as run:
        run.log_artifacts(path, artifact_path)
        if metrics:
            run.log_metrics(metrics)
    return run.run_id


def log_model_folder(
    model_dir: str | Path,
    *,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    run_name: str | None = None,
    metrics: Mapping[str, float] | None = None,
) -> str | None:
    """Log an exported model folder as artifacts under ``model/``; returns the run id, or None when untracked.

    Does nothing unless ``tracking_uri`` is given or ``MLFLOW_TRACKING_URI`` is set. Logs to ``run_id`` (or
    ``MLFLOW_RUN_ID``) when given, else to a new run named ``export <folder>`` in the current experiment.
    """
    return _log_folder(model_dir, "model", "export", run_id, tracking_uri, run_name, metrics)


def log_report(
    report_dir: str | Path,
    *,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    run_name: str | None = None,
    metrics: Mapping[str, float] | None = None,
) -> str | None:
    """Log an evaluation report folder as artifacts under ``report/`` (same rules as ``log_model_folder``)."""
    return _log_folder(report_dir, "report", "evaluate", run_id, tracking_uri, run_name, metrics)
