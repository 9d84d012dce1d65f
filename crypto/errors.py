"""The root of Muster's exception hierarchy.

Every error Muster raises on purpose derives from :class:`MusterError`. The tree
has two main branches: :class:`InputError` for bad input that came from outside
(a peer, a file, a device, a form, an operator's password) and
:class:`UsageError` for a caller that used an API wrongly or a configuration
that cannot work. A third branch, :class:`StateError`, is for a request that is
well formed but not allowed in the current state (not enrolled yet, already
revoked, already decided).

Each package adds its own subclasses in its ``errors`` module; the whole tree is::

    MusterError
    ├── InputError                      bad input from outside        (HTTP 400)
    │   ├── crypto.KeyFormatError       a key or signature file is not in the expected format
    │   ├── crypto.SignatureError       a signature does not verify
    │   ├── crypto.DecryptionError      ciphertext cannot be decrypted with the given identity
    │   ├── crypto.KeystoreError        a keystore file is unreadable
    │   │   └── crypto.WrongPassphraseError
    │   ├── protocol.BundleError        a bundle fails one of the numbered checks (protocol.md)
    │   │   ├── BundleTooLargeError         step 1: size limits
    │   │   ├── HeaderSyntaxError           step 2: header syntax
    │   │   ├── BadSignatureError           step 3: signature
    │   │   ├── UntrustedSignerError        step 4: signer key trusted
    │   │   ├── PayloadDecryptError         step 5: payload decrypts
    │   │   ├── PayloadMismatchError        step 6: payload hash and ids match header
    │   │   └── EntryLimitError             step 7: entries decode within limits
    │   ├── protocol.TrustError         a certificate, revocation list or receipt is not acceptable
    │   │   ├── CertificateExpiredError
    │   │   ├── CertificateRevokedError
    │   │   ├── NameConstraintError
    │   │   ├── ChainError
    │   │   ├── AuthorisationError
    │   │   │   └── ProvenanceError         an op in a package lacks authorised provenance
    │   │   └── RequestAuthError
    │   ├── protocol.RecordError        a record or op violates the schema
    │   │   ├── ValidationError             carries the list of field problems
    │   │   ├── FieldValueError             one value cannot be coerced to its field's type
    │   │   └── InvalidIdNumberError
    │   ├── protocol.DivisionCodeError  a division code or node id is malformed
    │   ├── protocol.OpError            an op is malformed
    │   ├── protocol.EntryError         a bundle entry's type or body is invalid
    │   ├── protocol.StreamError        a bundle is out of order in its stream
    │   └── node.collector.CollectorError  a device answered badly (frame, status, timeout)
    │       ├── node.collector.FrameError
    │       │   └── node.collector.ChecksumError
    │       ├── node.collector.StatusError
    │       ├── node.collector.DeviceTimeoutError
    │       ├── node.collector.DeviceGoneError
    │       └── node.collector.CardDataError
    ├── UsageError                      the caller used an API wrongly   (HTTP 500)
    │   ├── protocol.SchemaDefinitionError  a schema table is inconsistent
    │   └── node.collector.CollectorConfigError
    └── StateError                      well formed, but not allowed now  (HTTP 409)
        └── protocol.AuditChainError    an audit log's hash chain is broken

The node and hub shells add their own leaves under these branches; their
``errors`` modules list them. ``tests/test_errors.py`` checks that every class
named here exists and sits where this drawing puts it.

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
