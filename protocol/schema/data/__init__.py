"""Packaged schema and division tables (CSV), read with importlib.resources."""
