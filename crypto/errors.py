"""The root of Muster's exception hierarchy.

Every error Muster raises on purpose derives from :class:`MusterError`. The tree
has two main branches: :class:`InputError` for bad input that came from outside
(a peer, a file, a device, a form, an operator's password) and
:class:`UsageError` for a caller that used an API wrongly or a configuration
that cannot work. A third branch, :class:`StateError`, is for a request that is
well formed but not allowed in the current state (not enrolled yet, already
revoked, already decided).

Each package adds its own subclasses in its ``errors`` module (``crypto``, ``protocol``,
``node``, ``node.collector``, ``node.web.kit``, ``node.reports``, ``hub``,
``hub.crosscheck``, ``hub.console``, ``hub.demo``); the whole tree is::

    MusterError
    ├── InputError                                      bad input from outside        (HTTP 400)
    │   ├── crypto.DecryptionError
    │   ├── crypto.KeyFormatError
    │   ├── crypto.KeystoreError
    │   │   └── crypto.WrongPassphraseError             the passphrase does not unlock a keystore
    │   ├── crypto.SignatureError
    │   ├── protocol.BundleError                        a check of docs/protocol.md §4 failed
    │   │   ├── protocol.BundleTooLargeError            step 1: size limits
    │   │   ├── protocol.HeaderSyntaxError              step 2: header syntax
    │   │   ├── protocol.BadSignatureError              step 3: signature
    │   │   ├── protocol.UntrustedSignerError           step 4: signer key trusted
    │   │   ├── protocol.PayloadDecryptError            step 5: payload decrypts
    │   │   ├── protocol.PayloadMismatchError           step 6: payload hash and ids match
    │   │   └── protocol.EntryLimitError                step 7: entries within limits
    │   ├── protocol.DivisionCodeError
    │   ├── protocol.EntryError                         a bundle entry's type or body is invalid
    │   ├── protocol.OpError
    │   ├── protocol.RecordError                        a record or a value violates the schema
    │   │   ├── protocol.FieldValueError
    │   │   ├── protocol.InvalidIdNumberError
    │   │   └── protocol.ValidationError
    │   ├── protocol.StreamError
    │   ├── protocol.TrustError                         a statement is not acceptable
    │   │   ├── protocol.AuthorisationError
    │   │   │   └── protocol.ProvenanceError            an op lacks authorised provenance
    │   │   ├── protocol.CertificateExpiredError
    │   │   ├── protocol.CertificateRevokedError
    │   │   ├── protocol.ChainError
    │   │   ├── protocol.NameConstraintError
    │   │   └── protocol.RequestAuthError
    │   ├── node.AuthenticationError
    │   ├── node.ForeignBundleError
    │   ├── node.FormError
    │   ├── node.HubResponseError
    │   ├── node.NotFoundError
    │   ├── node.NotPermittedError
    │   ├── node.TransferFileError
    │   ├── node.collector.CollectorError               the ID-card reader answered badly
    │   │   ├── node.collector.CardDataError
    │   │   ├── node.collector.DeviceGoneError
    │   │   ├── node.collector.DeviceTimeoutError
    │   │   ├── node.collector.FrameError
    │   │   │   └── node.collector.ChecksumError
    │   │   └── node.collector.StatusError
    │   ├── node.web.kit.WebInputError
    │   │   ├── node.web.kit.CsrfError
    │   │   └── node.web.kit.LoginFailedError
    │   ├── hub.AuthenticationError
    │   ├── hub.ForbiddenError
    │   ├── hub.KindNotAcceptedError
    │   ├── hub.NotFoundError
    │   ├── hub.WrongRecipientError
    │   ├── node.reports.NarrativeError
    │   ├── node.reports.PeriodError
    │   ├── node.reports.RegionError
    │   ├── node.reports.SnapshotFormatError
    │   ├── hub.crosscheck.MappingError
    │   ├── hub.crosscheck.ProblemBodyError
    │   ├── hub.crosscheck.RegisterFileError
    │   └── hub.console.FormError
    ├── StateError                                      well formed, not allowed now  (HTTP 409)
    │   ├── protocol.AuditChainError                    an audit log's hash chain is broken
    │   ├── node.ConflictError
    │   ├── node.HubUnreachableError
    │   ├── node.NoCertificateError
    │   ├── node.NoEscrowError                          enrolled, but no recovery key to seal to
    │   ├── node.NotEnrolledError
    │   ├── node.NothingToDoError
    │   ├── node.StoppingError                          the agent is stopping: a wait given up
    │   ├── node.StoreError
    │   ├── node.web.kit.AccessError
    │   │   ├── node.web.kit.LoginThrottledError
    │   │   └── node.web.kit.NotLoggedInError
    │   ├── hub.AlreadyDecidedError
    │   ├── hub.BundleStorageError                      the hub's disk refused a bundle (507)
    │   ├── hub.ClaimLostError
    │   ├── hub.LoginThrottledError
    │   ├── hub.StoppingError                           the hub is stopping: a step given up
    │   ├── node.reports.ReportWriteError
    │   ├── hub.crosscheck.FindingStateError
    │   ├── hub.demo.DemoBusyError                      a demo still runs in that directory
    │   ├── hub.demo.DemoCheckError                     a demo step saw something unexpected
    │   └── hub.demo.DemoProcessError                   a demo process exited or never got ready
    └── UsageError                                      caller misuse or bad config   (HTTP 500)
        ├── protocol.SchemaDefinitionError
        ├── node.ConfigError
        ├── node.collector.CollectorConfigError
        ├── hub.ConfigError
        ├── node.reports.ReportModelError
        ├── hub.crosscheck.CrosscheckConfigError
        ├── hub.demo.DemoDirError                       --dir holds files that are not a demo's
        └── hub.demo.TopologyError                      a demo province that is not a tree

``tests/test_errors.py`` checks that every class drawn here exists where the drawing
puts it, and that every error class of those modules is drawn.

Messages say what was expected and what was seen, never a key, a password or a
person's data. Operator guidance goes in :meth:`MusterError.diagnostics`.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "DecryptionError",
    "InputError",
    "KeyFormatError",
    "KeystoreError",
    "MusterError",
    "SignatureError",
    "StateError",
    "UsageError",
    "WrongPassphraseError",
]


class MusterError(Exception):
    """Base class of every error Muster raises on purpose.

    Attributes:
        message: one line a person can act on.
        fields: structured facts about the error (ids, counts, positions), safe to log.
    """

    http_status: ClassVar[int] = 500
    #: A short, stable machine-readable code used in API error bodies.
    code: ClassVar[str] = "muster_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = dict(fields)

    def diagnostics(self) -> str:
        """Return operator guidance: what to check and what to do next."""
        return ""

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-able mapping for API responses and audit entries."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["details"] = {k: _jsonable(v) for k, v in self.fields.items()}
        hint = self.diagnostics()
        if hint:
            body["hint"] = hint
        return body


class InputError(MusterError):
    """Bad input from outside: a peer, a file, a device, a form or a password."""

    http_status = 400
    code = "bad_input"


class UsageError(MusterError):
    """The caller used an API wrongly, or a configuration cannot work."""

    http_status = 500
    code = "usage_error"


class StateError(MusterError):
    """The request is well formed but not allowed in the current state."""

    http_status = 409
    code = "state_error"


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class KeyFormatError(InputError):
    """A key, recipient, identity or signature text is not in the expected format."""

    code = "bad_key_format"


class SignatureError(InputError):
    """A signature does not verify under the given public key."""

    http_status = 403
    code = "bad_signature"


class DecryptionError(InputError):
    """Ciphertext cannot be decrypted with the given identities, or it is damaged."""

    code = "not_decryptable"


class KeystoreError(InputError):
    """A keystore file is damaged, of an unknown version, or asks for unsafe parameters."""

    code = "bad_keystore"


class WrongPassphraseError(KeystoreError):
    """The passphrase does not unlock the keystore."""

    http_status = 401
    code = "wrong_passphrase"

    def diagnostics(self) -> str:
        return "Check the passphrase (or the file given with --passphrase-file) and try again."
