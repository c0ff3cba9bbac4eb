"""Every limit of the contract, once. openapi.yaml states the same figures; tests keep them in step."""

MAX_PHYSICIANS = 10_000  # per ranking
MAX_PROPOSALS = 1_000  # per offer of a scenario
MAX_SESSIONS_PER_AUDIT = 1_000  # per POST /v1/audits batch
MAX_PHYSICIAN_ID_LENGTH = 64
MAX_SESSION_ID_LENGTH = 128
MAX_HEADER_BYTES = 16 * 1024  # request line and headers
MAX_FIELD_ERRORS = 100  # listed per problem and per session of an audit; the rest are counted
MAX_AUDIT_FIELD_ERRORS = 1_000  # listed per audit answer, all sessions together
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_FHIR_ENTRIES = 4 * MAX_PHYSICIANS  # a role, its Practitioner, Organization and Location
MAX_QUERY_CHARACTERS = 100  # GET /v1/communes: what a patient types (the longest commune name has 45)
DEFAULT_COMMUNES = 10  # GET /v1/communes: answers by default
MAX_COMMUNES = 50  # ... and at most
