"""Trust statements: certificates, revocation lists, receipts, authorisations, and the
store that checks them. Time is always passed in."""

from protocol.trust.authorisation import (
    Authorisation,
    answer_digest,
    answers_hash,
    answers_hash_of_digests,
    authorise,
    manifest_hash,
    verify_answers,
    verify_authorisation,
)
from protocol.trust.certificate import (
    Certificate,
    Role,
    issue_certificate,
    newest_certificate,
    site_of,
)
from protocol.trust.receipt import Receipt, ReceiptStatus, issue_receipt
from protocol.trust.revocation import (
    RevocationList,
    RevocationReason,
    Revoked,
    issue_revocation_list,
)
from protocol.trust.store import SENDER_ROLES, CertificateTrust, TrustAnchor, TrustStore

__all__ = [
    "SENDER_ROLES",
    "Authorisation",
    "Certificate",
    "CertificateTrust",
    "Receipt",
    "ReceiptStatus",
    "RevocationList",
    "RevocationReason",
    "Revoked",
    "Role",
    "TrustAnchor",
    "TrustStore",
    "answer_digest",
    "answers_hash",
    "answers_hash_of_digests",
    "authorise",
    "issue_certificate",
    "issue_receipt",
    "issue_revocation_list",
    "manifest_hash",
    "newest_certificate",
    "site_of",
    "verify_answers",
    "verify_authorisation",
]
