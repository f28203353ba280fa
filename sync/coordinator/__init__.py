"""The coordinator's side of sync, used by the coordinator app and the `coordinator` CLI.

Modules, one concept each:

    identity     this coordinator's keys and pull state in its vault; `connect(vault)`
    org          create or join the organisation; the root-signed org document, renewed
    roster       invites (their secrets stay here), the roster of admitted devices
    pull         fetch, verify, decrypt, store; hold unknown authors; check attachments;
                 receipts back to devices
    outgoing     case events, messages, roster entries and receipts, sealed and pushed
    attachments  fetch an attachment, checked against what its author signed
    records      the record shapes pulled data is stored in (the contract with the services)
    pq_switch    a classic organisation switches to post-quantum keys, nothing lost

The trust rules these apply (who may write what, org document acceptance, merge time, blob
hashes) live in `sync.trust`, shared with the device's engine and the evidence bundle check.

Errors are `sync.errors.SyncError`s; `CoordinatorError.reason` adds `no_root_key`,
`device_not_verified`, `unknown_device` and `already_verified`.

Danger: the root key is the organisation's trust anchor. It lives only in coordinator vaults
and in passphrase-encrypted backups; never send it to the server or print it.
"""

from sync.coordinator.attachments import fetch_blob, signed_reference
from sync.coordinator.identity import (
    IDENTITY_ID,
    STATE_ID,
    CoordinatorError,
    CoordinatorIdentity,
    NoRootKey,
    client_for,
    connect,
    coordinator_info,
    load_identity,
    load_state,
)
from sync.coordinator.org import (
    KeyKindMismatch,
    create_organisation,
    export_root_key_backup,
    import_root_key_backup,
    is_post_quantum,
    join_organisation,
    org_document,
    publish_org_document,
    refresh_org_document,
    renew_if_due,
)
from sync.coordinator.outgoing import push_case_event, push_pending, send_message
from sync.coordinator.pull import PULL_PAGE, PullReport, pull
from sync.coordinator.roster import (
    RosterEntry,
    cancel_invite,
    confirm_device,
    create_invite,
    create_invite_with_code,
    list_devices,
    open_invites,
    order_wipe,
    revoke_device,
    roster,
    roster_keys,
)

__all__ = [
    "IDENTITY_ID",
    "PULL_PAGE",
    "STATE_ID",
    "CoordinatorError",
    "CoordinatorIdentity",
    "KeyKindMismatch",
    "NoRootKey",
    "PullReport",
    "RosterEntry",
    "cancel_invite",
    "client_for",
    "confirm_device",
    "connect",
    "coordinator_info",
    "create_invite",
    "create_invite_with_code",
    "create_organisation",
    "export_root_key_backup",
    "fetch_blob",
    "import_root_key_backup",
    "is_post_quantum",
    "join_organisation",
    "list_devices",
    "load_identity",
    "load_state",
    "open_invites",
    "order_wipe",
    "org_document",
    "publish_org_document",
    "pull",
    "push_case_event",
    "push_pending",
    "refresh_org_document",
    "renew_if_due",
    "revoke_device",
    "roster",
    "roster_keys",
    "send_message",
    "signed_reference",
]
