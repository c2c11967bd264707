"""Hand-written migration scripts, one per schema version."""
