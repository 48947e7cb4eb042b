"""The diagnosis benchmark: scenarios with known causes, their records, and the tables scored
on them (orchestration, above `wsdiag.sweep`)."""
