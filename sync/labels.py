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
SHORT_CODE_SCRYPT = b"fieldvault/short-code/scrypt/v1\n"
SHORT_CODE_LOOKUP = b"fieldvault/short-code/lookup/v1\n"
SHORT_CODE_KEY = b"fieldvault/short-code/key/v1\n"
SHORT_CODE_SEAL = b"fieldvault/short-code/seal/v1\n"
CHECK_KEY_PROOF = b"fieldvault/check-key/v1\n"
CHECK_FILE = b"fieldvault/check-file/v1\n"
LOCKED_ALARM = b"fieldvault/locked-alarm/v1\n"
