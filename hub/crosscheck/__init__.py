"""The cross-check engine (issue 7): registers of other departments against collected records.

- import: :func:`import_register` streams a CSV or XLSX register through a saved
  :class:`ColumnMapping` into a dated, immutable :class:`Dataset` (rows go to a
  :class:`DatasetSink`; :class:`MemoryDatasets` and :class:`SqliteDatasets` are
  the stores for tests, the bench and small deployments);
- matching: :class:`RecordIndex` and :func:`match_row` (exact on the ID number,
  proposals scored on name, birth date, sex and division for the rest);
- findings: :func:`check_dataset` yields :class:`Finding` and
  :class:`MatchProposal` values, authority per field from :class:`AuthorityPolicy`;
- routing: :func:`route_findings` groups findings per site of a
  :class:`SiteDirectory`; :func:`to_problem` makes the ``problem`` entries;
- the fix loop: :func:`advance` moves a :class:`FindingStatus`, :func:`recheck`
  says whether a finding still holds.

docs/crosscheck.md describes it all; docs/adr/0008-crosscheck-matching.md the choices.
"""

from hub.crosscheck.authority import DEFAULT_AUTHORITY, Authority, AuthorityPolicy
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
from hub.crosscheck.findings import (
    Finding,
    FindingKind,
    FindingScope,
    check_dataset,
    compare_row,
    compared_fields,
    finding_id,
    row_finding,
)
from hub.crosscheck.importing import RowReader, import_register
from hub.crosscheck.lifecycle import (
    Answer,
    AnswerAccepted,
    Answered,
    AnswerReason,
    AnswerRejected,
    FindingState,
    FindingStatus,
    Rechecked,
    Resolution,
    Withdrawn,
    advance,
    recheck,
)
from hub.crosscheck.mapping import ColumnMapping, ColumnRule, propose_mapping
from hub.crosscheck.matching import MatchConfig, MatchProposal, MatchReason, RecordIndex, match_row
from hub.crosscheck.problems import RowProblem
from hub.crosscheck.reading import open_register, read_headers
from hub.crosscheck.routing import (
    RoutedFindings,
    Routing,
    SiteDirectory,
    SiteRoute,
    StaticSiteDirectory,
    problem_body,
    read_problem_body,
    route_findings,
    to_problem,
)
from hub.crosscheck.stores import MemoryDatasets, SqliteDatasets

__all__ = [
    "DEFAULT_AUTHORITY",
    "Answer",
    "AnswerAccepted",
    "AnswerReason",
    "AnswerRejected",
    "Answered",
    "Authority",
    "AuthorityPolicy",
    "ColumnMapping",
    "ColumnRule",
    "CrosscheckConfigError",
    "Dataset",
    "DatasetReader",
    "DatasetSink",
    "FileFormat",
    "Finding",
    "FindingKind",
    "FindingScope",
    "FindingState",
    "FindingStateError",
    "FindingStatus",
    "MappingError",
    "MatchConfig",
    "MatchProposal",
    "MatchReason",
    "MemoryDatasets",
    "ProblemBodyError",
    "Rechecked",
    "RecordIndex",
    "RegisterField",
    "RegisterFileError",
    "RegisterRow",
    "Resolution",
    "RoutedFindings",
    "Routing",
    "RowProblem",
    "RowReader",
    "SiteDirectory",
    "SiteRoute",
    "SourceKind",
    "SqliteDatasets",
    "StaticSiteDirectory",
    "Value",
    "Withdrawn",
    "advance",
    "check_dataset",
    "compare_row",
    "compared_fields",
    "finding_id",
    "import_register",
    "match_row",
    "open_register",
    "problem_body",
    "propose_mapping",
    "read_headers",
    "read_problem_body",
    "recheck",
    "route_findings",
    "row_finding",
    "to_problem",
]
