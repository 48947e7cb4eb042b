"""Adaptive, critic-side and rollout mitigations; importing this module registers them."""
