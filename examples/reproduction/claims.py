"""The numbers and figures of each claim of docs/reproduction.md, from its sweep folder.

Each `rN(groups, img)` reads the finished runs of one sweep (examples/sweeps/reproduction/),
draws the claim's figure with `img` (`<folder>/<prefix>rN.png`), and returns its markdown: a
table of interquartile means over seeds with 95% stratified-bootstrap intervals
(wsdiag.analysis.aggregates) and the probability that one variant beats another. Dips are R0
minus the lowest evaluation from the policy start, the package's (wsdiag.analysis.degradation);
the returns "while fine-tuning" are the same window's.

Each `rN_parts(groups, task)` returns the claim's parts as record entries
(examples/reproduction/record.py), each one effect the paper reports with the paper's direction,
which the verdict rule (examples/reproduction/verdict.py) decides.
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
from examples.reproduction.record import Entry, counts, differences, effect, in_range, intervals
from wsdiag.analysis.aggregates import REPS, Estimate
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


def _compared(entry: Entry, a: Sequence[Run], b: Sequence[Run]) -> Entry:
    """The entry with the config differences of the two groups it compares."""
    return {**entry, "differences": differences(a, b)}


def _smaller_dip(claim: str, part: str, says: str, groups: Groups, cure: str, base: str) -> Entry:
    """P(cure's dip < base's dip) against 0.5, with what the two variants differ in."""
    a, b = groups[cure], groups[base]
    e = p_better(-_dips(a), -_dips(b))
    return _compared(effect(claim, part, says, e, 0.5, f"P({cure}'s dip < {base}'s)"), a, b)


def _recovery(runs: Sequence[Run]) -> np.ndarray:
    """Steps from the policy start back to R0, per seed; infinite for a seed never back."""
    times = [dip(r).time_to_recover for r in runs]
    return np.array([np.inf if t is None else t for t in times], float)


def r1_parts(groups: Groups, task: str) -> list[Entry]:
    """The loaded critic's smaller dip, more seeds back at R0 by the end, and sooner (a seed
    never back ranks last, so every seed counts, not only those that recovered)."""
    if not {"plain", "actor-critic"} <= set(groups):
        return []
    plain, critic = groups["plain"], groups["actor-critic"]
    back = [int(np.isfinite(_recovery(runs)).sum()) for runs in (critic, plain)]
    sooner = p_better(-_recovery(critic), -_recovery(plain))
    return [
        _smaller_dip("R1", f"{task} smaller dip with the critic", "loading the pretrained critic "
                     "too gives a smaller dip than the actor alone", groups, "actor-critic",
                     "plain"),
        _compared(counts("R1", f"{task} more seeds recover with the critic", "more seeds are "
                         "back at R0 by the end of the run with the critic loaded",
                         ("actor-critic", back[0], len(critic)), ("plain", back[1], len(plain))),
                  critic, plain),
        _compared(effect("R1", f"{task} recovers sooner with the critic", "the return is back "
                         "at R0 sooner with the critic loaded", sooner, 0.5, "P(actor-critic "
                         "back at R0 sooner than plain, never back ranked last)"), critic, plain),
    ]  # fmt: skip


PERCENTILES = {
    "truncate (default)": "q_percentile",
    "unclipped (authors)": "q_percentile_unclipped",
}
PAPER_FRESH = (46, 52)  # the paper's Q-percentiles of a_beta (%): its fresh critic
PAPER_PRETRAINED = (66, 95)  # and its pretrained critic


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
    ax.axvspan(*PAPER_FRESH, color="tab:red", alpha=0.15, label="paper: fresh critic 46-52%")
    ax.axvspan(*PAPER_PRETRAINED, color="tab:green", alpha=0.12,
               label="paper: pretrained critic 66-95%")  # fmt: skip
    ax.set_yticks(range(len(points)), [f"{w}, {d}" for w, d in points], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("Q-percentile of the behavioural action (%), one point per seed")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    head = ("critic at the first policy update", "perturbations", "percentile (%)", "seeds")
    return [*_table(head, rows), "", img.save(fig, "r2")]


def _percentile(run: Run, prefix: str) -> float:
    """The authors' (unclipped) Q-percentile of a_beta at the first policy update, in %."""
    return 100 * value_at(run, prefix + PERCENTILES["unclipped (authors)"], run.update_start)


