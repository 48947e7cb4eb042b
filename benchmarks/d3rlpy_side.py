"""wsdiag against d3rlpy 2.8.1: time per update on one thread, side by side.

TD3, SAC, TD3+BC, IQL, CQL and Cal-QL at HalfCheetah shapes (obs 17, action 6), batch 256,
[256, 256] networks, two critics, Adam 3e-4, one torch thread. d3rlpy pins gymnasium 1.0.0 and
lives in its own environment, `.venv-d3rlpy` (`make bench-d3rlpy` builds it); without it the
section is skipped with one line.

Each repeat runs one process per side, alternating which goes first (`updates.order`):
wsdiag (`updates.run`: the mean of `iters` updates on pre-sampled batches after 10 untimed
ones), wsdiag with its heap padded (`wsdiag.allocator.pad_heap`, on glibc: how `wsdiag train`
and the sweep workers run), and d3rlpy (`d3rlpy_worker.py`: `algo.update(batch)` on one fixed
random batch, the same protocol). Printed: the best of the repeats of each side, d3rlpy /
wsdiag at the best with its range over all pairs and each repeat's pair, whether the 1.3x
target is met, the load average, the settings that cannot be matched (`UNMATCHED`), and for
each ratio short of 1.3x why: the share of a 256x256 sgemm's peak (measured in the same run,
`flops.sgemm_flops_per_s`) that wsdiag's update reaches in matmul FLOPs
(`flops.update_flops`), and the share 1.3x needs.

    python -m benchmarks.d3rlpy_side [--iters 30] [--repeats 6] [--algos cql calql]
    python -m benchmarks.run_all --sections d3rlpy     # the same, recorded in bench.json
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from benchmarks.common import ROOT, set_threads
from benchmarks.d3rlpy_worker import ACT_DIM, ALGOS, CONFIGS, OBS_DIM
from benchmarks.flops import sgemm_flops_per_s, update_flops, why_short
from benchmarks.updates import alternate, ratios, sample

VENV = ROOT / ".venv-d3rlpy"
WORKER = Path(__file__).with_name("d3rlpy_worker.py")
TARGET = 1.3  # d3rlpy / wsdiag per update
PADDED = ALGOS  # timed padded too: every run's process pads its heap (wsdiag.allocator)
PAD = "from wsdiag.allocator import pad_heap; assert pad_heap(), 'heap padding needs glibc'"
NAMES = {"td3": "TD3", "sac": "SAC", "td3bc": "TD3+BC", "iql": "IQL", "cql": "CQL",
         "calql": "Cal-QL"}  # fmt: skip
UNMATCHED = (
    "Adam: d3rlpy's AdamFactory builds torch.optim.Adam with its defaults, on CPU one "
    "parameter at a time (neither fused nor foreach, and no switch for either); wsdiag's is "
    "fused.",
    "SAC, CQL and Cal-QL temperature: d3rlpy's loss is written on alpha, wsdiag's on log alpha "
    "(the same target entropy -dim(A)).",
    "CQL and Cal-QL target action: d3rlpy's backup (soft_q_backup=False) takes the mean action "
    "tanh(mu(s')), wsdiag samples a' ~ pi(.|s'); neither adds the entropy term.",
    "Cal-QL: d3rlpy's update computes each transition's return-to-go from its remaining rewards "
    "in a Python loop over the batch (500 rewards each here); wsdiag reads the return stored "
    "in its buffer (unknown in these random batches, so nothing is bounded, at the same cost).",
    "d3rlpy's update(batch) turns a numpy mini-batch into tensors (the 'of it batch' column, "
    "included in its time); wsdiag's batches are tensors sampled before the clock starts.",
    "IQL: d3rlpy's log std is a state-independent parameter clamped to [-5, 2]; wsdiag's is "
    "the bias of a zero-weight head, clamped to [-20, 2]. One Adam steps d3rlpy's Q and V "
    "together, two step wsdiag's (the same learning rate).",
    "Policies: d3rlpy's mean and log std are two output layers, wsdiag's one of twice the "
    "width; wsdiag's networks standardise observations (identity statistics here), d3rlpy "
    "has no scaler.",
    "Heap padding: the padded rows pad wsdiag's process only; d3rlpy runs with glibc's "
    "defaults (MALLOC_TOP_PAD_ in its environment would pad it too).",
)


def skip_reason(venv: Path | None = None) -> str | None:
    """Why the section cannot run (one line), or None when d3rlpy's environment (default
    `VENV`) is there."""
    venv = VENV if venv is None else venv
    if (venv / "bin" / "python").exists():
        return None
    return f"d3rlpy section skipped: no {venv.name}/ (`make bench-d3rlpy` creates it)"


def parse_worker(stdout: str) -> dict[str, Any]:
    """The JSON object that the worker prints last (d3rlpy may log lines before it)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("the d3rlpy worker printed no result")


