"""The cross-check engine (issue 7): registers of other departments against collected records.

Import (:func:`import_register`) streams a CSV or XLSX register through a
:class:`ColumnMapping` into a dated, immutable :class:`Dataset`; matching and
findings follow in the modules beside it. docs/crosscheck.md describes it all.
"""

from hub.crosscheck.cells import Value
from hub.crosscheck.dataset import Dataset, DatasetReader, DatasetSink, FileFormat, RegisterRow
from hub.crosscheck.errors import (
    CrosscheckConfigError,
    FindingStateError,
    MappingError,
    ProblemBodyError,
    RegisterFileError,
)
from hub.crosscheck.fields import RegisterField, SourceKind
from hub.crosscheck.importing import RowReader, import_register
from hub.crosscheck.mapping import ColumnMapping, ColumnRule, propose_mapping
from hub.crosscheck.problems import RowProblem
from hub.crosscheck.reading import open_register, read_headers
from hub.crosscheck.stores import MemoryDatasets, SqliteDatasets

__all__ = [
    "ColumnMapping",
    "ColumnRule",
    "CrosscheckConfigError",
    "Dataset",
    "DatasetReader",
    "DatasetSink",
    "FileFormat",
    "FindingStateError",
    "MappingError",
    "MemoryDatasets",
    "ProblemBodyError",
    "RegisterField",
    "RegisterFileError",
    "RegisterRow",
    "RowProblem",
    "RowReader",
    "SourceKind",
    "SqliteDatasets",
    "Value",
    "import_register",
    "open_register",
    "propose_mapping",
    "read_headers",
]
