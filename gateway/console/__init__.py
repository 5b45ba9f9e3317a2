"""The operator and compliance console: web pages over snapshots and the audit store."""
