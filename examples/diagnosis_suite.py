"""The diagnosis suite: run a sweep of warm starts, confirm each run's cause by counterfactual
runs, and tabulate the verdicts against the confirmed causes (docs/diagnosis.md).

    python -m examples.diagnosis_suite --out runs --jobs 2
    python -m examples.diagnosis_suite --out runs --table-only   # the tables from what ran
    python -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite*.toml \
        --out runs --table-only --replay                          # every part, today's rules
    python -m examples.diagnosis_suite --suite examples/sweeps/diagnosis_suite_offline.toml \
        --out runs --table-only --record examples/results/diagnosis_suite_offline.jsonl
    python -m examples.diagnosis_suite --records examples/results/*.jsonl   # from the record

Each run is confirmed on its own seed (`wsdiag diagnose RUN --confirm --seeds 1`): with one
seed the share removed has no interval, and share >= diagnose.confirm_share decides. With
`--seeds 3 --until-confirmed` it is confirmed as `wsdiag diagnose` confirms by default, on the
run's seed and the next two from its own pretrained agent, cause by cause in the chain's order up
to the first confirmed one (the same confirmed cause as testing every cause, at about the cost
of one seed of every cause).
The tables also pool each cause's share over a scenario's degrading seeds (its seeds' pairs
of dips, with the bootstrap interval) and compare every verdict with the scenario's cause.
A run that is the same experiment as an earlier one (`experiment_key`: the same pretrained
weights and fine-tune config) is confirmed and counted once. Everything is resumable: rerun the
same command to continue.

Run folders are large and stay where they ran; `--record FILE` keeps each run's row (its
verdict, ground truth, every intervention's share, the warning) as JSON lines, so that the
tables can be made again from the record without the runs (`--records`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from examples.suite_targets import UNCONFIRMED, count, targets_table
from wsdiag.analysis.confirm import (
    CONFIRMED,
    INCONCLUSIVE,
    NONE,
    PRIORITY,
    REFUTED,
    Share,
    load_confirmation,
    outcome,
    share_removed,
    truth_of,
)
from wsdiag.analysis.prognosis import WARN_MODES, prognosis
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.atomic import atomic_write_text
from wsdiag.config import ProbesConfig, to_dict
from wsdiag.errors import WsdiagError
from wsdiag.rundir import AGENT_FILE, META_FILE, is_complete, resolve_checkpoint
from wsdiag.sweep.counterfactual import pretrained_path
from wsdiag.sweep.spec import load_sweep

SUITE = Path(__file__).parent / "sweeps" / "diagnosis_suite.toml"


def _wsdiag(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "wsdiag", *args])


def run_suite(
    suite: Path, out: Path, jobs: int, seeds: int = 1, until_confirmed: bool = False
) -> Path:
    """Run the sweep, then confirm every finished run (`wsdiag diagnose --confirm`), `jobs`
    runs at a time with one job each: a run's confirmation comes in stages of 3 or 5 jobs with
    `--until-confirmed`, so one run on `jobs` cores would leave one idle at each stage's end."""
    _wsdiag("sweep", str(suite), "--out", str(out), "--jobs", str(jobs))
    runs = out / load_sweep(suite).name / "runs"
    staged = ["--until-confirmed"] if until_confirmed else []

    def confirm(run: Path) -> int:
        return _wsdiag("diagnose", str(run), "--confirm", "--seeds", str(seeds), "--jobs", "1",
                       *staged)  # fmt: skip

    finished = [{"run": str(p), "experiment": experiment_key(load_run(p))}
                for p in sorted(runs.iterdir()) if is_complete(p)]  # fmt: skip
    kept, repeats = distinct(finished)
    for run, first in repeats:
        print(f"not confirmed: {Path(run).name} is the same experiment as {Path(first).name}")
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(confirm, [Path(r["run"]) for r in kept]))
    return runs


