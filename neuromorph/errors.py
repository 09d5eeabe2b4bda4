"""Exceptions raised by neuromorph.

Every user-facing problem is a subclass of :class:`NeuromorphError`; the CLI turns
them into a one-line message and exit status 2 (3 for :class:`OverflowDetected`
under ``--strict``).
"""
from __future__ import annotations


class NeuromorphError(Exception):
    """Base class of all errors neuromorph reports to the user."""


class InputError(NeuromorphError, ValueError):
    """Bad user input, located by file and field.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    source : str, optional
        The file (or other origin) the input came from.
    field : str, optional
        The dotted field inside that source, e.g. ``parameters.g_Na``.
    """

    def __init__(self, message: str, source: str | None = None, field: str | None = None):
        self.message = message
        self.source = source
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ":".join(part for part in (self.source, self.field) if part)
        return f"{where}: {self.message}" if where else self.message

    def located(self, source: str | None = None, field: str | None = None) -> "InputError":
        """Return a copy with the source and/or field filled in where missing."""
        return type(self)(self.message, self.source or source, self.field or field)


class ModelFileError(InputError):
    """A model file is malformed or asks for something neuromorph cannot do."""


class TargetFileError(InputError):
    """A hardware target file is malformed."""


class UnitError(InputError):
    """A quantity string is malformed, has an unknown unit or the wrong dimension."""


class LoweringError(InputError):
    """An equation cannot be lowered to the fixed-point kernel."""


class ConfigError(InputError):
    """A quantization setting is outside what the hardware target allows."""


class OverflowDetected(NeuromorphError):
    """A fixed-point register saturated or wrapped and the run was strict."""
