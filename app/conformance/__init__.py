"""Auditor tooling: the scenario decision table, the conformance kit, the audit of recorded sessions."""