def r2_parts(groups: Groups, task: str) -> list[Entry]:
    """Like for like with the paper, whose fresh critic is trained on the behavioural data: the
    fresh critic after the warm-up (the frozen pretrained policy's rollouts) against the
    pretrained critic, both read in the same run at the first policy update with the authors'
    perturbations; their paired difference, and each against the paper's range."""
    plain = groups.get("plain", [])
    if not plain:
        return []
    fresh = per_run(plain, lambda r: _percentile(r, "probe/"))
    pre = per_run(plain, lambda r: _percentile(r, "probe/pretrained/"))
    gap = PAPER_PRETRAINED[0] - PAPER_FRESH[1]  # the smallest separation the paper's ranges give
    (a, b), (c, d) = PAPER_FRESH, PAPER_PRETRAINED
    return [
        effect("R2", f"{task} pretrained above fresh", "the pretrained critic ranks a_beta above "
               "the fresh critic trained on the behavioural data", iqm_of(pre - fresh), 0.0,
               "IQM of the paired difference pretrained - fresh (points)", paper=gap),
        in_range("R2", f"{task} fresh in {a}-{b}%", "the fresh critic ranks a_beta mid-way",
                 iqm_of(fresh), PAPER_FRESH, "fresh critic after the warm-up (%)"),
        in_range("R2", f"{task} pretrained in {c}-{d}%", "the pretrained critic ranks a_beta "
                 "near the top", iqm_of(pre), PAPER_PRETRAINED, "pretrained critic (%)"),
    ]  # fmt: skip


NEW_GRAD = "probe/grad_norm/behaviour/mean"
PRE_GRAD = "probe/pretrained/grad_norm/behaviour/mean"


def _new_grad(run: Run) -> float:
    """||dQ/da|| of the new critic at the first policy update (after the warm-up)."""
    return value_at(run, NEW_GRAD, run.update_start)


def _pre_grad(run: Run) -> float:
    """||dQ/da|| of the pretrained critic, on the behavioural probe states."""
    return value_at(run, PRE_GRAD, 0)


