"""Domain-separation labels: every signature and derived key names what it is for.

A signature made for one purpose can never be replayed as another, because each signed message
starts with its own label.
"""

ENVELOPE_SIGNATURE = b"fieldvault/envelope/v1\n"
REQUEST_SIGNATURE = b"fieldvault/request/v1\n"
ORG_DOCUMENT_SIGNATURE = b"fieldvault/org-document/v1\n"
COMMAND_SIGNATURE = b"fieldvault/command/v1\n"
EVIDENCE_BUNDLE_SIGNATURE = b"fieldvault/evidence-bundle/v1\n"
INVITE_CHECKSUM = b"fieldvault/invite/v1\n"
ENROLMENT_PROOF = b"fieldvault/enrolment-proof/v1\n"
ROSTER_ENTRY = b"fieldvault/roster-entry/v1\n"
DEVICE_FINGERPRINT = b"fieldvault/device-fingerprint/v1\n"
ORG_DOCUMENT_CONTAINER = b"fieldvault/org-document-container/v1\n"
