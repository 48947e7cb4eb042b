"""Check the diagnosis against a sweep's own counterfactual variant (wsdiag.suite.paired).

    python -m examples.diagnosis_paired runs/repro-inverted-pendulum-td3
    python -m examples.diagnosis_paired runs/repro-pendulum-td3 --cause extrapolation \\
        --original plain --intervention actor-critic --pooled-from-arrays
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wsdiag.errors import WsdiagError
from wsdiag.rundir import SWEEP_RUNS
from wsdiag.suite.paired import paired_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder (<out>/<name>)")
    parser.add_argument("--original", default="plain", help="the variant the verdicts are of")
    parser.add_argument(
        "--intervention", default="actor-critic", help="the variant that is its counterfactual"
    )
    parser.add_argument("--cause", default="extrapolation", help="the cause it tests")
    parser.add_argument(
        "--pooled-from-arrays",
        action="store_true",
        help="compute grad_cos_pooled from the probe arrays of older runs",
    )
    args = parser.parse_args(argv)
    runs = args.sweep / SWEEP_RUNS
    if not runs.is_dir():
        parser.exit(2, f"error: {args.sweep} is not a sweep folder (no runs/ in it)\n")
    try:
        table = paired_table(runs, args.original, args.intervention, args.cause,
                             args.pooled_from_arrays)  # fmt: skip
    except WsdiagError as e:
        parser.exit(2, f"error: {e}\n")
    print(table)


if __name__ == "__main__":
    main()
