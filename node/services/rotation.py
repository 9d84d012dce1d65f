"""Key rotation of a node: new keys, vouched for by the old key, certified by the parent.

``muster node rotate-keys`` (:func:`begin_rotation`, then :func:`finish_rotation`):

1. new keys are made and sealed, with the store key, under the node passphrase in
   ``keys/keystore-next.json``; the old age identity goes with them as *retired*, so
   down bundles sealed to the old key before the parent knew the new one still open;
2. a rotation request (:mod:`protocol.trust.rotation`: the new keys' enrollment
   request, signed by the old key too) is written to ``DATA/rotation-request.json``
   and sent to the parent (``POST /api/v1/enrollments``, or a USB stick);
3. the parent checks the old key's signature and certificate and issues the new
   certificate at once (hub/rotation.py);
4. the answer is installed like an enrollment answer for the new keys, and the new
   keystore replaces the old one (an atomic rename). The node restarts on the new keys.

The old certificate stays valid until it expires or the parent revokes it as
``superseded``, so bundles sealed under the old key before then — on a USB stick, say
— are still accepted.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Final

from crypto.keys import KeyPair
from crypto.keystore import KDF_MODERATE, KdfCost, open_keystore, seal_keystore
from node.errors import ConflictError, NotEnrolledError
from node.fsutil import write_atomic
from node.keyfiles import KeyDir, rotated_secrets
from node.services.context import STORE_KEY_SECRET, NodeContext
from node.services.enrollment import enroll, enrollment_state
from node.services.values import EnrollmentState
from protocol.trust import Role
from protocol.trust.rotation import new_keys_rotation_request

__all__ = ["NEXT_KEYSTORE", "ROTATION_FILE", "begin_rotation", "finish_rotation"]

#: The new keys, until the parent's answer is installed.
NEXT_KEYSTORE: Final = "keystore-next.json"
#: The rotation request for the parent.
ROTATION_FILE: Final = "rotation-request.json"


def begin_rotation(ctx: NodeContext, passphrase: bytes, *, cost: KdfCost = KDF_MODERATE) -> bytes:
    """Make new keys (kept apart until the answer comes) and the rotation request.

    Returns:
        The rotation request's bytes (also written to ``DATA/rotation-request.json``).

    Raises:
        NotEnrolledError: the node has no certificate to vouch for new keys.
        WrongPassphraseError: the passphrase does not open the keystore.
    """
    state = enrollment_state(ctx)
    if not state.enrolled or state.serial is None:
        raise NotEnrolledError(f"node {ctx.node_id} has no certificate yet: enroll it first")
    keys_dir = ctx.config.keys_dir
    old = open_keystore((keys_dir / "keystore.json").read_bytes(), passphrase)
    new = KeyPair.generate(ctx.rng)
    secrets = rotated_secrets(new, old)
    write_atomic(
        keys_dir / NEXT_KEYSTORE,
        seal_keystore(secrets, passphrase, rng=ctx.rng, cost=cost),
        mode=0o600,
    )
    data = new_keys_rotation_request(
        new,
        old_key=ctx.keys.signing,
        old_serial=state.serial,
        subject=ctx.node_id,
        role=Role.NODE,
        name=ctx.config.name,
        at=ctx.now(),
    ).to_bytes()
    write_atomic(ctx.config.data_dir / ROTATION_FILE, data, mode=0o644)
    return data


def finish_rotation(
    ctx: NodeContext, passphrase: bytes, answer: bytes, *, actor: str
) -> EnrollmentState:
    """Install the parent's answer for the new keys and make them the node's keys.

    The caller reopens the node afterwards (its context holds the old keys).

    Raises:
        ConflictError: no rotation was begun (no new keys wait).
        TrustError: the answer does not certify the new keys, or its chain fails.
        WrongPassphraseError: the passphrase does not open the new keystore.
    """
    keys_dir = ctx.config.keys_dir
    pending = keys_dir / NEXT_KEYSTORE
    try:
        sealed = pending.read_bytes()
    except FileNotFoundError as exc:
        raise ConflictError("no key rotation is waiting: run `muster node rotate-keys`") from exc
    secrets = open_keystore(sealed, passphrase)
    new = KeyPair.from_secrets(secrets)
    if STORE_KEY_SECRET not in secrets:
        raise ConflictError(f"{pending}: the new keystore lacks the store key")
    state = enroll(replace(ctx, keys=new), answer, actor=actor)
    os.replace(pending, keys_dir / "keystore.json")
    KeyDir(keys_dir).write_public(new, ctx.node_id)
    request = ctx.config.data_dir / ROTATION_FILE
    request.unlink(missing_ok=True)
    return state
