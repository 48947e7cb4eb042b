"""Policy-side mitigations; importing this module registers them."""
