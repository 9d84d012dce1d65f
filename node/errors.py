"""Errors of the node agent (leaves of the tree drawn in :mod:`crypto.errors`)::

    MusterError
    ├── InputError
    │   ├── node.AuthenticationError    wrong login or password              (HTTP 401)
    │   ├── node.NotPermittedError      the account's role may not do this   (HTTP 403)
    │   ├── node.NotFoundError          no such record, account, blob, problem (HTTP 404)
    │   ├── node.FormError              a form value or choice is unusable   (HTTP 422)
    │   ├── node.TransferFileError      a file to import cannot be read or is not a bundle
    │   ├── node.ForeignBundleError     a bundle not from our parent, not for us, or of a wrong kind
    │   └── node.HubResponseError       the parent hub answered something unusable (HTTP 502)
    ├── UsageError
    │   └── node.ConfigError            node.toml or an environment override is wrong
    └── StateError
        ├── node.NotEnrolledError       the node has no certificate from its parent yet
        ├── node.NoEscrowError          enrolled, but no province recovery key to seal to
        ├── node.NoCertificateError     an approver has no certificate from the parent yet
        ├── node.NothingToDoError       nothing to authorise, export or sync
        ├── node.ConflictError          already exists, already done, or changed meanwhile
        ├── node.HubUnreachableError    the parent hub cannot be reached now (HTTP 503)
        ├── node.StoppingError          the agent is stopping: a wait or a sync was given up
        └── node.StoreError             the store cannot be opened or written (disk full, I/O)

Messages name ids and counts, never a person's data, a password or a key.
"""

from __future__ import annotations

from crypto.errors import InputError, StateError, UsageError

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "ForeignBundleError",
    "FormError",
    "HubResponseError",
    "HubUnreachableError",
    "NoCertificateError",
    "NoEscrowError",
    "NotEnrolledError",
    "NotFoundError",
    "NotPermittedError",
    "NothingToDoError",
    "StoppingError",
    "StoreError",
    "TransferFileError",
]


class AuthenticationError(InputError):
    """The login or the password is wrong (which one is not said)."""

    http_status = 401
    code = "authentication_failed"


class NotPermittedError(InputError):
    """The account exists and is logged in, but its role may not do this."""

    http_status = 403
    code = "not_permitted"


class NotFoundError(InputError):
    """The record, account, blob or problem named does not exist on this node."""

    http_status = 404
    code = "not_found"


class FormError(InputError):
    """A form value outside the schema's fields (a category, a flag, a media type) is unusable."""

    http_status = 422
    code = "bad_form"


class TransferFileError(InputError):
    """A file given to ``import`` cannot be read, or is neither a bundle nor a receipt."""

    code = "bad_transfer_file"


class ForeignBundleError(InputError):
    """A verified bundle that is not from this node's parent, not addressed to this node,
    or of a kind a node does not take."""

    http_status = 422
    code = "foreign_bundle"


class HubResponseError(InputError):
    """The parent hub answered with a status or a body the API does not allow."""

    http_status = 502
    code = "bad_hub_response"

    def diagnostics(self) -> str:
        return "Check parent_url in node.toml; if it is right, tell the hub's administrator."


class ConfigError(UsageError):
    """node.toml, or a MUSTER_NODE_… environment override, is missing or wrong."""

    code = "bad_config"

    def diagnostics(self) -> str:
        return "Every setting and its default is listed in docs/node.md, section Configuration."


class NotEnrolledError(StateError):
    """The node has not installed its certificate from the parent hub yet."""

    code = "not_enrolled"

    def diagnostics(self) -> str:
        return (
            "Send DATA/enrollment-request.json to the parent hub and install its answer "
            "with `muster node enroll FILE`."
        )


class NoEscrowError(StateError):
    """An enrolled node or hub holds no province recovery key: it refuses to seal.

    Every bundle is also sealed to the province recovery key (docs/operations.md); the
    key reaches a party in its enrollment answer.
    """

    code = "no_escrow"

    def diagnostics(self) -> str:
        return (
            "The enrollment answer carried no escrow statement. The province installs its "
            "statement with `muster hub escrow install FILE`; then install a fresh answer "
            "from the parent (`muster node enroll FILE`, `muster hub enroll FILE`)."
        )


class NoCertificateError(StateError):
    """An approver has no certificate from the parent hub yet, so cannot authorise."""

    code = "no_approver_certificate"

    def diagnostics(self) -> str:
        return (
            "Send the approver's certificate request (`muster node account request LOGIN`) "
            "to the parent hub and install the answer (`muster node account certify FILE`)."
        )


class NothingToDoError(StateError):
    """There is nothing to authorise, export or send."""

    code = "nothing_to_do"


class ConflictError(StateError):
    """Already exists, already done, or changed since the caller looked."""

    code = "conflict"


class HubUnreachableError(StateError):
    """The parent hub did not answer (no network, refused, timed out)."""

    http_status = 503
    code = "hub_unreachable"

    def diagnostics(self) -> str:
        return (
            "Nothing was lost: the outbox keeps every bundle. Try again later, or carry "
            "the bundles on a USB stick (`muster node export --to DIR`)."
        )


class StoppingError(StateError):
    """The agent is stopping (SIGTERM, Ctrl-C): a card wait or a sync was given up between
    two units of work, so nothing is half-written."""

    http_status = 503
    code = "stopping"

    def diagnostics(self) -> str:
        return "Nothing was lost: the next run starts where this one stopped."


class StoreError(StateError):
    """The encrypted store cannot be opened (wrong key) or written (disk full, I/O error)."""

    http_status = 507
    code = "store_unavailable"

    def diagnostics(self) -> str:
        return (
            "Nothing was saved by the failed step. Free disk space (or check the disk) "
            "and try again; the store rolls back to its last complete state."
        )
