"""The one-thread compute of each part of the benchmark: its sweep's runs (pretrainings and
fine-tunings) and its confirmations' counterfactual runs, each run's seconds from its events
(the last event's time minus the first's, or minus the `branched` event's for a run that
started from its original's state, whose earlier events it copied).

    python -m examples.benchmark.compute runs/benchmark
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wsdiag.analysis.confirm import FOLDER
from wsdiag.rundir import EVENTS_FILE, SWEEP_FILE, SWEEP_RUNS, read_events

PRETRAINED = "pretrained"  # a sweep's shared pretrainings: <root>/pretrained/<hash>-seed<k>


def run_seconds(run_dir: Path) -> float:
    """The wall seconds the run took (module docstring); 0 without events."""
    events = read_events(run_dir) if (run_dir / EVENTS_FILE).is_file() else []
    times = [e["time"] for e in events if "time" in e]
    if not times:
        return 0.0
    start = next((e["time"] for e in events if e.get("event") == "branched"), times[0])
    return max(0.0, times[-1] - start)


def folder_seconds(folder: Path) -> tuple[float, int]:
    """The summed seconds and the count of the run directories in `folder`."""
    runs = [p for p in sorted(folder.glob("*")) if p.is_dir()] if folder.is_dir() else []
    return sum(run_seconds(p) for p in runs), len(runs)


def part_compute(part: Path) -> tuple[float, int, float, int]:
    """Seconds and runs of a part's sweep (pretrainings and runs), then of its confirmations."""
    pre, n_pre = folder_seconds(part / PRETRAINED)
    own, n_own = folder_seconds(part / SWEEP_RUNS)
    pairs = [
        folder_seconds(run / FOLDER / SWEEP_RUNS) for run in sorted((part / SWEEP_RUNS).glob("*"))
    ]
    return pre + own, n_pre + n_own, sum(s for s, _ in pairs), sum(n for _, n in pairs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="the --out of `wsdiag suite run`")
    args = p.parse_args(argv)
    print("| part | sweep runs | sweep h | counterfactual runs | confirmation h | total h |")
    print("|---|---|---|---|---|---|")
    total = 0.0
    for part in sorted(d for d in args.out.iterdir() if (d / SWEEP_FILE).is_file()):
        sweep, n_sweep, confirm, n_confirm = part_compute(part)
        hours = (sweep + confirm) / 3600
        total += hours
        print(f"| {part.name} | {n_sweep} | {sweep / 3600:.2f} | {n_confirm} | "
              f"{confirm / 3600:.2f} | {hours:.2f} |")  # fmt: skip
    print(f"| all | | | | | {total:.2f} |")


if __name__ == "__main__":
    main()
