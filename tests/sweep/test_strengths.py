"""Interventions at several strengths: the table's `strengths`, the variants `--strengths all`
plans (one per strength, on the same seeds), each strength's sign test at 5% / m in
`confirm_run`, and the option from the command line to `confirm_run`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import one_line_error, tiny_config
from wsdiag.analysis.confirm import Confirmation, Intervention, share_removed
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.cli.main import app
from wsdiag.config import to_dict
from wsdiag.errors import WsdiagError
from wsdiag.sweep.counterfactual import (
    ORIGINAL,
    at_strengths,
    choose,
    load_interventions,
    plan_counterfactuals,
    relative_values,
)

runner = CliRunner()


def test_the_table_gives_strengths_to_the_interventions_that_have_one(tmp_path: Path) -> None:
    """Each entry with a strength lists two, its own first (no `set`: the entry as written)."""
    table = load_interventions()
    with_strengths = {(cause, e["label"]): e["strengths"] for cause, entries in table.items()
                      for e in entries if "strengths" in e}  # fmt: skip
    assert {cause for cause, _ in with_strengths} == {"extrapolation", "gradient", "spiral",
                                                      "update", "drift"}  # fmt: skip
    for strengths in with_strengths.values():
        assert len(strengths) == 2 and "set" not in strengths[0] and strengths[1]["set"]
    assert table["update"][0]["strengths"][1]["set"] == {"mitigation.lr_scale.scale": 0.01}
    assert table["gradient"][0]["strengths"][1]["set"] == {"mitigation.gradient_penalty.weight": 5}
    assert table["drift"][0]["strengths"][1]["set"] == {"mitigation.bc_penalty.alpha": 1.0}
    bad = tmp_path / "bad.toml"
    head = '[[drift]]\nlabel = "x"\nset = { "mitigation.name" = "bc_penalty" }\n'
    refused = {
        'strengths = [{ label = "a", set = { "seed" = 1 } }]': "the first strength is the entry",
        'strengths = [{ label = "a" }, { label = "b" }]': "strength 'b' sets nothing",
        'strengths = [{ label = "a", weight = 2 }]': r"a label and a set table \(not weight\)",
        'strengths = [{ set = { "seed" = 1 } }]': "each strength has a label and a set",
        'strengths = "strong"': "strengths must be a list of tables",
    }
    for line, message in refused.items():
        bad.write_text(head + line + "\n")
        with pytest.raises(WsdiagError, match=message):
            load_interventions(bad)


def test_every_strength_is_a_variant_of_its_own_with_its_overrides() -> None:
    """`all`: the chosen entry at each strength, the first under the cause's own name (the
    candidate `choose` gives), the k-th as '<cause>-<k>' with the strength's overrides over
    the entry's; `first`: the first alone."""
    table = load_interventions()
    config = tiny_config(warmstart={"load": ["actor", "critic"]})  # warm-up 100, a freeze of 50
    raw = to_dict(config)
    drift = choose("drift", table["drift"], config, raw)
    assert at_strengths(drift, config, raw) == [drift]
    weak, strong = at_strengths(drift, config, raw, "all")
    assert weak == drift and weak.variant == "drift"
    assert weak.overrides == {"mitigation.name": "bc_penalty"}
    assert weak.label == "a BC penalty towards pi_pre, alpha 0.1"
    assert strong.variant == "drift-2" and strong.label == "a BC penalty towards pi_pre, alpha 1"
    assert strong.overrides == {"mitigation.name": "bc_penalty", "mitigation.bc_penalty.alpha": 1.0}
    assert strong.config is not None and strong.config.mitigation.params.alpha == 1.0
    longer = choose("extrapolation", table["extrapolation"], config, raw)
    x4, x8 = at_strengths(longer, config, raw, "all")
    assert (x4.variant, x8.variant) == ("extrapolation", "extrapolation-2")
    assert x4.overrides == {"warmstart.warmup_steps": 400, "finetune.steps": 700}
    assert x8.overrides == {"warmstart.warmup_steps": 800, "finetune.steps": 1100}
    lr = at_strengths(choose("update", table["update"], config, raw), config, raw, "all")
    assert [c.config.mitigation.params.scale for c in lr if c.config] == [0.1, 0.01]
    with pytest.raises(WsdiagError, match="--strengths must be one of first, all, got 'most'"):
        at_strengths(drift, config, raw, "most")
    # a multiple of a float field stays a float; of an integer field, an integer
    assert relative_values(config, {"finetune.actor_lr": "x0.5", "warmstart.warmup_steps": "x1.5"}
                           ) == [("finetune.actor_lr", config.finetune.actor_lr * 0.5),
                                 ("warmstart.warmup_steps", 150)]  # fmt: skip


