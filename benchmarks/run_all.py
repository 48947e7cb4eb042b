"""Run every benchmark in one process: `python -m benchmarks.run_all [--steps N]`.

Prints a table per section, then a markdown summary, and writes all numbers to
bench-results/bench.json. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import ensemble, flops, parallel, report, throughput
from benchmarks.common import BATCH, load_average, machine_info

SECTIONS = ("throughput", "flops", "ensemble", "parallel")
# probe cost, time per update of every algorithm, several seeds stacked in one update (a
# prototype), the same against d3rlpy (skipped without .venv-d3rlpy), dataset loading,
# recording an SB3 fine-tune, command-line speed
EXTRA_SECTIONS = ("probes", "updates", "seeds", "d3rlpy", "data", "integrations", "cli")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1_000, help="timed update steps per throughput run")
    p.add_argument("--repeats", type=int, default=2, help="throughput runs per library (best)")
    p.add_argument("--random-steps", type=int, default=500, help="untimed random steps first")
    p.add_argument("--buffer", type=int, default=1_000_000, help="replay capacity (both libraries)")
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (throughput runs at 1 and at this; parallel runs use 1)",
    )
    p.add_argument("--update-iters", type=int, default=300, help="timed TD3 updates (flops)")
    p.add_argument("--ensemble-iters", type=int, default=100, help="timed critic steps per repeat")
    p.add_argument("--parallel-steps", type=int, default=3_000, help="env steps per parallel run")
    p.add_argument("--runs", type=int, default=2, help="number of parallel runs K")
    p.add_argument("--cli-repeats", type=int, default=5, help="`wsdiag --help` timings (best)")
    p.add_argument("--d3rlpy-iters", type=int, default=30, help="timed updates per d3rlpy sample")
    p.add_argument("--d3rlpy-repeats", type=int, default=6, help="samples per side (d3rlpy)")
    p.add_argument(
        "--report-run",
        type=Path,
        default=None,
        help="run directory the cli section reports on (default: a demo run, trained once)",
    )
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS + EXTRA_SECTIONS,
        default=list(SECTIONS + EXTRA_SECTIONS),
    )
    p.add_argument("--out", type=Path, default=Path("bench-results/bench.json"))
    args = p.parse_args(argv)
    if args.random_steps < BATCH:
        p.error(f"--random-steps must be at least the batch size ({BATCH})")
    counts = (args.steps, args.update_iters, args.ensemble_iters, args.repeats, args.runs,
              args.cli_repeats, args.d3rlpy_iters, args.d3rlpy_repeats)  # fmt: skip
    if min(counts) < 1:
        p.error(
            "--steps, --update-iters, --ensemble-iters, --repeats, --runs, --cli-repeats, "
            "--d3rlpy-iters and --d3rlpy-repeats must be >= 1"
        )
    if args.parallel_steps <= args.random_steps:
        p.error("--parallel-steps must exceed --random-steps")
    return args


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """A section's results with its nested dicts spread into `outer/inner` keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= {f"{key}/{k}": v for k, v in value.items()}
        else:
            flat[key] = value
    return flat


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    console = Console()
    warnings.filterwarnings("ignore", module="stable_baselines3")
    results: dict[str, Any] = {
        "machine": machine_info(),
        "args": vars(args)
        | {"out": str(args.out), "report_run": args.report_run and str(args.report_run)},
    }
    load = results["machine"]["load_average_start"]
    if load and load[0] > 0.5 * (os.cpu_count() or 1):
        console.print(f"[yellow]load average {load}: other work is running, timings will vary")
    start, seconds, loads = time.perf_counter(), {}, {}
    for section in args.sections:
        t0, load_before = time.perf_counter(), load_average()
        console.rule(section)
        if section == "throughput":
            threads = tuple(sorted({1, args.threads}))  # one thread first: the sweep setting
            rows = throughput.run(args.steps, args.random_steps, args.buffer, threads, args.repeats)
            results["throughput"] = rows
            console.print(report.throughput_table(rows))
        elif section == "flops":
            results["flops"] = flops.run(args.update_iters, args.threads)
            console.print(report.flops_table(results["flops"]))
        elif section == "ensemble":
            results["ensemble"] = ensemble.run(args.ensemble_iters, args.threads)
            console.print(report.ensemble_table(results["ensemble"]))
        elif section == "parallel":
            results["parallel"] = parallel.run(
                args.runs, args.parallel_steps, args.random_steps, args.threads
            )
            console.print(report.parallel_table(results["parallel"]))
        elif section == "probes":
            from benchmarks import probes

            results["probes"] = probes.run()
            console.print(report.values_table("Probe cost (s), share", results["probes"]))
        elif section == "updates":
            from benchmarks import updates

            results["updates"] = {"load_average_start": load_average()}
            for n in (1, 2):
                results["updates"] |= {f"{k[:-3]}_{n}t_ms": v for k, v in updates.run(n).items()}
                results["updates"] |= {f"{k[:-3]}_{n}t_ms": v for k, v in updates.head(n).items()}
            console.print(report.values_table("Time per update (ms)", results["updates"]))
        elif section == "seeds":
            from benchmarks import stacked_seeds

            results["seeds"] = stacked_seeds.run(args.update_iters)
            console.print(report.values_table("K seeds' TD3 updates, one thread", results["seeds"]))
        elif section == "d3rlpy":
            from benchmarks import d3rlpy_side

            results["d3rlpy"] = d3rlpy_side.run(args.d3rlpy_iters, args.d3rlpy_repeats)
            console.print(d3rlpy_side.render(results["d3rlpy"]))
        elif section == "data":
            from benchmarks import data

            results["data"] = data.run()
            console.print(report.values_table("Dataset loading", results["data"]))
        elif section == "integrations":
            from benchmarks import integrations

            results["integrations"] = integrations.run(repeats=2)
            console.print(report.values_table("Recording an SB3 fine-tune (s, share)",
                                              _flat(results["integrations"])))  # fmt: skip
        else:
            from benchmarks import cli

            results["cli"] = cli.run(args.cli_repeats, args.report_run)
            console.print(report.cli_table(results["cli"]))
        seconds[section] = time.perf_counter() - t0
        loads[section] = {"before": load_before, "after": load_average()}
    results["section_s"] = seconds
    results["section_load_average"] = loads
    results["total_s"] = time.perf_counter() - start
    results["load_average_end"] = load_average()
    report.write_json(results, args.out)
    print()
    print(report.markdown(results))
    print(f"\nresults written to {args.out}")
    return results


if __name__ == "__main__":
    main()
