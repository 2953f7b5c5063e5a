"""Where things live: the run directory, the model store, the shipped model, the handler; the serve extra."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from affectlens.errors import MissingDependencyError, ServeError
from affectlens.serving.protocol import HANDLER_FILE

RUN_DIR_ENV = "AFFECTLENS_RUN_DIR"
_PACKAGE = Path(__file__).resolve().parents[1]  # affectlens/


def default_run_dir() -> Path:
    """``$AFFECTLENS_RUN_DIR``, else ``$XDG_CACHE_HOME/affectlens/run`` (``~/.cache/affectlens/run``)."""
    if os.environ.get(RUN_DIR_ENV):
        return Path(os.environ[RUN_DIR_ENV]).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(cache) / "affectlens" / "run").resolve()


def run_dir_or_default(run_dir: str | Path | None) -> Path:
    """``run_dir`` resolved, or the default run directory when not given."""
    return Path(run_dir).resolve() if run_dir else default_run_dir()


def source_root() -> Path | None:
    """The source checkout this package runs from (editable install), if any."""
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "handlers").is_dir() else None


def default_model_store() -> Path:
    """``model_store/`` of the source checkout; ``<run dir>/model_store`` for an installed package."""
    root = source_root()
    return root / "model_store" if root is not None else default_run_dir() / "model_store"


def default_model_dir() -> Path:
    """The model shipped with the package (same folder as ``affectlens.engine.default_model_dir()``)."""
    return _PACKAGE / "default_model"


def handler_path() -> Path:
    """The handler file packed into the archive: the checkout's ``handlers/``, else the installed copy."""
    root = source_root()
    candidates = [root / "handlers" / HANDLER_FILE] if root is not None else []
    candidates.append(_PACKAGE / "handlers" / HANDLER_FILE)  # installed wheel
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(map(str, candidates))
    raise ServeError(f"the TorchServe handler {HANDLER_FILE} was not found (looked in {looked}); "
                     "reinstall affectlens with the serve extra, or run `make install` in a checkout")  # fmt: skip


def require_serve_extra(java: bool = True) -> None:
    """Fail with what to install when torchserve, torch-model-archiver, PyYAML (or Java) are missing."""
    for module, name in (("ts", "torchserve"), ("model_archiver", "torch-model-archiver"), ("yaml", "PyYAML")):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError.for_extra(name, "serve")
    if java and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ServeError(
            "java was not found: TorchServe needs a Java 11+ runtime (apt-get install openjdk-17-jre-headless)"
        )
