"""Errors people see: each carries a code, the field it concerns and a human message."""

from __future__ import annotations


class ExportError(Exception):
    """An error to show a person as it is. Anything else is a bug."""

    exit_code = 1

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.code}{where}: {self.message}"


class InvalidSpec(ExportError):
    """The export spec breaks a validation rule; nothing was run."""

    exit_code = 2


class CatalogError(ExportError):
    """The catalog file is malformed; the message names the bad entry."""


class LimitExceeded(ExportError):
    """The result cannot be written in the chosen format without cutting it."""

    exit_code = 2


class Cancelled(ExportError):
    """The run was cancelled; no file was left behind."""

    def __init__(self, message: str = "Export cancelled") -> None:
        super().__init__("EXPORT_CANCELLED", message)


class SourceError(ExportError):
    """The source database could not be read."""
