"""End-to-end tests: runtrack adapters against the fake vendor servers over real HTTP on 127.0.0.1."""
