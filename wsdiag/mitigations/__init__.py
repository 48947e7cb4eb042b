"""Mitigations of warm-start degradation (registry: wsdiag.mitigations.registry).

Kept import-free: wsdiag.config imports wsdiag.mitigations.params.
"""
