"""The probe-key registry: every quantity a probe records, its meaning and unit, and the one
place its metric name (`probe/<key>`) is made."""
