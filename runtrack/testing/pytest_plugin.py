"""pytest fixtures for testing code that uses runtrack (registered under the ``pytest11`` entry point)."""