def r3(groups: Groups, img: Figures) -> list[str]:
    """Expert strength against ||dQ/da|| (new critic after the warm-up; pretrained critic)."""
    g = _pick(groups, ["plain", "moderate-expert"])
    rows = []
    for name, runs in g.items():
        rows.append([
            name,
            fmt(iqm_of([r.baseline for r in runs])),
            fmt(iqm_of(per_run(runs, _new_grad)), 3),
            fmt(iqm_of(per_run(runs, _pre_grad)), 3),
            fmt(iqm_of(_dips(runs))),
        ])  # fmt: skip
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, runs in g.items():
        ax.scatter(per_run(runs, _new_grad), _dips(runs), label=name)
    ax.set_xlabel("||dQ/da|| of the new critic at the first policy update")
    ax.set_ylabel("dip (R0 - lowest return)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    head = ("expert", "R0", "new critic ‖dQ/da‖", "pretrained critic ‖dQ/da‖", "dip")
    out = _table(head, rows)
    if len(g) == 2:
        out += ["", _better(g, "plain", "moderate-expert", _dips) + " (a deeper dip)"]
    return [*out, "", img.save(fig, "r3")]


def r3_parts(groups: Groups, task: str) -> list[Entry]:
    """The stronger expert (plain) against the weaker (moderate-expert): P(larger ||dQ/da||) of
    the pretrained critic and of the fresh one after the warm-up, and P(a deeper dip)."""
    if not {"plain", "moderate-expert"} <= set(groups):
        return []
    strong, weak = groups["plain"], groups["moderate-expert"]
    parts = [
        (f"{task} pretrained critic gradient", "pretrained critic", _pre_grad),
        (f"{task} fresh critic gradient", "fresh critic after the warm-up", _new_grad),
    ]
    out = [
        effect("R3", part, f"the stronger expert's {who} has the larger ||dQ/da||",
               p_better(per_run(strong, fn), per_run(weak, fn)), 0.5,
               "P(stronger expert's > weaker expert's)")
        for part, who, fn in parts
    ]  # fmt: skip
    out.append(effect("R3", f"{task} deeper dip", "the stronger expert's warm start drops "
                      "deeper", p_better(_dips(strong), _dips(weak)), 0.5,
                      "P(stronger expert's dip > weaker expert's)"))  # fmt: skip
    return [_compared(e, strong, weak) for e in out]


def pooled_cvar(runs: Sequence[Run], level: float = 0.95, seed: int = 0) -> Estimate:
    """The CVaR at `level` of the fine-tuning windows' evaluations pooled over seeds, with a 95%
    percentile-bootstrap interval that resamples whole seeds (REPS resamples, seeded)."""
    windows = [summary(r).window for r in runs]
    value = var_cvar(np.concatenate(windows), level)[1]
    if len(windows) < 2:
        return Estimate(value, float("nan"), float("nan"), len(windows))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(windows), size=(REPS, len(windows)))
    values = [var_cvar(np.concatenate([windows[i] for i in d]), level)[1] for d in draws]
    low, high = np.quantile(values, [0.025, 0.975])
    return Estimate(value, float(low), float(high), len(windows))


