"""End-to-end tests: the real console scripts as subprocesses."""
