"""The no-op control of `wsdiag diagnose --confirm`: how often does an intervention that does
nothing get confirmed?

    python -m examples.noop_control --out runs/noop-control --decisions 72 --jobs 2

One pretrained TD3 on Pendulum-v1 (the demo's recipe with 64-64 networks and 4,000 fine-tuning
steps, to be cheap), then `--decisions` independent decisions. Decision d fine-tunes the demo's
way (a fresh critic, 1,000 warm-up steps: a dip every time) on seeds 10 d, 10 d + 1, ..., and
confirms the no-op
control alone (`--control --causes none`): the same fine-tune on seeds 100,000 further, paired
seed by seed, measured and decided exactly as an intervention (a sign test from 5 seeds, one
more at a time up to 10 while undecided). Each decision's seeds are its own, so the decisions
are independent. A confirmation here is a false one; the design asks for at most 5%.

Each decision appends one JSON line to `<out>/noop_control.jsonl` as it finishes; a rerun skips
the decisions recorded (and reuses finished runs). The last line printed: confirmed / decided,
with its exact (Clopper-Pearson) 95% interval.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from rich.console import Console

from wsdiag.analysis.confirm import CONFIRMED, Confirmation
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import load_config, replace
from wsdiag.rundir import is_complete
from wsdiag.suite.metrics import clopper_pearson
from wsdiag.sweep.confirm import confirm_run
from wsdiag.training.experiment import Experiment

DEMO = Path(__file__).resolve().parent.parent / "wsdiag" / "configs" / "demo.toml"
CHEAP = [
    "pretrain.hidden=[64,64]",
    "finetune.hidden=[64,64]",
    "threads=1",
    "probes.every=0",
    "finetune.steps=4000",
]  # the dip is over by step 4,000: a run as long as it
SEED_BLOCK = 10  # decision d uses seeds 10 d ... 10 d + 9 (and the control 100,000 further)
RECORDS = "noop_control.jsonl"


def pretrained(out: Path, console: Console) -> Path:
    """The shared pretrained agent: the demo's online pretraining with 64-64 networks."""
    config = load_config(DEMO, [*CHEAP, 'name="pretrained"'])
    run_dir = out / "pretrained-seed0"
    if not (run_dir / "checkpoints" / "pretrained").exists():
        exp = Experiment.create(config, out, run_dir=run_dir, progress="quiet", console=console)
        exp.run(until="pretrain")
    return run_dir


def decision(out: Path, source: Path, d: int, jobs: int, console: Console) -> Confirmation:
    """Decision d: its own original run on seed 10 d, then the control alone."""
    config = load_config(DEMO, [*CHEAP, f'name="decision-{d}"', f"seed={SEED_BLOCK * d}"])
    config = replace(config, pretrain={"source": "checkpoint", "path": str(source)})
    run_dir = out / "decisions" / f"decision-{d}"
    if not is_complete(run_dir):
        exp = (Experiment.resume(run_dir, progress="quiet", console=console) if run_dir.exists()
               else Experiment.create(config, run_dir.parent, run_dir=run_dir, progress="quiet",
                                      console=console))  # fmt: skip
        exp.run()
    result = confirm_run(run_dir, thresholds=Thresholds(), seeds=5, max_seeds=10, causes=[],
                         interventions=None, jobs=jobs, backend="local", address=None,
                         threads=1, dry_run=False, console=console, control=True)  # fmt: skip
    assert result is not None
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/noop-control"))
    p.add_argument("--decisions", type=int, default=40)
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (one thread each)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    console = Console(stderr=True)
    args.out.mkdir(parents=True, exist_ok=True)
    records = args.out / RECORDS
    done = {json.loads(line)["decision"] for line in records.read_text().splitlines()} \
        if records.exists() else set()  # fmt: skip
    source = pretrained(args.out, console)
    for d in range(args.decisions):
        if d in done:
            continue
        control = decision(args.out, source, d, args.jobs, console).control
        assert control is not None
        test = control.test(Thresholds().confirm_share)
        line = {"decision": d, "outcome": control.outcome(Thresholds().confirm_share),
                "seeds": control.seeds, "original_dips": control.original_dips,
                "control_dips": control.dips, "sign_test": str(test)}  # fmt: skip
        with records.open("a") as fh:
            fh.write(json.dumps(line) + "\n")
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    confirmed = sum(line["outcome"] == CONFIRMED for line in lines)
    low, high = clopper_pearson(confirmed, len(lines))
    print(f"no-op control confirmed in {confirmed} of {len(lines)} decisions "
          f"({100 * confirmed / len(lines):.1f}%, exact 95% interval "
          f"[{100 * low:.1f}, {100 * high:.1f}]%)")  # fmt: skip


if __name__ == "__main__":
    main()
