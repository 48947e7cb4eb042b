"""Presentation: one rich table per section, a markdown summary, and the JSON results file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

TARGETS = {"throughput": 1.3, "ensemble_speedup": 1.3, "per_critic_ratio": 1.0}


def _x(value: float) -> str:
    return f"{value:.2f}x"


def throughput_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Throughput: env steps/s with one update per step (higher is better)")
    columns = (
        "threads",
        "algo",
        "env",
        "timed steps",
        "wsdiag",
        "SB3",
        "wsdiag / SB3",
        "why short",
    )
    for col in columns:
        table.add_column(col, justify="left" if col in ("algo", "env", "why short") else "right")
    for r in rows:
        table.add_row(
            str(r.get("threads", "")),
            r["algo"],
            r["env"],
            str(r["timed_steps"]),
            f"{r['wsdiag_steps_per_s']:.1f}",
            f"{r['sb3_steps_per_s']:.1f}",
            _x(r["ratio"]),
            r.get("why", ""),
        )
    return table


def flops_table(result: dict[str, Any]) -> Table:
    peak = result["peak_gflop_per_s"]
    table = Table(
        title=f"TD3 update vs peak: 256x256 sgemm = {peak:.1f} GFLOP/s on "
        f"{result['threads']} threads"
    )
    for col in ("env", "MFLOP/update", "ms/update", "GFLOP/s", "fraction of peak"):
        table.add_column(col, justify="left" if col == "env" else "right")
    for r in result["updates"]:
        table.add_row(
            r["env"],
            f"{r['update_mflop']:.0f}",
            f"{r['update_ms']:.2f}",
            f"{r['achieved_gflop_per_s']:.1f}",
            f"{100 * r['fraction_of_peak']:.0f}%",
        )
    return table


def ensemble_table(result: dict[str, Any]) -> Table:
    e = result["ensemble"]
    table = Table(title=f"Critic update step, {e} critics ({result['env_dims']} sizes, batch 256)")
    table.add_column("variant")
    table.add_column("ms/step", justify="right")
    table.add_column("ms per critic", justify="right")
    table.add_row(f"loop over {e} nn.Sequential", f"{result['loop_ms']:.2f}", "")
    table.add_row(
        f"batched EnsembleCritic E={e}",
        f"{result['batched_ms']:.2f}",
        f"{result['per_critic_ms']:.2f}",
    )
    table.add_row(
        "batched EnsembleCritic E=2",
        f"{result['batched_e2_ms']:.2f}",
        f"{result['per_critic_e2_ms']:.2f}",
    )
    table.caption = (
        f"loop / batched = {_x(result['loop_over_batched'])}; per-critic cost E={e} / E=2 = "
        f"{_x(result['per_critic_ratio'])}"
    )
    return table


def parallel_table(result: dict[str, Any]) -> Table:
    k = result["runs"]
    table = Table(
        title=f"{k} TD3 runs on {result['env']}, {result['steps_per_run']} steps each (wall s)"
    )
    table.add_column("mode")
    table.add_column("wall s", justify="right")
    table.add_column("per run s", justify="right")
    table.add_row(
        f"{k} parallel processes x 1 thread",
        f"{result['parallel_wall_s']:.1f}",
        ", ".join(f"{s:.1f}" for s in result["parallel_run_s"]),
    )
    table.add_row(
        f"sequential x {result['sequential_threads']} threads",
        f"{result['sequential_wall_s']:.1f}",
        ", ".join(f"{s:.1f}" for s in result["sequential_run_s"]),
    )
    table.caption = f"speed-up of parallel over sequential = {_x(result['speedup'])}"
    return table


def cli_table(result: dict[str, Any]) -> Table:
    """`wsdiag --help` beside `import typer, rich`; the cold and warm one-run report."""
    table = Table(title="Command line: wall s of a fresh process (lower is better)")
    for col in ("command", "wall s", "ratio"):
        table.add_column(col, justify="left" if col == "command" else "right")
    table.add_row('python -c "import typer, rich"', f"{result['import_typer_rich_s']:.2f}", "1")
    table.add_row("wsdiag --help", f"{result['help_s']:.2f}", _x(result["help_over_import"]))
    table.add_row("wsdiag report RUN, warm numba cache", f"{result['report_warm_s']:.1f}", "1")
    table.add_row(
        "wsdiag report RUN, cold numba cache",
        f"{result['report_cold_s']:.1f}",
        _x(result["report_cold_over_warm"]),
    )
    table.caption = f"RUN = {result['report_run']}"
    return table


def values_table(title: str, values: dict[str, Any]) -> Table:
    """A two-column table of named numbers (the probe and dataset sections)."""
    table = Table(title=title)
    table.add_column("measurement")
    table.add_column("value", justify="right")
    for key, value in values.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    return table


def markdown(results: dict[str, Any]) -> str:
    """The headline numbers as a markdown table (ratios with their targets)."""
    m = results["machine"]
    lines = [
        "## wsdiag benchmark summary",
        "",
        f"{m['cpu']}, {m['cores']} cores, torch {m['torch']}, "
        f"stable-baselines3 {m['stable_baselines3']}; load average at start "
        f"{m['load_average_start']}, at end {results.get('load_average_end')}",
        "",
        "| measurement | value | target |",
        "|---|---|---|",
    ]
    for r in results.get("throughput", []):
        lines.append(
            f"| {r['algo'].upper()} {r['env']} steps/s, {r.get('threads', '?')} thread(s), "
            f"wsdiag / SB3 | {r['wsdiag_steps_per_s']:.0f} / {r['sb3_steps_per_s']:.0f} = "
            f"{_x(r['ratio'])}{'; ' + r['why'] if 'why' in r else ''} | "
            f">= {_x(TARGETS['throughput'])} |"
        )
    if "flops" in results:
        f = results["flops"]
        for r in f["updates"]:
            lines.append(
                f"| TD3 update {r['env']}: {r['update_mflop']:.0f} MFLOP in "
                f"{r['update_ms']:.2f} ms, fraction of sgemm peak "
                f"({f['peak_gflop_per_s']:.0f} GFLOP/s) | {100 * r['fraction_of_peak']:.0f}% | |"
            )
    if "ensemble" in results:
        e = results["ensemble"]
        lines.append(
            f"| critic step, loop of {e['ensemble']} / batched E={e['ensemble']} | "
            f"{e['loop_ms']:.2f} / {e['batched_ms']:.2f} ms = {_x(e['loop_over_batched'])} | "
            f">= {_x(TARGETS['ensemble_speedup'])} |"
        )
        lines.append(
            f"| per-critic cost, batched E={e['ensemble']} / E=2 | "
            f"{e['per_critic_ms']:.2f} / {e['per_critic_e2_ms']:.2f} ms = "
            f"{_x(e['per_critic_ratio'])} | <= {_x(TARGETS['per_critic_ratio'])} |"
        )
    if "parallel" in results:
        p = results["parallel"]
        lines.append(
            f"| {p['runs']} runs: sequential ({p['sequential_threads']} threads) / parallel "
            f"(1 thread) wall | {p['sequential_wall_s']:.1f} / {p['parallel_wall_s']:.1f} s = "
            f"{_x(p['speedup'])} | |"
        )
    if "cli" in results:
        c = results["cli"]
        lines.append(
            f'| `wsdiag --help` / `python -c "import typer, rich"` wall | '
            f"{c['help_s']:.2f} / {c['import_typer_rich_s']:.2f} s = "
            f"{_x(c['help_over_import'])} | < 1 s |"
        )
        lines.append(
            f"| one-run `wsdiag report`, cold / warm numba cache | {c['report_cold_s']:.1f} / "
            f"{c['report_warm_s']:.1f} s = {_x(c['report_cold_over_warm'])} | warm < 10 s |"
        )
    for section in ("probes", "updates", "seeds", "data"):
        for key, value in results.get(section, {}).items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {section}: {key} | {shown} | |")
    lines += ["", f"Total time: {results['total_s']:.0f} s"]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
