"""Every mitigation on the demo environment, several seeds, one shared pretraining per seed.

    python -m examples.compare_mitigations [--out runs/compare] [--seeds 0 1 2] [--jobs 2]
        [--steps 8000]

Pretrains TD3 on Pendulum-v1 once per seed (wsdiag/configs/demo.toml, `--until pretrain`),
fine-tunes it with each variant below from that checkpoint (one torch thread per run, `--jobs`
runs at a time), then writes `wsdiag report` over all runs (the Pareto front of dip vs return)
and prints one table, a row per variant sorted by dip (`comparison_table`).

    python -m examples.compare_mitigations --table runs/compare/report/summary.json

prints that table again from an existing report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONFIG = "wsdiag/configs/demo.toml"
WSDIAG = [sys.executable, "-m", "wsdiag"]

# pretraining name -> --set overrides of the demo config; the "pretrained-sac" expert has the
# architecture WSRL fine-tunes (10 critics, min over a random 2, LayerNorm), so that its critic
# and Adam states can be loaded
PRETRAININGS: dict[str, list[str]] = {
    "pretrained": [],
    "pretrained-sac": [
        'pretrain.algo="sac"',
        "pretrain.ensemble=10",
        "pretrain.target_subset=2",
        "pretrain.layer_norm=true",
    ],
}
SAC = [
    'finetune.algo="sac"',
    "finetune.ensemble=10",
    "finetune.target_subset=2",
    "finetune.layer_norm=true",
]
# WSRL (examples/recipes/wsrl.toml) from an online expert: K = 5,000 frozen-policy steps with no
# updates, then UTD 4 with one actor step on the union of the 4 critic batches, the actor on the
# min of the 10 critics, no entropy in the TD target, Adam states kept, the authors' rates
WSRL = [
    *SAC,
    'warmstart.load=["actor", "critic"]',
    "warmstart.load_optimizers=true",
    "warmstart.warmup_steps=5000",
    "warmstart.train_critic_during_warmup=false",
    "finetune.utd=4",
    'finetune.actor_batch="union"',
    'finetune.actor_q="min"',
    "finetune.backup_entropy=false",
    "finetune.actor_lr=1e-4",
    "finetune.alpha_lr=1e-4",
]

# name -> (pretraining, --set overrides applied to the demo config, fine-tuning side only)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "plain": ("pretrained", []),
    "freeze-2000": ("pretrained", ["warmstart.freeze_policy_steps=2000"]),
    "bc-penalty": ("pretrained", ['mitigation.name="bc_penalty"']),
    "ccl-bc": ("pretrained", ['mitigation.name="ccl_bc"']),
    "pqd": ("pretrained", ['mitigation.name="pqd"']),
    "ccl-pqd": ("pretrained", ['mitigation.name="ccl_pqd"']),
    "ccl-pqd-strong": (
        "pretrained",
        ['mitigation.name="ccl_pqd"', "mitigation.ccl_pqd.alpha_start=1e-4"],
    ),
    "grad-clip": ("pretrained", ['mitigation.name="grad_clip"']),
    "lr-scale": ("pretrained", ['mitigation.name="lr_scale"']),
    "critic-bc": ("pretrained", ['mitigation.name="critic_bc"']),
    "bcq": ("pretrained", ['finetune.algo="bcq"']),
    "gradient-penalty": ("pretrained", ['mitigation.name="gradient_penalty"']),
    "critic-weighted": (
        "pretrained",
        ['mitigation.name="critic_weighted"', 'finetune.algo="td3bc"'],
    ),
    "td3bc-pp": ("pretrained", ['mitigation.name="td3bc_pp"', 'finetune.algo="td3bc"']),
    "adaptive-bc": ("pretrained", ['mitigation.name="adaptive_bc"']),
    "jsrl": ("pretrained", ['mitigation.name="jsrl"']),
    "jsrl-random": (
        "pretrained",
        ['mitigation.name="jsrl_random"', "mitigation.jsrl_random.decay_steps=8000"],
    ),
    "sac-plain": ("pretrained-sac", SAC),
    "wsrl": ("pretrained-sac", WSRL),
    "wsrl-no-warmup": ("pretrained-sac", [*WSRL, "warmstart.warmup_steps=0"]),
    "wsrl-random-warmup": ("pretrained-sac", [*WSRL, 'warmstart.warmup_policy="random"']),
}


def _mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def comparison_table(summary: dict) -> str:
    """One Markdown row per variant from a report's summary.json: means over seeds, the seeds'
    lowest returns, recoveries, and the pooled lower tails (CVaR95) of returns and differences."""
    rows = []
    for group in summary["groups"]:
        degs = [r["degradation"] for r in summary["runs"] if r["name"] in group["runs"]]
        degs = [d for d in degs if d]
        if not degs:
            continue
        lows = ", ".join(f"{d['min_return']:.0f}" for d in degs)
        back = sum(d["recovery_step"] is not None for d in degs)
        safety = group["safety"]
        means = [f"{_mean(degs, key):.0f}" for key in ("baseline", "dip")]
        ends = [f"{_mean(degs, key):.0f}" for key in ("final_return", "mean_return")]
        tails = [f"{safety[row]['CVaR95']:.0f}" for row in ("returns", "differences")]
        cells = [group["label"], *means, lows, *ends, f"{back}/{len(degs)}", *tails]
        rows.append((_mean(degs, "dip"), cells))
    head = ["variant", "R0", "dip", "lowest return per seed", "final", "mean", "back to R0",
            "CVaR95 R", "CVaR95 ΔR"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows, key=lambda r: r[0])]
    return "\n".join(lines)


def _run(args: list[str], log: Path) -> int:
    with open(log, "w") as fh:
        return subprocess.run(args, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/compare"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8000, help="online steps per run")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--table", type=Path, help="only print the table of this summary.json")
    args = parser.parse_args()
    if args.table:
        if not args.table.is_file():
            parser.error(f"--table: no such file: {args.table}")
        print(comparison_table(json.loads(args.table.read_text())))
        return
    out, logs = args.out, args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    common = ["-q", "--out", str(out), "--set", "threads=1"]
    with ThreadPoolExecutor(args.jobs) as pool:
        needed = sorted({(VARIANTS[name][0], s) for name in args.variants for s in args.seeds})
        pre = {  # one pretraining per (kind, seed), reused when the folder already has it
            (kind, s): pool.submit(
                _run,
                [*WSDIAG, "train", CONFIG, *common, "--seed", str(s), "--until", "pretrain"]
                + [x for item in [f'name="{kind}"', *PRETRAININGS[kind]] for x in ("--set", item)],
                logs / f"{kind}-{s}.log",
            )
            for kind, s in needed
            if not (out / f"{kind}-seed{s}" / "checkpoints" / "pretrained").exists()
        }
        jobs = []
        for s in args.seeds:
            for name in args.variants:
                kind, overrides = VARIANTS[name]
                if (kind, s) in pre and pre[kind, s].result() != 0:
                    sys.exit(f"pretraining {kind} seed {s} failed: see {logs}/{kind}-{s}.log")
                sets = [
                    f'name="{name}"',
                    'pretrain.source="checkpoint"',
                    f'pretrain.path="{out / f"{kind}-seed{s}"}"',
                    f"finetune.steps={args.steps}",
                    *overrides,
                ]
                cmd = [*WSDIAG, "train", CONFIG, *common, "--seed", str(s)]
                cmd += [x for item in sets for x in ("--set", item)]
                jobs.append((name, s, pool.submit(_run, cmd, logs / f"{name}-{s}.log")))
        failed = [f"{n} seed {s}" for n, s, job in jobs if job.result() != 0]
    if failed:
        print(f"failed: {', '.join(failed)} (logs in {logs})")
    runs = sorted(
        str(p) for p in out.iterdir() if p.is_dir() and p.name.split("-seed")[0] in args.variants
    )
    subprocess.run([*WSDIAG, "report", *runs, "--out", str(out / "report")], check=False)
    summary = out / "report" / "summary.json"
    if summary.exists():
        print(comparison_table(json.loads(summary.read_text())))


if __name__ == "__main__":
    main()
