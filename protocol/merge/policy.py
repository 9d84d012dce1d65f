"""Which fields never change without a reviewer (ARCHITECTURE §4).

The merge rules take the policy as a small object so that the schema, which knows
each field's ``merge_policy``, can supply it without the merge depending on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from crypto.errors import UsageError

__all__ = ["DEFAULT_POLICY", "IDENTITY_FIELDS", "ID_NUMBER_FIELD", "FieldPolicy", "StaticPolicy"]

#: The national ID number: the natural key duplicates are found by.
ID_NUMBER_FIELD: Final = "id_number"
#: Identity fields: a change or a conflict on one always goes to review.
IDENTITY_FIELDS: Final = frozenset({"name", ID_NUMBER_FIELD, "sex", "birth_date", "ethnicity"})


class FieldPolicy(Protocol):
    """Decides, per field, whether changes need a reviewer or follow last-writer-wins."""

    def requires_review(self, field: str) -> bool:
        """Return True when a conflict on ``field`` waits for a reviewer."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StaticPolicy:
    """A fixed set of review fields; every other field is last-writer-wins.

    Raises:
        UsageError: ``review_fields`` is not a frozenset of field names.
    """

    review_fields: frozenset[str] = IDENTITY_FIELDS

    def __post_init__(self) -> None:
        if not isinstance(self.review_fields, frozenset) or not all(
            isinstance(name, str) for name in self.review_fields
        ):
            raise UsageError("policy review_fields: expected a frozenset of field names")

    def requires_review(self, field: str) -> bool:
        """Return True when ``field`` is one of the review fields."""
        return field in self.review_fields


#: Identity fields go to review; everything else, ``_status`` included, is last-writer-wins.
DEFAULT_POLICY: Final = StaticPolicy()
