"""report.html: one self-contained page (figures embedded as data URIs, inline CSS, no scripts,
no network), readable from disk in any browser."""

from __future__ import annotations

import base64
import dataclasses
from html import escape

from wsdiag import __version__
from wsdiag.analysis.diagnose import FIRED, NA
from wsdiag.analysis.summary import RunSummary
from wsdiag.report.counterfactual import confirmation_text
from wsdiag.report.figures import FigureFile
from wsdiag.report.formats import MIME
from wsdiag.report.model import Report
from wsdiag.report.tables import (
    AGGREGATE_NOTE,
    SAFETY_NOTE,
    TAIL_NOTE,
    Table,
    aggregate_table,
    findings_table,
    group_safety_table,
    group_table,
    key_table,
    safety_rows,
)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1400px; padding: 0 1.5em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em;
       margin-top: 2em; } h3 { margin-top: 1.6em; }
.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-size: 1.08em; padding: 0.6em 0.9em; border-left: 5px solid #999;
       background: #f7f7f7; } .verdict.bad { border-color: #d62728; background: #fdf0f0; }
.verdict.ok { border-color: #2ca02c; background: #f0f8ef; }
.fired { color: #b0171f; font-weight: bold; } .clear { color: #2b7a2b; } .na { color: #888; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; margin-top: 0.3em; }
.warn { color: #8a5a00; background: #fff6e0; padding: 0.5em 0.8em; }
"""


def _table(table: Table, numeric_from: int = 1) -> str:
    headers, rows = table
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(report: Report, fig: FigureFile) -> str:
    data = base64.b64encode((report.out / fig.path).read_bytes()).decode("ascii")
    mime = MIME[fig.path.suffix.lstrip(".")]
    return (
        f'<figure><img alt="{escape(fig.title)}" src="data:{mime};base64,{data}">'
        f"<figcaption><b>{escape(fig.title)}</b> ({escape(fig.path.as_posix())}). "
        f"{escape(fig.caption)}</figcaption></figure>"
    )


def _diagnosis(s: RunSummary) -> str:
    d = s.diagnosis
    kind = "bad" if d.significant else "ok"
    parts = [f'<p class="verdict {kind}">{escape(d.verdict)}</p>']
    headers, rows = findings_table(s)
    cls = {FIRED: "fired", NA: "na"}
    body = "".join(
        f"<tr><td>{escape(c)}</td><td class='{cls.get(st, 'clear')}'>{escape(st)}</td>"
        f"<td>{escape(ev)}</td></tr>"
        for c, st, ev in rows
    )
    head = "".join(f"<th>{h}</th>" for h in headers)
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    for f in d.causes:
        items = "".join(f"<li>{escape(m)}</li>" for m in f.mitigations)
        parts.append(f"<p><b>Against {escape(f.title)}</b>, wsdiag offers:</p><ul>{items}</ul>")
    if s.r_random is not None:
        parts.append(f"<p class='meta'>R_random = {s.r_random:.4g} ({s.r_random_source}).</p>")
    return "".join(parts)


def _run_section(report: Report, s: RunSummary) -> str:
    run = s.run
    parts = [
        f'<h2 id="{escape(run.name)}">{escape(run.name)}</h2>',
        f"<p class='meta'>{escape(str(run.path))} · {escape(run.config.finetune.algo)} on "
        f"{escape(run.config.env.id)} · warm start loads {escape(', '.join(run.warm_start_parts))}"
        f" · warm-up {run.config.warmstart.warmup_steps} steps, freeze "
        f"{run.config.warmstart.freeze_policy_steps}, {run.config.finetune.steps} online steps"
        "</p>",
        "<h3>Diagnosis</h3>",
        _diagnosis(s),
    ]
    confirmation = report.confirmations.get(run.name)
    if confirmation is not None:
        verdict, items = confirmation_text(confirmation)
        kind = "ok" if confirmation.confirmed else "bad"
        parts += ["<h3>Confirmation (wsdiag diagnose --confirm)</h3>",
                  f'<p class="verdict {kind}">{escape(verdict)}</p>',
                  "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"]  # fmt: skip
    safety = safety_rows(s.safety)
    if safety is not None:
        parts += [
            "<h3>Safety table (evaluations after the warm-up)</h3>",
            _table(safety),
            "<p class='meta'>VaR/CVaR at level c: the (1 − c)-quantile of the series and the "
            "mean of the values at or below it (lower tail); <i>returns</i>: the evaluation "
            f"returns, <i>differences</i>: their step-to-step changes; {escape(TAIL_NOTE)}.</p>",
        ]
    if not run.probe_steps:
        parts.append("<p class='meta'>No probe files: probe figures skipped.</p>")
    parts += [_figure(report, f) for f in report.run_figures.get(run.name, [])]
    return "".join(parts)


def render_html(report: Report) -> str:
    names = ", ".join(s.run.name for s in report.summaries)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>wsdiag report: {escape(names)}</title><style>{CSS}</style></head><body>",
        "<h1>wsdiag report</h1>",
        f"<p class='meta'>{len(report.summaries)} run(s): {escape(names)} · wsdiag "
        f"{__version__} · {escape(report.created)}</p>",
    ]
    parts += [f"<p class='warn'>{escape(w)}</p>" for w in report.warnings]
    parts += ["<h2>Degradation</h2>", _table(key_table(report.summaries))]
    parts.append(
        "<p class='meta'>t0: the first step at which the new agent acts (end of the warm-up). "
        "Definitions: docs/metrics.md.</p>"
    )
    groups = group_table(report.groups, report.by_name)
    safety = group_safety_table(report.groups, report.by_name)
    if groups is not None:
        parts += ["<h3>Across seeds: mean [95% bootstrap CI]</h3>", _table(groups, 2)]
        aggregates = aggregate_table(report.stats)
        if aggregates is not None:
            parts += ["<h3>Across seeds: IQM and probability of improvement</h3>"]
            parts += [_table(aggregates, 2), f"<p class='meta'>{escape(AGGREGATE_NOTE)}</p>"]
        parts += ["<h3>Across seeds: safety, seeds pooled</h3>", _table(safety, 2)]
        parts.append(f"<p class='meta'>{escape(SAFETY_NOTE)}</p>")
    parts.append("<h2>Verdicts</h2><ul>")
    parts += [
        f"<li><a href='#{escape(s.run.name)}'>{escape(s.run.name)}</a>: "
        f"{escape(s.diagnosis.verdict)}</li>"
        for s in report.summaries
    ]
    parts.append("</ul>")
    parts += [_figure(report, f) for f in report.overview]
    parts += [_run_section(report, s) for s in report.summaries]
    thresholds = [
        [f"diagnose.{k}", str(v)] for k, v in dataclasses.asdict(report.thresholds).items()
    ]
    parts += [
        "<h2>Thresholds</h2>",
        _table((["setting", "value"], thresholds)),
        "</body></html>",
    ]
    return "\n".join(parts)
