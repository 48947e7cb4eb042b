"""Every mitigation on the demo environment, several seeds, one shared pretraining per seed.

    python -m examples.compare_mitigations [--out runs/compare] [--seeds 0 1 2] [--jobs 2]
        [--steps 8000]

Pretrains TD3 on Pendulum-v1 once per seed (wsdiag/configs/demo.toml, `--until pretrain`),
fine-tunes it with each variant below from that checkpoint (one torch thread per run, `--jobs`
runs at a time), then writes `wsdiag report` over all runs: the Pareto front of dip vs return.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONFIG = "wsdiag/configs/demo.toml"
WSDIAG = [sys.executable, "-m", "wsdiag"]

# name -> --set overrides applied to the demo config (fine-tuning side only)
VARIANTS: dict[str, list[str]] = {
    "plain": [],
    "freeze-2000": ["warmstart.freeze_policy_steps=2000"],
    "bc-penalty": ['mitigation.name="bc_penalty"'],
    "ccl-bc": ['mitigation.name="bc_penalty"', 'mitigation.bc_penalty.controller="confidence"'],
    "pqd": ['mitigation.name="pqd"'],
    "ccl-pqd": ['mitigation.name="ccl_pqd"'],
    "ccl-pqd-strong": ['mitigation.name="ccl_pqd"', "mitigation.ccl_pqd.alpha_start=1e-4"],
    "grad-clip": ['mitigation.name="grad_clip"'],
    "lr-scale": ['mitigation.name="lr_scale"'],
    "critic-bc": ['mitigation.name="critic_bc"'],
    "bcq": ['mitigation.name="bcq"'],
    "gradient-penalty": ['mitigation.name="gradient_penalty"'],
    "td3bc-pp": ['mitigation.name="td3bc_pp"', 'finetune.algo="td3bc"'],
    "adaptive-bc": ['mitigation.name="adaptive_bc"'],
    "jsrl": ['mitigation.name="jsrl"'],
    "jsrl-random": ['mitigation.name="jsrl_random"', "mitigation.jsrl_random.decay_steps=8000"],
}


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
    args = parser.parse_args()
    out, logs = args.out, args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    common = ["-q", "--out", str(out), "--set", "threads=1"]
    with ThreadPoolExecutor(args.jobs) as pool:
        pretrain = ["--until", "pretrain", "--set", 'name="pretrained"']
        pre = {  # one pretraining per seed, reused when the folder already has it
            s: pool.submit(
                _run,
                [*WSDIAG, "train", CONFIG, *common, "--seed", str(s), *pretrain],
                logs / f"pretrained-{s}.log",
            )
            for s in args.seeds
            if not (out / f"pretrained-seed{s}" / "checkpoints" / "pretrained").exists()
        }
        jobs = []
        for s in args.seeds:
            if s in pre and pre[s].result() != 0:
                sys.exit(f"pretraining seed {s} failed: see {logs}/pretrained-{s}.log")
            source = out / f"pretrained-seed{s}"
            for name in args.variants:
                sets = [
                    f'name="{name}"',
                    'pretrain.source="checkpoint"',
                    f'pretrain.path="{source}"',
                    f"finetune.steps={args.steps}",
                    *VARIANTS[name],
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


if __name__ == "__main__":
    main()