def d3rlpy_sample(
    algos: tuple[str, ...], threads: int, iters: int, venv: Path | None = None
) -> dict[str, Any]:
    """One process of d3rlpy's environment (default `VENV`): ms per update of each algorithm
    (isolated mode, so that neither this checkout nor PYTHONPATH is importable there)."""
    venv = VENV if venv is None else venv
    command = [str(venv / "bin" / "python"), "-I", str(WORKER), "--algos", *algos,
               "--threads", str(threads), "--iters", str(iters)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the d3rlpy worker failed:\n{done.stderr[-2000:]}")
    return parse_worker(done.stdout)


def sides(
    algos: tuple[str, ...], threads: int, iters: int, padded: bool
) -> dict[str, functools.partial]:
    """One call per side, each returning one sample; d3rlpy last, so that it alternates
    with wsdiag between first and last."""
    calls = {"wsdiag": functools.partial(sample, ROOT, algos, threads, iters, None)}
    if padded and (pad := tuple(a for a in algos if a in PADDED)):
        calls["wsdiag padded"] = functools.partial(sample, ROOT, pad, threads, iters, None, PAD)
    return calls | {"d3rlpy": functools.partial(d3rlpy_sample, algos, threads, iters)}


SPREAD = "the best pair reaches it; the spread over pairs (the machine's noise) reaches below"


def verdict(low: float, high: float, target: float = TARGET) -> str:
    """Whether the ratio's range over all pairs meets the target: yes, no or inconclusive."""
    if low >= target:
        return "yes"
    return "no" if high < target else "inconclusive"


def rows(
    samples: dict[str, list[dict]], algos: tuple[str, ...], peak: float | None = None
) -> list[dict[str, Any]]:
    """One row per algorithm and wsdiag side that timed it: every sample, d3rlpy / wsdiag; with
    the sgemm `peak` (FLOP/s), why a ratio short of the target is (`flops.why_short`)."""
    d3 = samples["d3rlpy"]
    out = []
    for algo in algos:
        key = f"{algo}_ms"
        for side in ("wsdiag", "wsdiag padded"):
            if side not in samples or key not in samples[side][0]:
                continue
            ours, theirs = [s[key] for s in samples[side]], [s[key] for s in d3]
            r = ratios(ours, theirs)
            row = {"algo": algo, "wsdiag": side, "wsdiag_ms": ours, "d3rlpy_ms": theirs,
                   "d3rlpy_batch_ms": [s[f"{algo}_batch_ms"] for s in d3],
                   "ratio": r, "target_met": verdict(r["low"], r["high"])}  # fmt: skip
            if row["target_met"] == "inconclusive" and r["best"] >= TARGET:
                row["why"] = SPREAD
            elif peak is not None and row["target_met"] != "yes":
                flops = update_flops(algo, OBS_DIM, ACT_DIM)["total"]
                row["why"] = why_short(r["best"], flops, min(ours) / 1e3, peak, TARGET)
            out.append(row)
    return out


def run(
    iters: int = 30, repeats: int = 6, algos: tuple[str, ...] = ALGOS, threads: int = 1
) -> dict[str, Any]:
    """Every sample of the alternating repeats and the rows; `skipped` alone without d3rlpy."""
    if (reason := skip_reason()) is not None:
        return {"skipped": reason}
    padded = platform.libc_ver()[0] == "glibc"
    result = alternate(sides(algos, threads, iters, padded), repeats)
    set_threads(threads)
    peak = sgemm_flops_per_s()
    samples: dict[str, list[dict]] = result["samples"]  # type: ignore[assignment]
    return {
        "threads": threads,
        "iters": iters,
        "repeats": repeats,
        "versions": samples["d3rlpy"][0]["versions"],
        "d3rlpy_configs": {a: CONFIGS[a] for a in algos},
        "load_average": result["load_average"],
        "sgemm_peak_gflop_per_s": peak / 1e9,
        "rows": rows(samples, algos, peak),
        "samples": samples,
        "unmatched": list(UNMATCHED),
    }


def render(result: dict[str, Any]) -> RenderableType:
    """The table, each repeat's ratio and what cannot be matched; the skip line when skipped.
    Every sample stays in the JSON."""
    if "skipped" in result:
        return Text(result["skipped"], style="yellow")
    v = result["versions"]
    table = Table(
        title=f"ms per update, best of {result['repeats']} alternating repeats of "
        f"{result['iters']} updates, {result['threads']} thread(s): wsdiag against d3rlpy "
        f"{v['d3rlpy']} (torch {v['torch']})",
        box=box.SIMPLE_HEAD,
    )
    for col in ("algorithm", "wsdiag", "d3rlpy", "of it batch", "d3rlpy / wsdiag",
                "over all pairs", f">= {TARGET}x"):  # fmt: skip
        table.add_column(col, justify="left" if col == "algorithm" else "right")
    pairs, short = [], []
    for row in result["rows"]:
        r = row["ratio"]
        name = NAMES[row["algo"]] + (" padded" if row["wsdiag"] == "wsdiag padded" else "")
        if "why" in row:
            short.append(f"{TARGET}x not shown, {name}: {row['why']}")
        table.add_row(
            name,
            f"{min(row['wsdiag_ms']):.1f}",
            f"{min(row['d3rlpy_ms']):.1f}",
            f"{min(row['d3rlpy_batch_ms']):.2f}",
            f"{r['best']:.2f}x",
            f"{r['low']:.2f}-{r['high']:.2f}",
            row["target_met"],
        )
        pairs.append(f"{name} " + " ".join(f"{x:.2f}" for x in r["per_repeat"]))
    notes = [
        "padded: wsdiag's heap padded (wsdiag.allocator.pad_heap); of it batch: d3rlpy's "
        "numpy-to-tensor conversion inside its update",
        f"load average before the first repeat and after each: {result['load_average']}",
        "d3rlpy / wsdiag in each repeat: " + "; ".join(pairs),
        *short,
        "Not matched between the libraries:",
        *(f"- {u}" for u in UNMATCHED),
    ]
    return Group(table, Text("\n".join(notes)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=30, help="timed updates per sample")
    p.add_argument("--repeats", type=int, default=6, help="samples per side (alternating)")
    args = p.parse_args(argv)
    if min(args.threads, args.iters, args.repeats) < 1:
        p.error("--threads, --iters and --repeats must be >= 1")
    Console().print(render(run(args.iters, args.repeats, tuple(args.algos), args.threads)))


if __name__ == "__main__":
    main()
