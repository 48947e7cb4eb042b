"""Imports every mitigation family so that each mitigation registers itself."""

from wsdiag.mitigations import policy, recipes

__all__ = ["policy", "recipes"]
