"""`wsdiag sweep`: many runs from one file, each pretraining shared, on local processes or Ray."""
