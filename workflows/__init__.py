"""Temporal workflows: orchestration only, deterministic, no I/O. Kept light for the sandbox."""
