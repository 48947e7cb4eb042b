"""Imports every mitigation module so that each registers itself (one line per module)."""
