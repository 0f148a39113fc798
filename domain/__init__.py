"""Pure domain: wire-contract models, enums and rules. Imports only stdlib and pydantic."""
