"""Reference tables the collector driver ships (copied from the project reference data)."""
