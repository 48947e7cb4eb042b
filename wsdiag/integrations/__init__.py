"""Adapters that record a training loop wsdiag does not run (wsdiag.api is their public face):
`agent` (a user's networks as the agent probes take), `recording` (the run directory of an
external online stage), `sb3` (a Stable-Baselines3 callback)."""
