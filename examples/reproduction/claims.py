"""The numbers and figures of each claim of docs/reproduction.md, from its sweep folder.

Each `rN(groups, img)` reads the finished runs of one sweep (examples/sweeps/reproduction/),
draws the claim's figure with `img` (`<folder>/<prefix>rN.png`), and returns its markdown: a
table of interquartile means over seeds with 95% stratified-bootstrap intervals
(wsdiag.analysis.aggregates) and the probability that one variant beats another. Dips are R0
minus the lowest evaluation from the policy start, the package's (wsdiag.analysis.degradation);
the returns "while fine-tuning" are the same window's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from examples.reproduction.common import (
    Figures,
    dip,
    draw_curves,
    fmt,
    iqm_of,
    p_better,
    per_run,
    summary,
    value_at,
)
from wsdiag.analysis.evidence import Evidence
from wsdiag.analysis.pareto import pareto_front
from wsdiag.analysis.run import Run
from wsdiag.analysis.safety import var_cvar
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.data.build import normalised_score
from wsdiag.data.minari_read import read_metadata

Groups = dict[str, list[Run]]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _pick(groups: Groups, names: Sequence[str]) -> Groups:
    return {n: groups[n] for n in names if n in groups}


def _dips(runs: Sequence[Run]) -> np.ndarray:
    return per_run(runs, lambda r: dip(r).dip)


def _dip_rows(groups: Groups) -> list[list[str]]:
    """variant, seeds, R0, lowest return, dip, steps to recover (recovered / seeds)."""
    rows = []
    for name, runs in groups.items():
        degs = [dip(r) for r in runs]
        back = [d.time_to_recover for d in degs if d.time_to_recover is not None]
        rows.append([
            name,
            str(len(runs)),
            fmt(iqm_of([d.baseline for d in degs])),
            fmt(iqm_of([d.min_return for d in degs])),
            fmt(iqm_of([d.dip for d in degs])),
            f"{np.median(back):.0f} ({len(back)}/{len(runs)})" if back else "never",
        ])  # fmt: skip
    return rows


DIP_HEADER = ("variant", "seeds", "R0", "lowest return", "dip", "median steps to recover")


def _curve_figure(groups: Groups, img: Figures, name: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    draw_curves(ax, groups, "eval/return")
    ax.set_ylabel("evaluation return")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return img.save(fig, name)


def _better(groups: Groups, a: str, b: str, score: Callable[[Sequence[Run]], np.ndarray]) -> str:
    e = p_better(score(groups[a]), score(groups[b]))
    return f"P({a} better than {b}) = {fmt(e, 2)}"


# ----------------------------------------------------------------------------- R1-R4


def _dip_comparison(
    groups: Groups, base: str, cure: str, img: Figures, name: str, title: str
) -> list[str]:
    """The dip table of `base` and `cure`, P(cure's dip is smaller), and their curves."""
    g = _pick(groups, [base, cure])
    out = _table(DIP_HEADER, _dip_rows(g))
    if len(g) == 2:
        out += ["", _better(g, cure, base, lambda runs: -_dips(runs)) + " (dip)"]
    return [*out, "", _curve_figure(g, img, name, title)]


def r1(groups: Groups, img: Figures) -> list[str]:
    return _dip_comparison(groups, "plain", "actor-critic", img, "r1",
                           "R1: actor only vs actor + critic (TD3)")  # fmt: skip


PERCENTILES = {
    "truncate (default)": "q_percentile",
    "unclipped (authors)": "q_percentile_unclipped",
}


def r2(groups: Groups, img: Figures) -> list[str]:
    """The Q-percentile of the behavioural action at the last probe before policy updates."""
    rows, points = [], {}
    for definition, key in PERCENTILES.items():  # the untrained critic, for reference
        values = per_run(groups.get("plain", []), lambda r, k="probe/" + key: value_at(r, k, 0))
        if len(values):
            who = "new critic untrained (plain, step 0)"
            rows.append([who, definition, fmt(iqm_of(100 * values)), str(len(values))])
            points[(who, definition)] = 100 * values
    for name in ("plain", "actor-critic"):
        for definition, key in PERCENTILES.items():
            for critic, prefix in (("new", "probe/"), ("pretrained", "probe/pretrained/")):
                if name == "actor-critic" and critic == "pretrained":
                    continue  # the same pretrained critic as plain's
                runs = groups.get(name, [])
                values = per_run(runs, lambda r, k=prefix + key: value_at(r, k, r.update_start))
                if not len(values):
                    continue
                who = {
                    ("plain", "new"): "new critic after the warm-up (plain)",
                    ("plain", "pretrained"): "pretrained critic",
                    ("actor-critic", "new"): "loaded critic after the warm-up (actor-critic)",
                }[(name, critic)]
                rows.append([who, definition, fmt(iqm_of(100 * values)), str(len(values))])
                points[(who, definition)] = 100 * values
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, values in enumerate(points.values()):
        ax.scatter(values, np.full(len(values), i), s=18, color="tab:blue")
    ax.axvspan(46, 52, color="tab:red", alpha=0.15, label="paper: fresh critic 46-52%")
    ax.axvspan(66, 95, color="tab:green", alpha=0.12, label="paper: pretrained critic 66-95%")
    ax.set_yticks(range(len(points)), [f"{w}, {d}" for w, d in points], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("Q-percentile of the behavioural action (%), one point per seed")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    head = ("critic at the first policy update", "perturbations", "percentile (%)", "seeds")
    return [*_table(head, rows), "", img.save(fig, "r2")]


def r3(groups: Groups, img: Figures) -> list[str]:
    """Expert strength against ||dQ/da|| (new critic after the warm-up; pretrained critic)."""
    g = _pick(groups, ["plain", "moderate-expert"])
    new = "probe/grad_norm/behaviour/mean"
    pre = "probe/pretrained/grad_norm/behaviour/mean"
    rows = []
    for name, runs in g.items():
        rows.append([
            name,
            fmt(iqm_of([r.baseline for r in runs])),
            fmt(iqm_of(per_run(runs, lambda r: value_at(r, new, r.update_start))), 3),
            fmt(iqm_of(per_run(runs, lambda r: value_at(r, pre, 0))), 3),
            fmt(iqm_of(_dips(runs))),
        ])  # fmt: skip
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, runs in g.items():
        grads = per_run(runs, lambda r: value_at(r, new, r.update_start))
        ax.scatter(grads, _dips(runs), label=name)
    ax.set_xlabel("||dQ/da|| of the new critic at the first policy update")
    ax.set_ylabel("dip (R0 - lowest return)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    head = ("expert", "R0", "new critic ‖dQ/da‖", "pretrained critic ‖dQ/da‖", "dip")
    out = _table(head, rows)
    if len(g) == 2:
        out += ["", _better(g, "plain", "moderate-expert", _dips) + " (a deeper dip)"]
    return [*out, "", img.save(fig, "r3")]


def r4(groups: Groups, img: Figures) -> list[str]:
    """CCL-PQD's alpha_start (and any other variant in the file) against plain: lowest return,
    pooled CVaR, mean return, and the Pareto front of dip against mean return."""
    others = ("plain", "actor-critic", "moderate-expert")  # R1-R3's variants
    names = ["plain", *sorted(n for n in groups if n not in others)]
    g = _pick(groups, names)
    rows, xs, ys = [], [], []
    for name, runs in g.items():
        pooled = np.concatenate([summary(r).window for r in runs])
        _, cvar = var_cvar(pooled, 0.95)
        means = per_run(runs, lambda r: dip(r).mean_return)
        rows.append([
            name,
            fmt(iqm_of(per_run(runs, lambda r: dip(r).min_return))),
            f"{cvar:.0f} ({len(pooled)})",
            fmt(iqm_of(means)),
            fmt(iqm_of(per_run(runs, lambda r: dip(r).final_return))),
        ])  # fmt: skip
        xs.append(iqm_of(_dips(runs)).value)
        ys.append(iqm_of(means).value)
    front = pareto_front(np.array(xs), np.array(ys))
    for row, on in zip(rows, front, strict=True):
        row.append("yes" if on else "")
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, x, y, on in zip(g, xs, ys, front, strict=True):
        ax.scatter(x, y, marker="o" if on else "x", color="tab:red" if on else "tab:grey")
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("dip (IQM over seeds)")
    ax.set_ylabel("mean return while fine-tuning (IQM)")
    ax.grid(alpha=0.3)
    head = ("variant", "lowest return", "CVaR 95% (pooled evals)", "mean return", "final return",
            "on the Pareto front")  # fmt: skip
    out = _table(head, rows)
    best = [n for n in g if n != "plain"]
    if "plain" in g and best:
        out += [""] + [
            _better(g, n, "plain", lambda runs: per_run(runs, lambda r: dip(r).min_return))
            + " (lowest return)"
            for n in best
        ]
    return [*out, "", img.save(fig, "r4")]


# ----------------------------------------------------------------------------- R5-R8


def _evidence(run: Run) -> Evidence:
    """The probe series as the diagnosis rules read them: from the last probe before policy
    updates over the window W up to the return's recovery (docs/diagnosis.md)."""
    return Evidence(run.metrics, dip(run), run.update_start, Thresholds())


def _growth(run: Run, name: str) -> float:
    found = _evidence(run).growth(name)
    return found[0] if found else float("nan")


def _shift(run: Run, name: str) -> float:
    found = _evidence(run).shift(name)
    return found[0] if found else float("nan")


SPIRAL_KEYS = {
    "offline TD error growth": ("td_error/behaviour", _growth),
    "online TD error growth": ("td_error/online", _growth),
    "offline Q shift": ("q/behaviour", _shift),
    "online Q shift": ("q/online", _shift),
}


def r5(groups: Groups, img: Figures) -> list[str]:
    """Offline-pretrained IQL -> SAC: the dip, and offline vs online TD error and Q level."""
    rows = []
    for name, runs in groups.items():
        row = [name, fmt(iqm_of([r.baseline for r in runs])), fmt(iqm_of(_dips(runs)))]
        for key, fn in SPIRAL_KEYS.values():
            row.append(fmt(iqm_of(per_run(runs, lambda r, k=key, f=fn: f(r, k))), 2))
        rows.append(row)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    draw_curves(axes[0], groups, "eval/return")
    axes[0].set_title("evaluation return", fontsize=10)
    axes[0].legend(fontsize=7)
    panels = (("TD error", "td_error"), ("Q level", "q"))
    for ax, (title, key) in zip(axes[1:], panels, strict=True):
        for where, style in (("behaviour", "-"), ("online", ":")):
            draw_curves(ax, {f"{n}, {where}": r for n, r in groups.items()}, f"probe/{key}/{where}")
            for line in ax.lines[-len(groups) :]:
                line.set_linestyle(style)
        ax.set_title(f"{title}: offline data (-) and online (:)", fontsize=10)
        ax.legend(fontsize=6)
    axes[1].set_yscale("log")
    head = ("variant", "R0", "dip", *SPIRAL_KEYS)
    return [*_table(head, rows), "", img.save(fig, "r5")]


def _normalised(run: Run) -> float:
    """D4RL's score of R0 against the dataset's references: 100 (R - random) / (expert - random)."""
    meta = read_metadata(str(run.config.pretrain.dataset))
    return normalised_score(run.baseline, meta["ref_min_score"], meta["ref_max_score"])


def r6(groups: Groups, img: Figures) -> list[str]:
    """The offline agent (fine-tuning step 0): its return and its critic's action gradients."""
    grad = "probe/pretrained/grad_norm/behaviour/mean"
    rows, series = [], {}
    for name, runs in sorted(groups.items()):
        method, _, dataset = name.partition("-dataset=")
        share = int(dataset.split("random-")[-1].split("-")[0]) if "random-" in dataset else 0
        grads = per_run(runs, lambda r: value_at(r, grad, 0))
        labels = [
            fmt(
                iqm_of(per_run(runs, lambda r, k=k: value_at(r, f"probe/grad_norm/label/{k}", 0))),
                2,
            )
            for k in ("expert", "non-expert")
        ]
        returns = iqm_of([r.baseline for r in runs])
        rows.append([method, f"ER-{share}", str(len(runs)), fmt(returns),
                     fmt(iqm_of(per_run(runs, _normalised))),
                     fmt(iqm_of(grads), 2), *labels])  # fmt: skip
        series.setdefault(method, []).append((share, returns, iqm_of(grads)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for method, points in series.items():
        points.sort()
        shares = [p[0] for p in points]
        for ax, i in zip(axes, (1, 2), strict=True):
            e = [p[i] for p in points]
            err = [[x.value - x.low for x in e], [x.high - x.value for x in e]]
            ax.errorbar(shares, [x.value for x in e], yerr=err, capsize=3, label=method)
    axes[0].set_ylabel("return after offline training")
    axes[1].set_ylabel("||dQ/da|| on the dataset's states")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("random episodes in the dataset (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    head = ("method", "dataset", "seeds", "return after 10k offline steps", "normalised score",
            "critic ‖dQ/da‖", "on expert states", "on non-expert states")  # fmt: skip
    return [*_table(head, rows), "", img.save(fig, "r6")]


def r7(groups: Groups, img: Figures) -> list[str]:
    return _dip_comparison(groups, "td3", "redq-adaptive-bc", img, "r7",
                           "R7: TD3+BC -> TD3 vs REDQ+AdaptiveBC")  # fmt: skip


def _first_reach(run: Run, level: float) -> float:
    steps, values = run.series("eval/return")
    hit = np.nonzero(values >= level)[0]
    return float(steps[hit[0]]) if len(hit) else float("nan")


def r8(groups: Groups, img: Figures, level: float = 50.0) -> list[str]:
    """Final return of the learner alone, and when it first reaches `level` upright steps."""
    rows = []
    for name, runs in groups.items():
        reach = per_run(runs, lambda r: _first_reach(r, level))
        done = np.isfinite(reach)
        rows.append([
            name,
            fmt(iqm_of(per_run(runs, lambda r: float(r.series("eval/return")[1][-1])))),
            fmt(iqm_of(per_run(runs, lambda r: float(r.series("eval/return")[1].max())))),
            f"{int(done.sum())}/{len(runs)}"
            + (f", median step {np.median(reach[done]):.0f}" if done.any() else ""),
        ])  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    draw_curves(axes[0], groups, "eval/return")
    axes[0].set_ylabel("learner's return (steps upright of 200)")
    axes[0].legend(fontsize=8)
    jsrl = _pick(groups, ["jsrl"])
    draw_curves(axes[1], jsrl, "mitigation/horizon")
    axes[1].set_ylabel("JSRL guide horizon h")
    head = ("variant", "final return", "best return", f"reached {level:.0f}")
    out = _table(head, rows)
    if jsrl:
        guide = per_run(jsrl["jsrl"], lambda r: value_at(r, "mitigation/jsrl_return", 0))
        final = per_run(jsrl["jsrl"], lambda r: float(r.series("mitigation/horizon")[1][-1]))
        out += ["", f"The guide alone (h = 200): {fmt(iqm_of(guide))}; JSRL's final horizon h: "
                f"{fmt(iqm_of(final))}."]  # fmt: skip
    return [*out, "", img.save(fig, "r8")]


Section = Callable[[Groups, Figures], list[str]]


@dataclass(frozen=True)
class Sweep:
    """One reproduction sweep folder's claims, and the prefix of its figures' names."""

    title: str
    sections: tuple[Section, ...]
    prefix: str = ""


CLAIMS: dict[str, Sweep] = {
    "repro-pendulum-td3": Sweep("R1-R4", (r1, r2, r3, r4)),
    "repro-inverted-pendulum-td3": Sweep("R1-R2 on InvertedPendulum-v5", (r1, r2), "ip-"),
    "repro-offline-spiral": Sweep("R5", (r5,)),
    "repro-td3bc-contamination": Sweep("R6", (r6,)),
    "repro-redq-adaptive-bc": Sweep("R7", (r7,)),
    "repro-jsrl-sparse": Sweep("R8", (r8,)),
}
