"""Coded errors with messages a user can act on."""

from __future__ import annotations

from typing import Any


class AffectlensError(Exception):
    """Base class. ``code`` is a stable, machine-readable name; the message says what to do."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidInputError(AffectlensError):
    """A text cannot be scored as given (empty, not a string, invalid UTF-8, ...)."""

    code = "invalid_input"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code  # the input problem's own code: empty_text, invalid_utf8, not_a_string, ...


class ConfigError(AffectlensError):
    code = "config"


class MissingDependencyError(AffectlensError):
    """An optional dependency is not installed; the message names the extra to install."""

    code = "missing_dependency"

    @classmethod
    def for_extra(cls, module: str, extra: str) -> MissingDependencyError:
        return cls(f"{module} is not installed: run `pip install 'affectlens[{extra}]'` (or `make install`)")


class ModelNotFoundError(AffectlensError):
    code = "model_not_found"


def error_payload(code: str, message: str, id: Any = None) -> dict[str, Any]:
    """The JSON error object of the contract: ``{"id": ..., "error": {"code", "message"}}`` (no ``id`` when None)."""
    out: dict[str, Any] = {} if id is None else {"id": id}
    out["error"] = {"code": code, "message": message}
    return out


# -- serving (``affectlens serve``, ``stop``, ``token``, ``archive``) ----------------------------------
class ServeError(AffectlensError):
    code = "serve"


class PortInUseError(ServeError):
    code = "port_in_use"


class AlreadyRunningError(ServeError):
    code = "already_running"


class NotRunningError(ServeError):
    code = "not_running"


class ServerStartError(ServeError):
    code = "server_start"


class ArchiveError(ServeError):
    code = "archive"
