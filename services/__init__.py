"""The application layer: one function or method per use case, for the API and activities."""
