"""The REST API (FastAPI): validates, reads and writes PostgreSQL, starts and steers workflows."""
