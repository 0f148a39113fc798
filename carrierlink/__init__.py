"""Cross-cutting wiring for carrierlink: settings, the Temporal client, the dev stack and the CLIs."""
