"""Errors of the cross-check engine (leaves of the tree drawn in :mod:`crypto.errors`)::

    MusterError
    ├── InputError
    │   ├── hub.crosscheck.RegisterFileError  a register file cannot be read (format,
    │   │                                     encoding, header, damaged)      (HTTP 422)
    │   ├── hub.crosscheck.MappingError       a column mapping is malformed or does not fit
    │   │                                     the file's header row            (HTTP 422)
    │   └── hub.crosscheck.ProblemBodyError   a ``problem`` entry's body is malformed (422)
    ├── UsageError
    │   └── hub.crosscheck.CrosscheckConfigError  authority or matching settings cannot work
    └── StateError
        └── hub.crosscheck.FindingStateError  an event a finding's state does not allow

A bad *row* is not an exception: it becomes a :class:`hub.crosscheck.RowProblem`
and the import goes on. Messages name rows, columns and ids, never a person's data.
"""

from __future__ import annotations

from crypto.errors import InputError, StateError, UsageError

__all__ = [
    "CrosscheckConfigError",
    "FindingStateError",
    "MappingError",
    "ProblemBodyError",
    "RegisterFileError",
]


class RegisterFileError(InputError):
    """The register file as a whole cannot be read: nothing of it is stored."""

    http_status = 422
    code = "bad_register_file"

    def diagnostics(self) -> str:
        return (
            "Save the register as CSV (UTF-8 or GBK) or XLSX with one header row; "
            "if the text looks garbled, give the encoding explicitly."
        )


class MappingError(InputError):
    """A saved or submitted column mapping is malformed, or its columns are not in the file."""

    http_status = 422
    code = "bad_column_mapping"


class ProblemBodyError(InputError):
    """The body of a ``problem`` bundle entry is not a valid cross-check finding."""

    http_status = 422
    code = "bad_problem_body"


class CrosscheckConfigError(UsageError):
    """The authority or matching configuration cannot work (unknown field, bad weight)."""

    code = "bad_crosscheck_config"


class FindingStateError(StateError):
    """The event is not allowed in the finding's current state (answer a closed finding)."""

    code = "finding_state"
