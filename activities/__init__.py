"""Temporal activities: thin classes calling carriers/ and store/, wired in `worker.py`."""
