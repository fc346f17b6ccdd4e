"""Landing files -> raw tables: file discovery, contract validation, loading."""
