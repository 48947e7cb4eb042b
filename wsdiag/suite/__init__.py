"""The diagnosis benchmark: scenarios with known causes, their records, and the tables scored
on them (orchestration, above `wsdiag.sweep`).

    record     `SuiteRecord`, one run's row; JSON lines written and read (old files included)
    collect    a record from a run directory (diagnosis, confirmation, warning, experiment key)
    run        a part of the suite: its sweep, then each experiment's confirmation
    scenarios  a run's scenario and each cause's share pooled over a scenario's seeds
    targets    the targets' counts, per part and over all
    metrics    the benchmark's metrics: accuracy, kappa, recall, precision, the warning's AUROC
    split      the dev and test scenarios (a split file), and the check that test is held out
    tables     the tables of a set of records (docs/results/diagnosis-suite.md)
    paired     the verdicts checked against a sweep's own counterfactual variant
"""
