"""Coded errors with messages a user can act on."""

from __future__ import annotations


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
