"""Federation upward: the hub's agent toward its parent (docs/federation.md §1–3, §7).

- :mod:`~hub.upward.adminkey`: the hub's own administrator key (``auto`` policy);
- :mod:`~hub.upward.oplog`: the merged ops in merge order, after a cursor;
- :mod:`~hub.upward.provenance`: manifests kept per bundle, and what a package carries;
- :mod:`~hub.upward.building`: cutting the log into packages, authorising, sealing;
- :mod:`~hub.upward.outbox`: delivery states and the parent's receipts;
- :mod:`~hub.upward.port`: the sync port over the hub's store, and one sync run.
"""

from hub.upward.adminkey import AdminSigner, auto_signer, auto_subject
from hub.upward.building import PackageInfo, authorise_drafts, build_packages
from hub.upward.outbox import record_receipt
from hub.upward.parent import parent_of
from hub.upward.port import DownHalf, HubSyncPort, sync_with_parent

__all__ = [
    "AdminSigner",
    "DownHalf",
    "HubSyncPort",
    "PackageInfo",
    "authorise_drafts",
    "auto_signer",
    "auto_subject",
    "build_packages",
    "parent_of",
    "record_receipt",
    "sync_with_parent",
]
