"""Figure 2: probe scalars over the online stage on a shared step axis, next to the return.

Panels (each drawn only when its keys were recorded): evaluation return with the baseline;
Q-percentile of the behavioural action (new and pretrained critic, 0.5 = no preference);
||dQ/da|| at behavioural, policy and random actions; TD error and Q level on the behavioural
set vs recent buffer (online) transitions; KL drift from the pretrained policy;
divergence from dataset actions per label; controllers (SAC's alpha, and every `mitigation/*`
key a mitigation records).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from wsdiag import probe_keys as keys
from wsdiag.analysis.fmt import num
from wsdiag.analysis.run import PhaseSpan, Run
from wsdiag.report.style import (
    new_figure,
    phase_handles,
    save,
    shade_phases,
    step_axis,
    styled,
)

Curve = tuple[np.ndarray, np.ndarray]
CONTROLLER_KEYS = ("train/alpha",)


@dataclass(frozen=True)
class Panel:
    title: str
    ylabel: str
    lines: tuple[tuple[str, str], ...]  # (metric key or key prefix ending in "/", legend label)
    scale: str = "linear"  # linear | log | symlog
    hline: float | None = None
    ylim: tuple[float, float] | None = None


def panels(divergence_q: float = 75.0) -> tuple[Panel, ...]:
    """The panels, each naming the metric keys it draws (read from the registry when called)."""
    m, mean = keys.metric, keys.MEAN
    return (
        Panel("Evaluation return", "return", (("eval/return", "evaluation return"),)),
        Panel(
            "Q-percentile of the behavioural action",
            "P(s), mean over states",
            (
                (m(keys.Q_PERCENTILE), "new critic, local perturbations"),
                (m(keys.Q_PERCENTILE_UNIFORM), "new critic, uniform actions"),
                (m(keys.pretrained(keys.Q_PERCENTILE)), "pretrained critic, local"),
            ),
            hline=0.5,
            ylim=(0.0, 1.0),
        ),
        Panel(
            "Action gradient ||dQ/da||",
            "L2 norm, mean over states",
            (
                (m(keys.stat(keys.GRAD_NORM_BEHAVIOUR, mean)), "at a_β (behavioural action)"),
                (m(keys.stat(keys.GRAD_NORM_POLICY, mean)), "at π(s)"),
                (m(keys.stat(keys.GRAD_NORM_RANDOM, mean)), "at random actions"),
                (
                    m(keys.stat(keys.pretrained(keys.GRAD_NORM_BEHAVIOUR), mean)),
                    "pretrained critic at a_β",
                ),
            ),
            scale="log",
        ),
        Panel(
            "TD error |Q − target|",
            "mean absolute TD error",
            (
                (m(keys.TD_ERROR_BEHAVIOUR), "behavioural set"),
                (m(keys.TD_ERROR_ONLINE), "online (recent transitions)"),
            ),
            scale="log",
        ),
        Panel(
            "Q level",
            "mean Q(s, a)",
            (
                (m(keys.Q_BEHAVIOUR), "behavioural set"),
                (m(keys.Q_ONLINE), "online (recent transitions)"),
            ),
        ),
        Panel(
            "Policy drift from the pretrained policy",
            "KL(π_pre ‖ π) [nats]",
            (
                (m(keys.KL_BEHAVIOUR), "behavioural states"),
                (m(keys.KL_ONLINE), "online states"),
            ),
            scale="symlog",
        ),
        Panel(
            "Divergence from dataset actions",
            f"{divergence_q:g}th pct of ||π(s) − a||²",
            ((m(keys.DIVERGENCE.prefix), ""),),
        ),
        Panel(
            "Controllers",
            "value",
            (("mitigation/", ""), *((k, k.split("/")[-1]) for k in CONTROLLER_KEYS)),
        ),
    )


def _lines(panel: Panel, series: Mapping[str, Curve]) -> list[tuple[str, Curve]]:
    found = []
    for key, label in panel.lines:
        if key.endswith("/"):
            found += [
                (f"{label}{k[len(key) :]}", series[k])
                for k in sorted(series)
                if k.startswith(key) and len(series[k][0])
            ]
        elif key in series and len(series[key][0]):
            found.append((label, series[key]))
    return found


def _scale(ax: Axes, panel: Panel, lines: list[tuple[str, Curve]]) -> None:
    values = np.concatenate([v for _, (_, v) in lines])
    values = values[np.isfinite(values)]
    if panel.scale == "linear" or len(values) == 0 or np.ptp(values) == 0:
        pass
    elif (values > 0).all() and values.max() / values.min() < 10:
        pass  # within a decade a linear axis reads better
    elif panel.scale == "log" and (values > 0).all():
        ax.set_yscale("log")
    else:
        positive = np.abs(values[values != 0])
        low = max(positive.min(), positive.max() * 1e-3) if len(positive) else 1.0
        ax.set_yscale("symlog", linthresh=10 ** np.floor(np.log10(low)))  # a decade: clean ticks
    if panel.ylim:
        ax.set_ylim(*panel.ylim)


def _look(label: str) -> dict[str, str]:
    """Same meaning, same look in every panel: behavioural blue, online orange, pretrained grey."""
    if "pretrained" in label:
        return {"color": "#555555", "linestyle": "--"}
    if label.startswith("behaviour"):
        return {"color": "#1f77b4"}
    if label.startswith("online"):
        return {"color": "#ff7f0e"}
    return {}


def series_of(run: Run) -> dict[str, Curve]:
    """Every online-stage metric of a run as (steps, values)."""
    return {key: run.series(key) for key in run.keys}


@styled
def plot_probe_series(
    series: Mapping[str, Curve],
    path: Path,
    *,
    phases: Sequence[PhaseSpan] = (),
    update_start: int | None = None,
    baseline: float | None = None,
    divergence_q: float = 75.0,
    title: str = "Probes over the online stage",
) -> Path:
    """One panel per probe family with data (module docstring); phases shaded in each."""
    chosen = [(p, lines) for p in panels(divergence_q) if (lines := _lines(p, series))]
    cols = 2
    rows = max(1, -(-len(chosen) // cols))
    fig = new_figure(13, 2.9 * rows + 0.8)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel()
    for ax, (panel, lines) in zip(axes, chosen, strict=False):
        shade_phases(ax, phases, update_start=update_start)
        for label, (steps, values) in lines:
            ax.plot(steps, values, marker=".", linewidth=1.6, label=label, **_look(label))
        if panel.hline is not None:
            ax.axhline(panel.hline, color="black", linestyle=":", linewidth=1.0)
        if panel.title == "Evaluation return" and baseline is not None:
            ax.axhline(baseline, color="#d62728", linestyle=":", linewidth=1.4)
            ax.plot([], [], color="#d62728", linestyle=":", label=f"baseline R0 = {num(baseline)}")
        _scale(ax, panel, lines)
        ax.set_title(panel.title, loc="left")
        ax.set_ylabel(panel.ylabel)
        ax.legend(loc="best")
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    for ax in axes:
        step_axis(ax, label=False)
    for ax in axes[max(0, len(chosen) - cols) : len(chosen)]:  # the lowest panel of each column
        ax.set_xlabel("environment steps since the warm start")
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.legend(handles=phase_handles(phases), loc="outside lower center", ncol=4)
    fig.suptitle(title)
    return save(fig, path)