def test_a_later_strength_that_changes_nothing_or_is_refused_is_skipped(tmp_path: Path) -> None:
    """Whether the entry applies is its first strength's to say; a later one that the run
    already has, or that the config check refuses, is skipped with the reason."""
    path = tmp_path / "table.toml"
    path.write_text('[[extrapolation]]\nlabel = "a warm-up"\n'
                    'set = { "warmstart.warmup_steps" = 300 }\n'
                    'strengths = [{ label = "300" }, { label = "100", set = '
                    '{ "warmstart.warmup_steps" = 100 } }, { label = "-1", set = '
                    '{ "warmstart.warmup_steps" = -1 } }]\n')  # fmt: skip
    entries = load_interventions(path)["extrapolation"]
    config = tiny_config()  # a warm-up of 100 steps
    first = choose("extrapolation", entries, config, to_dict(config))
    longer, same, refused = at_strengths(first, config, to_dict(config), "all")
    assert longer.label == "a warm-up, 300" and not longer.skipped
    assert same.variant == "extrapolation-2" and same.skipped == "the run already has it"
    assert refused.variant == "extrapolation-3" and "warmup_steps" in str(refused.skipped)
    assert refused.config is None and not refused.overrides


def test_the_plan_with_every_strength_runs_each_on_the_same_seeds(tiny_run: Path) -> None:
    plan, candidates = plan_counterfactuals(tiny_run, seeds=2, causes=["drift", "update"],
                                            strengths="all")  # fmt: skip
    assert [c.variant for c in candidates] == ["drift", "drift-2", "update", "update-2"]
    jobs = {j.name: j for j in plan.jobs}
    assert sorted(jobs) == ["drift-2-seed3", "drift-2-seed4", "drift-seed3", "drift-seed4",
                            f"{ORIGINAL}-seed4", "update-2-seed3", "update-2-seed4",
                            "update-seed3", "update-seed4"]  # fmt: skip
    assert jobs["drift-seed3"].config.mitigation.params.alpha == 0.1
    assert jobs["drift-2-seed3"].config.mitigation.params.alpha == 1.0
    assert jobs["update-2-seed4"].config.mitigation.params.scale == 0.01
    assert jobs["update-2-seed4"].config.seed == jobs["update-seed4"].config.seed == 4
    # a stronger policy-side mitigation still starts where policy updates begin, on seed 4
    # from the original's rerun (the pairing of every strength)
    assert jobs["drift-2-seed4"].branch_from == jobs[f"{ORIGINAL}-seed4"].run_dir
    assert jobs["drift-2-seed4"].deps == (f"{ORIGINAL}-seed4",)
    default, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift", "update"])
    assert sorted(j.name for j in default.jobs) == ["drift-seed3", "drift-seed4",
                                                     f"{ORIGINAL}-seed4", "update-seed3",
                                                     "update-seed4"]  # fmt: skip
    assert [j.config for j in default.jobs] == [jobs[j.name].config for j in default.jobs]


def _item(candidate: Any, share: float, n: int, alpha: float) -> Intervention:
    original, after = [100.0] * n, [100.0 * (1.0 - share)] * n
    shares = share_removed(np.array(original), np.array(after))
    return Intervention(candidate.cause, candidate.label, {}, list(range(n)), original, after,
                        shares, variant=candidate.variant, alpha=alpha)  # fmt: skip


def _confirm(
    monkeypatch: pytest.MonkeyPatch, run_dir: Path, measure: Any, **options: Any
) -> Confirmation | None:
    """`confirm_run` of drift and update at every strength on 5 seeds, nothing run: each
    variant measured by `measure`, nothing saved or drawn."""
    import wsdiag.sweep.confirm as confirm

    monkeypatch.setattr(confirm, "_run_jobs", lambda *args: None)
    monkeypatch.setattr(confirm, "stop_when_decided", lambda part, *args: (part, None))
    monkeypatch.setattr(confirm, "measure", measure)
    monkeypatch.setattr(confirm, "draw", lambda *args: None)
    monkeypatch.setattr(Confirmation, "save", lambda self, folder: folder)
    return confirm.confirm_run(
        run_dir, thresholds=Thresholds(), seeds=5, causes=["drift", "update"],
        interventions=None, jobs=1, backend="local", address=None, threads=1, dry_run=False,
        console=Console(file=io.StringIO()), strengths="all", **options,
    )  # fmt: skip