def r4(groups: Groups, img: Figures) -> list[str]:
    """CCL-PQD's alpha_start (and any other variant in the file) against plain: lowest return,
    pooled CVaR, mean return, and the Pareto front of dip against mean return."""
    others = ("plain", "actor-critic", "moderate-expert")  # R1-R3's variants
    names = ["plain", *sorted(n for n in groups if n not in others)]
    g = _pick(groups, names)
    rows, xs, ys = [], [], []
    for name, runs in g.items():
        pooled = sum(len(summary(r).window) for r in runs)
        means = _mean_return(runs)
        rows.append([
            name,
            fmt(iqm_of(_lowest(runs))),
            f"{fmt(pooled_cvar(runs))} ({pooled})",
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
    head = ("variant", "lowest return", "CVaR 95% (pooled evals; seeds resampled)",
            "mean return", "final return", "on the Pareto front")  # fmt: skip
    out = _table(head, rows)
    best = [n for n in g if n != "plain"]
    if "plain" in g and best:
        out += [""] + [_better(g, n, "plain", _lowest) + " (lowest return)" for n in best]
    return [*out, "", img.save(fig, "r4")]


def _lowest(runs: Sequence[Run]) -> np.ndarray:
    return per_run(runs, lambda r: dip(r).min_return)


def _mean_return(runs: Sequence[Run]) -> np.ndarray:
    return per_run(runs, lambda r: dip(r).mean_return)


CCL = "ccl-pqd-"  # R4's variants: CCL-PQD with alpha_start = the rest of the name


def r4_parts(groups: Groups, task: str) -> list[Entry]:
    """Each alpha_start against plain: P(a higher lowest return), the pooled CVaRs' intervals;
    and the trade-off of the paper's Fig. 7: P(the loosest alpha_start has a higher mean return
    than the tightest)."""
    plain = groups.get("plain", [])
    ccl = sorted((n for n in groups if n.startswith(CCL)), key=lambda n: float(n[len(CCL) :]))
    if not plain or not ccl:
        return []
    out = []
    for name in ccl:
        runs, alpha = groups[name], name[len(CCL) :]
        out += [
            effect("R4", f"lowest return {alpha}", "CCL-PQD raises the lowest return",
                   p_better(_lowest(runs), _lowest(plain)), 0.5,
                   f"P({name}'s lowest return > plain's)"),
            intervals("R4", f"CVaR {alpha}", "CCL-PQD raises the CVaR 95% of the returns",
                      (name, pooled_cvar(runs)), ("plain", pooled_cvar(plain))),
        ]  # fmt: skip
        out[-2:] = [_compared(e, runs, plain) for e in out[-2:]]
    tight, loose = groups[ccl[0]], groups[ccl[-1]]
    if len(ccl) > 1:
        trade = effect("R4", "looser constraint buys return", "loosening the constraint (a "
                       "larger alpha_start) buys mean return while fine-tuning",
                       p_better(_mean_return(loose), _mean_return(tight)), 0.5,
                       f"P({ccl[-1]}'s mean return > {ccl[0]}'s)")  # fmt: skip
        out.append(_compared(trade, loose, tight))
    return out


# ----------------------------------------------------------------------------- R5-R8


SPIRAL_WINDOW = 2_000  # R5: steps after the first policy update over which growth and shift
# are read, fixed before the runs (the dips come within 500 steps of it) and the same for every
# variant, so that the window does not depend on whether or when the return recovers


def _evidence(run: Run) -> Evidence:
    """The probe series as the diagnosis rules read them (docs/diagnosis.md), from the last
    probe before policy updates, over a window that ends SPIRAL_WINDOW steps after the first
    update instead of the rules' end at the return's recovery."""
    return Evidence(run.metrics, None, run.update_start, Thresholds(),
                    end=run.update_start + SPIRAL_WINDOW)  # fmt: skip


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


def _spiral(runs: Sequence[Run], name: str) -> np.ndarray:
    """One SPIRAL_KEYS column per run."""
    key, fn = SPIRAL_KEYS[name]
    return per_run(runs, lambda r: fn(r, key))


NO_DATA = {"no-data": "IQL", "cql-no-data": "CQL", "calql-no-data": "Cal-QL"}  # R5's spirals


def r5_parts(groups: Groups, task: str) -> list[Entry]:
    """Without the data, each algorithm's offline TD error and Q level against the online ones
    (paired: the same runs); then whether keeping the data or WSRL's warm-up shrinks IQL's."""
    out = []
    signature = (
        ("offline TD error outgrows online", "TD error growth", "growth"),
        ("offline Q moves more than online", "Q shift", "shift"),
    )
    for name, algo in NO_DATA.items():
        runs = groups.get(name, [])
        for part, column, what in signature if runs else ():
            gap = _spiral(runs, f"offline {column}") - _spiral(runs, f"online {column}")
            out.append(
                effect(
                    "R5",
                    f"{algo} {part}",
                    f"fine-tuned without its data, {algo}'s {part}",
                    iqm_of(gap),
                    0.0,
                    f"IQM of the paired difference of {what}, offline - online",
                )
            )
    spiral = groups.get("no-data", [])
    cures = (
        ("all-data", "kept data shrinks the dip", "keeping the offline data shrinks the dip"),
        ("warmup", "warm-up shrinks the dip", "WSRL's warm-up shrinks the dip"),
    )
    if spiral and "all-data" in groups:
        kept = groups["all-data"]
        growth = "offline TD error growth"
        slower = effect(
            "R5",
            "kept data slows offline TD error growth",
            "keeping the offline data slows the offline TD error's growth",
            p_better(_spiral(spiral, growth), _spiral(kept, growth)),
            0.5,
            "P(no data's offline TD error growth > all data's)",
        )
        out.append(_compared(slower, spiral, kept))
    for cure, part, says in cures:
        if spiral and cure in groups:
            out.append(_smaller_dip("R5", part, says, groups, cure, "no-data"))
    return out  # fmt: skip


def _normalised(run: Run) -> float:
    """D4RL's score of R0 against the dataset's references: 100 (R - random) / (expert - random)."""
    meta = read_metadata(str(run.config.pretrain.dataset))
    return normalised_score(run.baseline, meta["ref_min_score"], meta["ref_max_score"])


def _contamination(groups: Groups) -> dict[tuple[str, int], list[Run]]:
    """R6's runs by (method, % random episodes), from the grid's names
    `<method>-dataset=<...expert-random-<share>-v0>`."""
    out = {}
    for name, runs in sorted(groups.items()):
        method, _, dataset = name.partition("-dataset=")
        share = int(dataset.split("random-")[-1].split("-")[0]) if "random-" in dataset else 0
        out[(method, share)] = runs
    return out


def r6(groups: Groups, img: Figures) -> list[str]:
    """The offline agent (fine-tuning step 0): its return and its critic's action gradients."""
    rows, series = [], {}
    for (method, share), runs in _contamination(groups).items():
        grads = per_run(runs, _pre_grad)
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


PAPER_FAILED = (1, 30)  # the TD3BC++ paper's TD3+BC normalised scores on ER5 and ER7 (Table 1)
PENALTIES = {"gradient-penalty": "penalty", "td3bc-pp": "TD3BC++"}


def r6_parts(groups: Groups, task: str) -> list[Entry]:
    """TD3+BC's score at ER-50 and ER-70 against the paper's failure, its critic's gradients
    from ER-30 to ER-70, and each penalty's score against TD3+BC's at every contamination."""
    cells, out = _contamination(groups), []
    for share in (50, 70):
        if ("td3bc", share) in cells:
            score = iqm_of(per_run(cells[("td3bc", share)], _normalised))
            out.append(
                in_range(
                    "R6",
                    f"TD3+BC fails at ER-{share}",
                    "TD3+BC's normalised score "
                    f"falls to the paper's {PAPER_FAILED[0]}-{PAPER_FAILED[1]}",
                    score,
                    PAPER_FAILED,
                    "TD3+BC's normalised score",
                )
            )
    if ("td3bc", 30) in cells and ("td3bc", 70) in cells:
        grads = [per_run(cells[("td3bc", k)], _pre_grad) for k in (70, 30)]
        out.append(
            effect(
                "R6",
                "TD3+BC gradient grows with contamination",
                "TD3+BC's critic has larger ||dQ/da|| on ER-70 than on ER-30",
                p_better(*grads),
                0.5,
                "P(the action-gradient norm on ER-70 > on ER-30)",
            )
        )
    for method, label in PENALTIES.items():
        for share in (30, 50, 70):
            if (method, share) not in cells or ("td3bc", share) not in cells:
                continue
            a, b = cells[(method, share)], cells[("td3bc", share)]
            e = p_better(per_run(a, _normalised), per_run(b, _normalised))
            out.append(
                _compared(
                    effect(
                        "R6",
                        f"{label} raises the score at ER-{share}",
                        f"the {label} raises TD3+BC's normalised score",
                        e,
                        0.5,
                        f"P({method}'s score > td3bc's)",
                    ),
                    a,
                    b,
                )
            )
    return out  # fmt: skip


R7_BASE = ("td3-kept", "td3")  # R7's TD3 baseline: with the cure's offline data, else none
R7_CURES = ("td3-adaptive-bc", "redq-adaptive-bc")


def _r7_base(groups: Groups) -> str:
    return next((n for n in R7_BASE if n in groups), R7_BASE[-1])


def r7(groups: Groups, img: Figures) -> list[str]:
    """Every R7 variant's dip, and P(a smaller dip) of each cure against the TD3 baseline."""
    base = _r7_base(groups)
    g = _pick(groups, [*reversed(R7_BASE), *R7_CURES])
    out = _table(DIP_HEADER, _dip_rows(g))
    for cure in R7_CURES:
        if cure in g and base in g:
            out += ["", _better(g, cure, base, lambda runs: -_dips(runs)) + " (dip)"]
    return [*out, "", _curve_figure(g, img, "r7", "R7: TD3+BC -> TD3, AdaptiveBC, REDQ")]


def r7_parts(groups: Groups, task: str) -> list[Entry]:
    """REDQ+AdaptiveBC, and AdaptiveBC alone on TD3, against TD3 from the same TD3+BC agent with
    the same offline data kept (td3-kept; the older sweep's td3, which kept none, otherwise):
    P(a smaller dip), each with what else the two variants differ in."""
    base = _r7_base(groups)
    cures = (
        ("redq-adaptive-bc", "REDQ+AdaptiveBC smaller dip than TD3", "REDQ+AdaptiveBC does not "
         "collapse where TD3 fine-tuned from TD3+BC does"),
        ("td3-adaptive-bc", "AdaptiveBC alone smaller dip than TD3", "the AdaptiveBC controller "
         "alone, on TD3 with its 2 critics and UTD 1, shrinks TD3's dip"),
    )  # fmt: skip
    return [
        _smaller_dip("R7", part, says, groups, cure, base)
        for cure, part, says in cures
        if cure in groups and base in groups
    ]


def _first_reach(run: Run, level: float) -> float:
    steps, values = run.series("eval/return")
    hit = np.nonzero(values >= level)[0]
    return float(steps[hit[0]]) if len(hit) else float("nan")


LEARNS = 50.0  # R8: a seed learns the task when an evaluation reaches this many steps upright


def r8_parts(groups: Groups, task: str) -> list[Entry]:
    """Seeds that learn (an evaluation at LEARNS or more): JSRL against each scratch learner, by
    the one-sided exact test."""
    jsrl = groups.get("jsrl", [])
    if not jsrl:
        return []

    def learnt(runs: Sequence[Run]) -> int:
        return int(np.isfinite(per_run(runs, lambda r: _first_reach(r, LEARNS))).sum())

    out = []
    for base, label in (("td3-scratch", "TD3"), ("sac-scratch", "SAC")):
        if base in groups:
            runs = groups[base]
            entry = counts(
                "R8",
                f"JSRL learns more often than {label}",
                f"more JSRL seeds than {label}-from-scratch seeds reach {LEARNS:.0f} steps upright",
                ("jsrl", learnt(jsrl), len(jsrl)),
                (base, learnt(runs), len(runs)),
            )
            out.append(_compared(entry, jsrl, runs))
    return out  # fmt: skip


def r8(groups: Groups, img: Figures, level: float = LEARNS) -> list[str]:
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
Parts = Callable[[Groups, str], list[Entry]]


@dataclass(frozen=True)
class Sweep:
    """One reproduction sweep folder's claims: their sections and their parts (record entries,
    named after `task` where a claim runs on several tasks), and the prefix of its figures."""

    title: str
    sections: tuple[Section, ...]
    parts: tuple[Parts, ...]
    prefix: str = ""
    task: str = "Pendulum"


CLAIMS: dict[str, Sweep] = {
    "repro-pendulum-td3": Sweep(
        "R1-R4", (r1, r2, r3, r4), (r1_parts, r2_parts, r3_parts, r4_parts)
    ),
    "repro-inverted-pendulum-td3": Sweep(
        "R1-R2 on InvertedPendulum-v5", (r1, r2), (r1_parts, r2_parts), "ip-", "InvertedPendulum"
    ),
    "repro-halfcheetah-td3": Sweep(
        "R1-R3 on HalfCheetah-v5",
        (r1, r2, r3),
        (r1_parts, r2_parts, r3_parts),
        "hc-",
        "HalfCheetah",
    ),
    "repro-offline-spiral": Sweep("R5", (r5,), (r5_parts,)),
    "repro-td3bc-contamination": Sweep("R6", (r6,), (r6_parts,)),
    "repro-redq-adaptive-bc": Sweep("R7", (r7,), (r7_parts,)),
    "repro-jsrl-sparse": Sweep("R8", (r8,), (r8_parts,)),
}
