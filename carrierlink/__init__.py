"""Cross-cutting wiring: settings, the Temporal client, the dev stack and the CLIs."""
