"""Developer and operator tools: dev-stack supervisor, admin and review CLIs, sample data."""