def test_each_strength_is_tested_at_5_percent_over_m_and_the_cause_combines_them(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stand-ins for the runs: drift's default strength removes 10% of every seed's dip, its
    stronger one 90%. At 2.5% each, 5 seeds decide neither; at 6 seeds the stronger confirms
    (6 of 6) and the weaker refutes: drift is confirmed. Update's two strengths both remove
    10%: refuted. The no-op control, alone of its kind, keeps 5%."""
    shares = {"drift": 0.1, "drift-2": 0.9, "update": 0.1, "update-2": 0.1, "noop": 0.0}
    looked: list[tuple[str, int, float]] = []

    def measure(plan, original, candidate, looks, horizon, alpha) -> Intervention:
        n = len(plan.spec.seeds)
        looked.append((candidate.variant, n, alpha))
        return _item(candidate, shares[candidate.variant], n, alpha)

    result = _confirm(monkeypatch, tiny_run, measure, control=True)
    assert result is not None
    assert looked[:5] == [("update", 5, 0.025), ("update-2", 5, 0.025), ("drift", 5, 0.025),
                          ("drift-2", 5, 0.025), ("noop", 5, 0.05)]  # fmt: skip
    assert {v for v, n, _ in looked if n == 6} == {"update", "update-2", "drift", "drift-2"}
    assert max(n for _, n, _ in looked) == 6  # every strength decided at 6 seeds
    assert result.outcomes == {"update": "refuted", "drift": "confirmed"}
    assert result.control is not None and result.control.outcome(0.5) == "refuted"
    assert result.truth == "drift" and result.confirmed.variant == "drift-2"
    assert [i.variant for i in result.interventions] == ["update", "update-2", "drift",
                                                         "drift-2", "noop"]  # fmt: skip


def test_until_confirmed_stops_a_causes_other_strengths_once_one_confirms(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Update's stronger strength confirms at 6 seeds while its default is undecided (3 of 5
    seeds below, which no seed up to the 10th could decide at 2.5%, so it gets no 6th): the
    cause is confirmed and drift is not run."""
    looked: list[tuple[str, int]] = []

    def measure(plan, original, candidate, looks, horizon, alpha) -> Intervention:
        n = len(plan.spec.seeds)
        looked.append((candidate.variant, n))
        if candidate.variant == "update":
            after = [10.0, 10.0, 90.0, 90.0, 90.0, 90.0, 10.0, 10.0, 10.0, 10.0][:n]
            return Intervention("update", "u", {}, list(range(n)), [100.0] * n, after,
                                share_removed(np.array([100.0] * n), np.array(after)),
                                variant="update", alpha=alpha)  # fmt: skip
        return _item(candidate, 0.9, n, alpha)

    result = _confirm(monkeypatch, tiny_run, measure, until_confirmed=True)
    assert result is not None and result.truth == "update"
    assert looked == [("update", 5), ("update-2", 5), ("update-2", 6)]
    assert result.outcomes == {"update": "confirmed"}
    assert result.interventions[0].outcome(0.5) == "inconclusive"
    assert [i.skipped for i in result.interventions[2:]] == [
        "not run: large first policy updates was confirmed first"
    ] * 2


def test_the_command_line_option_reaches_confirm_run(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--strengths all` is passed on (`first` by default), listed per variant by --dry-run,
    refused in one line when unknown or without --confirm."""
    import wsdiag.sweep.confirm as confirm

    passed: list[str] = []
    monkeypatch.setattr(confirm, "confirm_run", lambda *a, **k: passed.append(k["strengths"]))
    base = ["diagnose", str(tiny_run), "--confirm", "--force"]
    assert runner.invoke(app, [*base, "--strengths", "all"]).exit_code == 0
    assert runner.invoke(app, base).exit_code == 0
    assert passed == ["all", "first"]
    one_line_error(runner.invoke(app, [*base, "--strengths", "most"]), 2,
                   "--strengths must be one of first, all, got 'most'")  # fmt: skip
    one_line_error(runner.invoke(app, ["diagnose", str(tiny_run), "--strengths", "all"]), 2,
                   "--strengths is an option of --confirm")  # fmt: skip
    monkeypatch.undo()
    dry = runner.invoke(app, [*base, "--dry-run", "--seeds", "2", "--causes", "drift,update",
                              "--strengths", "all"])  # fmt: skip
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "drift-2: a BC penalty towards pi_pre, alpha 1: {'mitigation.name': 'bc_penalty', " \
           "'mitigation.bc_penalty.alpha': 1.0} (from the original's state" in text  # fmt: skip
    assert "update-2: the actor's learning rate scaled down, to 0.01 of it" in text
    assert "9 run(s) on 2 seeds" in text  # 4 variants on seeds 3 and 4, the original on 4
