"""Runtime shared by every process: settings, the Temporal client, serving HTTP."""
