"""Errors of the pure protocol core (see the tree in :mod:`crypto.errors`)."""

from __future__ import annotations

from typing import Any

from crypto.errors import InputError, StateError, UsageError

__all__ = [
    "AuditChainError",
    "AuthorisationError",
    "BadSignatureError",
    "BundleError",
    "BundleTooLargeError",
    "CertificateExpiredError",
    "CertificateRevokedError",
    "ChainError",
    "DivisionCodeError",
    "EntryError",
    "EntryLimitError",
    "FieldValueError",
    "HeaderSyntaxError",
    "InvalidIdNumberError",
    "NameConstraintError",
    "OpError",
    "PayloadDecryptError",
    "PayloadMismatchError",
    "ProvenanceError",
    "RecordError",
    "RequestAuthError",
    "SchemaDefinitionError",
    "StreamError",
    "TrustError",
    "UntrustedSignerError",
    "ValidationError",
]


class BundleError(InputError):
    """A bundle failed one of the numbered verification steps of docs/protocol.md."""

    code = "bad_bundle"
    #: The step of docs/protocol.md §4 that failed.
    step: int = 0


class BundleTooLargeError(BundleError):
    """Step 1: the bundle, its header or its payload exceeds a configured limit."""

    http_status = 413
    code = "bundle_too_large"
    step = 1


class HeaderSyntaxError(BundleError):
    """Step 2: the signature lines or the header JSON are malformed."""

    code = "bad_header"
    step = 2


class BadSignatureError(BundleError):
    """Step 3: the signature or the global signature does not verify."""

    code = "bad_signature"
    step = 3


class UntrustedSignerError(BundleError):
    """Step 4: the signing key is unknown, or its certificate is not valid for the sender."""

    http_status = 403
    code = "untrusted_signer"
    step = 4


class PayloadDecryptError(BundleError):
    """Step 5: the payload cannot be decrypted with the receiver's identity."""

    code = "payload_not_decryptable"
    step = 5


class PayloadMismatchError(BundleError):
    """Step 6: the payload's hash, bundle id, sender or count disagrees with the header."""

    code = "payload_mismatch"
    step = 6


class EntryLimitError(BundleError):
    """Step 7: an entry cannot be decoded, or exceeds a count, length or nesting limit."""

    code = "bad_entry"
    step = 7


class TrustError(InputError):
    """A certificate, revocation list, receipt or authorisation is not acceptable."""

    http_status = 403
    code = "untrusted"


class CertificateExpiredError(TrustError):
    """A certificate is outside its validity window at the time of use."""

    code = "certificate_expired"


class CertificateRevokedError(TrustError):
    """A certificate appears on a valid revocation list from its issuer."""

    code = "certificate_revoked"


class NameConstraintError(TrustError):
    """An issuer certified a subject outside its jurisdiction, or a role it may not grant."""

    code = "name_constraint"


class ChainError(TrustError):
    """A certificate chain does not lead to the configured root, or a signature in it fails."""

    code = "bad_chain"


class AuthorisationError(TrustError):
    """A batch or package authorisation is missing, malformed or does not cover its ops."""

    code = "not_authorised"


class ProvenanceError(AuthorisationError):
    """An op in a package does not trace to an authorisation at its origin and through
    every hub on the way; the message names the op."""

    code = "no_provenance"


class RequestAuthError(TrustError):
    """A request's signature header is missing, malformed, stale or does not verify."""

    http_status = 401
    code = "unauthenticated"


class AuditChainError(StateError):
    """An audit log's hash chain is broken: an entry was altered, removed or reordered."""

    code = "audit_chain_broken"


class RecordError(InputError):
    """A record or a field value violates the schema."""

    http_status = 422
    code = "bad_record"


class ValidationError(RecordError):
    """A record has one or more field problems; ``problems`` lists them all.

    Attributes:
        problems: the :class:`protocol.validation.Problem` values, in field order.
    """

    code = "invalid_record"

    def __init__(self, message: str, *, problems: tuple[Any, ...] = (), **fields: Any) -> None:
        super().__init__(message, **fields)
        self.problems: tuple[Any, ...] = tuple(problems)

    def to_dict(self) -> dict[str, Any]:
        """Return the error with its problems (field, code and both messages) for the API."""
        body = super().to_dict()
        body["problems"] = [
            {
                "field": p.field,
                "code": p.code,
                "message_zh": p.message_zh,
                "message_en": p.message_en,
            }
            for p in self.problems
        ]
        return body


class FieldValueError(RecordError):
    """One form or JSON value cannot be turned into its field's canonical encoding.

    Attributes:
        problem: the :class:`protocol.validation.Problem` to show beside the field.
    """

    code = "invalid_field_value"

    def __init__(self, message: str, *, problem: Any, **fields: Any) -> None:
        super().__init__(message, field=problem.field, rule=problem.code, **fields)
        self.problem = problem


class InvalidIdNumberError(RecordError):
    """A national ID number fails the GB 11643 rules; the ``rule`` field names which."""

    code = "invalid_id_number"


class DivisionCodeError(InputError):
    """A division code or node id is malformed (digits, length or structure)."""

    code = "bad_division_code"


class OpError(InputError):
    """An op is malformed (unknown kind, missing field, bad clock)."""

    http_status = 422
    code = "bad_op"


class StreamError(InputError):
    """A bundle breaks its stream's order: a reused sequence number or a wrong previous hash."""

    http_status = 409
    code = "stream_order"


class SchemaDefinitionError(UsageError):
    """A schema table shipped or configured for the deployment is inconsistent."""

    code = "bad_schema_definition"


class EntryError(InputError):
    """A bundle entry is of an unknown type or its body is invalid (protocol/entries.py)."""

    http_status = 422
    code = "bad_entry_content"