def experiment_key(run: Run) -> str | None:
    """What makes a run the run it is: its pretrained agent's weights (sha256 of agent.pt) and
    its config but for its name and the pretraining's settings. Two scenarios can be one
    experiment: an expert stopped at a lower target that jumped past the higher one at the
    same evaluation is the same agent. None where the pretrained checkpoint is not found."""
    try:
        checkpoint = resolve_checkpoint(pretrained_path(run.path, run.config))
    except WsdiagError:
        return None
    config = {k: v for k, v in to_dict(run.config).items() if k not in ("name", "pretrain")}
    digest = hashlib.sha256((checkpoint / AGENT_FILE).read_bytes())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def distinct(items: list[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """The rows with each experiment once, and (run, the run it repeats) for the others.

    Of the rows of one `experiment` key (one scenario that is another's experiment, or one run
    recorded twice, e.g. on two machines of one processor kind) the first with a ground truth
    (`confirmed` is not "?") is kept, or the first; it takes the place of the key's first row.
    Rows recorded without a key are all kept."""
    groups: dict[str, list[dict]] = {}
    for r in items:
        if r.get("experiment"):
            groups.setdefault(r["experiment"], []).append(r)
    chosen = {key: next((r for r in rows if r.get("confirmed") not in (None, UNCONFIRMED)),
                        rows[0]) for key, rows in groups.items()}  # fmt: skip
    kept, repeats, placed = [], [], set()
    for r in items:
        key = r.get("experiment")
        if not key:
            kept.append(r)
            continue
        if key not in placed:
            placed.add(key)
            kept.append(chosen[key])
        if r is not chosen[key]:
            repeats.append((r["run"], chosen[key]["run"]))
    return kept, repeats


def replayed_warning(run: Run, mode: str | None = None) -> int | None:
    """The step of the early warning today's rules raise from the run's recorded probes, in
    `mode` or today's default one (the mode the run ran with may be an older default)."""
    found = prognosis(run.metrics, update_start=run.update_start, mode=mode or ProbesConfig().warn,
                      warm=run.warm_start)  # fmt: skip
    return None if found is None else found.step


def rows(
    runs: Path, load: Callable[[Path], Run] = load_run, replay: bool | str = False
) -> list[dict]:
    """Per run: significant?, the verdict's root cause, the confirmed cause, warning, the step of
    the lowest return and the dip. The warning is the one the run raised, or with `replay` (True,
    or a `probes.warn` mode) the one today's rules raise from its probes (runs recorded with
    older rules)."""
    out = []
    for run_dir in sorted(p for p in runs.iterdir() if is_complete(p)):
        run = load(run_dir)
        s = summarise(run, Thresholds())
        confirmation = load_confirmation(run_dir / "counterfactual")
        interventions = confirmation.interventions if confirmation else []
        shares = {i.cause: None if i.share is None else round(i.share.share, 4)
                  for i in interventions}  # fmt: skip
        dips = {i.cause: i.dips[0] for i in interventions if i.dips}
        intervals = {i.cause: [round(i.share.low, 4), round(i.share.high, 4)]
                     for i in interventions if i.share and i.share.n > 1}  # fmt: skip
        confirmed = confirmation.confirmed if confirmation else None
        truth = confirmation.truth if confirmation else UNCONFIRMED
        if not s.diagnosis.significant:  # nothing to confirm: no degradation is the truth
            confirmed, confirmation, truth = None, True, NONE
        warning = run.collapse_warning
        step = None if warning is None else int(warning["step"])
        deg = s.diagnosis.degradation
        out.append({
            "run": run.name,
            "significant": s.diagnosis.significant,
            "verdict": s.diagnosis.causes[0].cause if s.diagnosis.causes else NONE,
            "named": [c.cause for c in s.diagnosis.causes],  # the chain's cause, then branches
            "confirmed": confirmed.cause if confirmed else (NONE if confirmation else UNCONFIRMED),
            "truth": truth,  # the confirmed cause, "none" (every one refuted), "inconclusive"
            "warning": replayed_warning(run, replay if isinstance(replay, str) else None)
            if replay
            else step,
            "min_step": None if deg is None else deg.min_step,
            "dip": 0.0 if deg is None else deg.dip,
            "shares": shares,  # per cause: the share of the dip its intervention removed
            "dips": dips,  # per cause: the dip with its intervention, on the run's seed
            "intervals": intervals,  # per cause, with 2 seeds or more: the share's interval
            "seeds": max((i.share.n for i in interventions if i.share), default=0),
            "experiment": experiment_key(run),  # equal keys: the same experiment
            **_provenance(run_dir),  # the libraries and processor it ran with (meta.json)
        })  # fmt: skip
    return out


def _provenance(run_dir: Path) -> dict:
    """The library versions and processor a run recorded in its meta.json (None where it has
    none): its results repeat step for step only where both agree."""
    try:
        meta = json.loads((run_dir / META_FILE).read_text())
    except (OSError, ValueError):
        meta = {}
    return {"versions": meta.get("versions"), "cpu": meta.get("cpu")}


def write_record(items: list[dict], path: Path) -> None:
    """The rows as JSON lines, one run each (written whole, atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in items))


def read_record(path: Path) -> list[dict]:
    """The rows `write_record` wrote; records made before rows had a `truth` get it from their
    shares and intervals (`recorded_truth`)."""
    try:
        lines = path.read_text().splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        raise WsdiagError(f"{path}: not a suite record ({e})") from None
    for r in items:
        r.setdefault("truth", recorded_truth(r))
    return items


def recorded_truth(row: dict, min_share: float | None = None) -> str:
    """A row's ground truth from its recorded shares and intervals (`truth_of`): the interval
    is recorded with two seeds or more, so a one-seed share never refutes."""
    if not row["significant"]:
        return NONE
    if row["confirmed"] != NONE:  # a cause confirmed, or "?": not confirmed yet
        return row["confirmed"]
    return truth_of(recorded_outcomes(row, min_share))


def recorded_outcomes(row: dict, min_share: float | None = None) -> dict[str, str]:
    """Per tested cause, its intervention's outcome (`outcome`) from the recorded share and
    interval; causes not tested are absent."""
    min_share = Thresholds().confirm_share if min_share is None else min_share
    outcomes = {}
    for cause, share in row.get("shares", {}).items():
        if share is None:
            continue
        low, high = row.get("intervals", {}).get(cause, (float("nan"), float("nan")))
        n = row.get("seeds", 1) if cause in row.get("intervals", {}) else 1
        outcomes[cause] = outcome(Share(share, low, high, n), min_share)
    return outcomes


def tables(items: list[dict]) -> str:
    """The confusion table (verdict vs confirmed cause, runs with a ground truth), the warning's
    timeliness and false alarms, and one line per run."""
    items = judged(items)
    c = count(items)
    known = [r for r in items if r["significant"] and r["truth"] != UNCONFIRMED]
    named = sum(r["confirmed"] in r.get("named", [r["verdict"]]) for r in known)
    lead = "n/a" if c.median_lead is None else c.median_lead
    lines = [f"runs: {len(items)}, significantly degrading: "
             f"{c.degrading} (with a ground truth: {c.known}); "
             f"verdict = truth in {c.agree}/{c.known} (the truth named among its causes: "
             f"{named})",
             f"ground truth: {c.caused} confirmed, {c.truths[NONE]} none (every intervention "
             f"refuted), {c.truths[INCONCLUSIVE]} inconclusive; verdict = truth where a cause is "
             f"confirmed: {c.agree_caused}/{c.caused}, where the truth is decided: "
             f"{c.agree_decided}/{c.decided}",
             f"the verdict's own intervention: {c.own[CONFIRMED]} confirmed, {c.own[REFUTED]} "
             f"refuted, {c.own[INCONCLUSIVE]} inconclusive, {c.own['not tested']} not tested",
             "", "| verdict \\ truth | "]  # fmt: skip
    verdicts = sorted({r["verdict"] for r in known})
    columns = [*sorted({r["truth"] for r in known} - {NONE, INCONCLUSIVE}), NONE, INCONCLUSIVE]
    lines[-1] += " | ".join(columns) + " |"
    lines.append("|---" * (len(columns) + 1) + "|")
    counts = Counter((r["verdict"], r["truth"]) for r in known)
    for v in verdicts:
        lines.append(f"| {v} | " + " | ".join(str(counts[(v, t)]) for t in columns) + " |")
    lines += [
        "",
        f"non-degrading runs: {c.others}, called degrading: {c.called}",
        f"early warning before the lowest return: {c.in_time}/{c.degrading}, median lead "
        f"{lead} steps; false alarms {c.alarms}/{c.others}",
    ]
    tested = [k for k in PRIORITY if any(k in r.get("shares", {}) for r in items)]
    lines += [
        "",
        "| run | degrading | dip | verdict | truth | " + " | ".join(tested) + " | "
        "warning step | lowest return step |",
        "|---" * (7 + len(tested)) + "|",
    ]
    for r in items:
        shares = [_share_cell(r, k) for k in tested]
        lines.append(f"| {r['run']} | {'yes' if r['significant'] else 'no'} | {r['dip']:.0f} | "
                     f"{r['verdict']} | {r['truth']} | " + " | ".join(shares) + " | "
                     f"{r['warning']} | {r['min_step']} |")  # fmt: skip
    return "\n".join(lines)


def judged(items: list[dict]) -> list[dict]:
    """The rows with their `truth` and the `own` outcome of the verdict's intervention
    ('not tested' when its cause was not), as `examples.suite_targets` counts them."""
    return [{**r, "truth": _truth(r), "own": recorded_outcomes(r).get(r["verdict"], "not tested")}
            for r in items]  # fmt: skip


def _truth(row: dict) -> str:
    """The row's truth: recorded, or derived from its shares (rows built in a test)."""
    return row.get("truth") or recorded_truth(row)


def scenario(run: str) -> str:
    """The scenario of a run: its name without the seed ('part/name-seed2' -> 'part/name')."""
    return re.sub(r"-seed\d+$", "", run)


def _intervened_dip(row: dict, cause: str) -> float | None:
    """The run's dip with `cause`'s intervention (records without `dips`: D (1 - share))."""
    if cause in row.get("dips", {}):
        return row["dips"][cause]
    share = row.get("shares", {}).get(cause)
    return None if share is None else row["dip"] * (1.0 - share)


def scenario_rows(items: list[dict], min_share: float | None = None) -> list[dict]:
    """Per scenario: each cause's share pooled over its degrading seeds, s = 1 - mean D'/mean D
    with the paired bootstrap interval (`share_removed`: `wsdiag diagnose --confirm --seeds 3`,
    each pair from its own seed's pretraining), and the earliest cause it confirms."""
    min_share = Thresholds().confirm_share if min_share is None else min_share
    groups: dict[str, list[dict]] = {}
    for r in items:
        if r["significant"] and r["confirmed"] != UNCONFIRMED:
            groups.setdefault(scenario(r["run"]), []).append(r)
    out = []
    for name, runs in groups.items():
        shares = {}
        for cause in PRIORITY:
            pairs = [(r["dip"], _intervened_dip(r, cause)) for r in runs]
            pairs = [p for p in pairs if p[1] is not None]
            if pairs:
                shares[cause] = share_removed(*map(np.array, zip(*pairs, strict=True)))
        confirmed = truth_of({c: outcome(share, min_share) for c, share in shares.items()})
        out.append({"scenario": name, "runs": runs, "shares": shares, "confirmed": confirmed})
    return out


def scenario_tables(items: list[dict]) -> str:
    """Each degrading run's verdict against its scenario's confirmed cause (`scenario_rows`)."""
    groups = scenario_rows(items)
    runs = [(r, g["confirmed"]) for g in groups for r in g["runs"]]
    agree = sum(r["verdict"] == truth for r, truth in runs)
    tested = [c for c in PRIORITY if any(c in g["shares"] for g in groups)]
    lines = [f"by scenario (shares pooled over its degrading seeds): verdict = the scenario's "
             f"confirmed cause in {agree}/{len(runs)}", "",
             "| scenario | seeds | verdicts | " + " | ".join(tested) + " | confirmed |",
             "|---" * (4 + len(tested)) + "|"]  # fmt: skip
    for g in groups:
        verdicts = ", ".join(r["verdict"] for r in g["runs"])
        cells = [str(g["shares"][c]) if c in g["shares"] else "" for c in tested]
        lines.append(f"| {g['scenario']} | {len(g['runs'])} | {verdicts} | " + " | ".join(cells)
                     + f" | {g['confirmed']} |")  # fmt: skip
    return "\n".join(lines)


def _share_cell(row: dict, cause: str) -> str:
    """'63%', or '63% [38, 94]' when the record has the share's interval over seeds."""
    share = row.get("shares", {}).get(cause)
    if share is None or share != share:
        return ""
    low, high = row.get("intervals", {}).get(cause, (None, None))
    ci = "" if low is None or low != low else f" [{100 * low:.0f}, {100 * high:.0f}]"
    return f"{100 * share:.0f}%{ci}"


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--suite",
        type=Path,
        nargs="+",
        default=[SUITE],
        help="sweep files of the suite's parts (tabulated together)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs"), help="parent of the sweep folders"
    )
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument(
        "--seeds", type=int, default=1, help="seeds per intervention for the ground truth"
    )
    parser.add_argument(
        "--until-confirmed",
        action="store_true",
        help="test the causes in the chain's order up to the first confirmed one",
    )
    parser.add_argument("--table-only", action="store_true", help="tabulate what ran")
    parser.add_argument(
        "--replay",
        nargs="?",
        const=True,
        default=False,
        choices=WARN_MODES,
        metavar="MODE",
        help="the warning today's rules raise from the recorded probes (in MODE: "
        + ", ".join(WARN_MODES)
        + "; default: today's default mode)",
    )
    parser.add_argument(
        "--record", type=Path, help="write the rows of the --suite parts to FILE (JSON lines)"
    )
    parser.add_argument(
        "--records", type=Path, nargs="+", default=[], help="tabulate recorded rows too"
    )
    args = parser.parse_args()  # fmt: skip
    if args.seeds < 1:
        parser.exit(2, "error: --seeds must be >= 1\n")
    items = []
    try:
        for path in args.records:
            items += read_record(path)
    except WsdiagError as e:
        parser.exit(2, f"error: {e}\n")
    suites = [] if args.records and args.suite == [SUITE] else args.suite
    fresh = []
    for suite in suites:
        try:
            name = load_sweep(suite).name
        except WsdiagError as e:
            parser.exit(2, f"error: {e}\n")
        runs = args.out / name / "runs"
        if args.table_only and not runs.is_dir():
            parser.exit(2, f"error: nothing ran of {suite} (no {runs})\n")
        if not args.table_only:
            runs = run_suite(suite, args.out, args.jobs, args.seeds, args.until_confirmed)
        part = rows(runs, replay=args.replay)
        summary = [x for x in tables(distinct(part)[0]).splitlines()
                   if x.startswith(("runs:", "early", "non-"))]  # fmt: skip
        print(f"{name}: " + "; ".join(summary))
        fresh += [{**r, "run": f"{name}/{r['run']}"} for r in part]
    if args.record:
        try:
            write_record(fresh, args.record)
        except OSError as e:
            parser.exit(2, f"error: cannot write the record {args.record}: {e.strerror}\n")
    kept, repeats = distinct(items + fresh)
    for run, first in repeats:
        same = "recorded twice" if run == first else f"the same experiment as {first}"
        print(f"counted once: {run} is {same}")
    print("\n" + tables(kept))
    print("\n" + scenario_tables(kept))
    print("\nthe targets, per part:\n\n" + targets_table(judged(kept)))


if __name__ == "__main__":
    main()
