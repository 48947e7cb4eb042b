"""Confirmation by counterfactual runs: the arithmetic on synthetic dips, the interventions table,
the counterfactual plan, and a tiny real `wsdiag diagnose --confirm` on Pendulum-v1."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import one_line_error, tiny_config
from wsdiag.analysis.confirm import (
    CONTROL,
    Confirmation,
    Intervention,
    load_confirmation,
    share_removed,
)
from wsdiag.analysis.evidence import WarmStart
from wsdiag.analysis.run import load_run
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.cli.main import app
from wsdiag.config import dump_config, load_config, replace, to_dict
from wsdiag.errors import WsdiagError
from wsdiag.rundir import AGENT_FILE, BUFFER_FILE, EVENTS_FILE, is_complete, read_events
from wsdiag.sweep.counterfactual import (
    CONTROL_SEED_OFFSET,
    ORIGINAL,
    choose,
    load_interventions,
    plan_counterfactuals,
    pretrained_path,
    relative_values,
)

runner = CliRunner()


def test_share_removed_by_hand() -> None:
    whole = share_removed(np.array([100.0, 200.0, 300.0]), np.zeros(3))
    assert (whole.share, whole.low, whole.high, whole.n) == (1.0, 1.0, 1.0, 3)
    none = share_removed(np.array([100.0, 200.0]), np.array([100.0, 200.0]))
    assert none.share == 0.0 and none.low == none.high == 0.0
    half = share_removed(np.array([100.0, 200.0]), np.array([50.0, 100.0]))  # same in every pair
    assert half.share == pytest.approx(0.5) and half.low == pytest.approx(0.5)
    # 1 - (10 + 90) / (100 + 100): one seed helped, one did not
    mixed = share_removed(np.array([100.0, 100.0]), np.array([10.0, 90.0]))
    assert mixed.share == pytest.approx(0.5)
    assert mixed.low == pytest.approx(0.1) and mixed.high == pytest.approx(0.9)
    assert np.isnan(share_removed(np.zeros(2), np.zeros(2)).share)  # no dip to remove
    assert np.isnan(share_removed(np.array([5.0]), np.array([1.0])).low)  # one seed: no interval


def _item(cause: str, original: list[float], after: list[float]) -> Intervention:
    share = share_removed(np.array(original), np.array(after))
    seeds = list(range(len(original)))
    return Intervention(cause, f"{cause} fix", {}, seeds, original, after, share)


def test_the_earliest_confirmed_cause_is_named(tmp_path: Path) -> None:
    five = [100.0] * 5
    items = [
        _item("drift", five, [0, 10, 5, 0, 20]),
        _item("extrapolation", five, [20, 10, 30, 20, 20]),
        _item("gradient", five, [100, 90, 110, 100, 95]),
        Intervention("spiral", "", {}, [], [], [], skipped="not pretrained on a dataset"),
    ]
    result = Confirmation(items, min_share=0.5)
    assert result.confirmed is not None and result.confirmed.cause == "extrapolation"
    assert result.verdict().startswith("confirmed: critic extrapolation (its intervention")
    assert "5 of 5 seeds removed >= 50% (sign test p = 0.031, level 0.031)" in result.verdict()
    assert not items[2].confirmed(0.5) and "not tested" in items[3].sentence()
    result.save(tmp_path)
    again = load_confirmation(tmp_path)
    assert again is not None and again.verdict() == result.verdict()
    unsure = Confirmation([_item("gradient", five, [0, 120, 0, 0, 0])], min_share=0.5)
    assert unsure.confirmed is None and unsure.truth == "inconclusive"
    assert unsure.verdict() == ("inconclusive: no intervention confirmed; more seeds would "
                                "decide whether these remove 50% of the dip: steep critic "
                                "(large action gradients) 4 of 5 seeds removed >= 50% (sign "
                                "test p = 0.19, level 0.031)")  # fmt: skip
    three = Confirmation([_item("drift", [100] * 3, [0, 0, 0])], 0.5)
    assert three.confirmed is None and three.truth == "inconclusive"  # 3 seeds never decide


def test_the_sign_test_decides_by_counts_against_a_sequence_level() -> None:
    """P(Bin(n, 1/2) >= k) by hand; seeds 5 to 10 looked at one by one keep the whole sequence's
    error under 5% with a per-look level of 1/32: 5/5, 8/8, 8/9 or 9/10 decide."""
    from wsdiag.analysis.confirm import decide
    from wsdiag.analysis.sign_test import binom_tail, look_level, sequence_error

    assert binom_tail(5, 5) == 1 / 32 and binom_tail(10, 9) == 11 / 1024
    assert binom_tail(3, 3) == 1 / 8 and binom_tail(4, 0) == 1.0
    assert look_level(5, 10) == 1 / 32 and sequence_error(5, 10, 1 / 32) == pytest.approx(
        0.041, abs=1e-3
    )
    assert look_level(5, 5) == 1 / 32 and look_level(3, 3) == 0.0
    assert decide([100.0] * 5, [10.0] * 5, 0.5)[0] == "confirmed"
    assert decide([100.0] * 5, [90.0] * 5, 0.5)[0] == "refuted"  # 5 of 5 below 50%
    assert decide([100.0] * 5, [10, 10, 10, 10, 90], 0.5)[0] == "inconclusive"
    nine = [10.0] * 9 + [90.0]
    assert decide([100.0] * 10, nine, 0.5)[0] == "confirmed"  # 9 of 10: p = 11/1024
    eight = [10.0] * 8 + [90.0] * 2
    assert decide([100.0] * 10, eight, 0.5)[0] == "inconclusive"  # p = 56/1024 > 1/32
    assert decide([0.0] * 5 + [100.0], [0.0] * 5 + [0.0], 0.5)[0] == "inconclusive"  # 1 dip


def test_a_test_no_seed_up_to_the_last_can_decide_is_left_undecided() -> None:
    """Level 1/32 for 5 to 10 seeds: 5/5, 6/6, 7/7, 8/8, 8/9 and 9/10 on one side decide. From 4
    above and 1 below, four more above reach 8/9, three reach nothing; from 3 and 2 (or 5 and 2)
    nothing does; from 5 and 1, three more reach 8/9, two do not."""
    from wsdiag.analysis.sign_test import decidable

    assert decidable(4, 1, 4, 5, 10) and not decidable(4, 1, 3, 5, 10)
    assert not decidable(3, 2, 5, 5, 10) and not decidable(5, 2, 3, 5, 10)
    assert decidable(5, 1, 3, 5, 10) and not decidable(5, 1, 2, 5, 10)
    assert decidable(0, 0, 5, 5, 10) and not decidable(0, 0, 4, 5, 10)  # 5 of 5 at the first
    assert decidable(3, 2, 15, 5, 20)  # more seeds allowed: 15 more can decide (18/20)
    assert not decidable(3, 2, 5, 5, 10, alpha=0.05 / 2)  # a stricter level never helps


def test_an_intervention_is_refuted_only_when_its_interval_lies_below_the_share() -> None:
    """The earlier bootstrap rule, kept for the records judged by it: confirmed: s >= 0.5 and
    the lower end > 0; refuted: two seeds or more and the upper end < 0.5; otherwise
    inconclusive. The truth is "none" only when every tested one is refuted."""
    from wsdiag.analysis.confirm import Share, outcome, truth_of

    assert outcome(Share(0.2, 0.13, 0.31, 3), 0.5) == "refuted"
    assert outcome(Share(0.47, 0.36, 0.59, 3), 0.5) == "inconclusive"
    assert outcome(Share(0.2, float("nan"), float("nan"), 1), 0.5) == "inconclusive"
    assert outcome(Share(0.6, float("nan"), float("nan"), 1), 0.5) == "confirmed"
    assert outcome(Share(0.6, -0.1, 0.9, 3), 0.5) == "inconclusive"
    assert outcome(None, 0.5) == "inconclusive"
    assert truth_of({"drift": "confirmed", "extrapolation": "confirmed"}) == "extrapolation"
    assert truth_of({"drift": "refuted", "update": "inconclusive"}) == "inconclusive"
    assert truth_of({"drift": "refuted"}) == truth_of({}) == "none"


def test_a_run_whose_every_intervention_is_refuted_has_no_cause() -> None:
    original = [900.0, 850, 1000, 950, 900]
    refuted = Confirmation(
        [_item("extrapolation", original, [700, 700, 800, 700, 750]),
         _item("drift", original, [850, 800, 900, 900, 850]),
         Intervention("spiral", "", {}, [], [], [], skipped="not pretrained on a dataset")],
        min_share=0.5,
    )  # fmt: skip
    assert refuted.truth == "none" and refuted.to_json()["truth"] == "none"
    assert refuted.verdict() == ("not confirmed: every intervention tested removed less than 50% "
                                 "of the dip (each by its sign test)")  # fmt: skip
    assert (
        refuted.interventions[0]
        .sentence(0.5)
        .endswith("refuted, 5 of 5 seeds removed < 50% (sign test p = 0.031, level 0.031)")
    )
    untested = Confirmation([Intervention("spiral", "", {}, [], [], [], skipped="n/a")], 0.5)
    assert untested.verdict() == "not confirmed: no intervention could be tested"
    assert refuted.judgement("extrapolation") == (
        "the verdict, critic extrapolation, by its own intervention: refuted"
    )
    assert refuted.judgement("spiral") is None and refuted.judgement(None) is None


def test_the_interventions_table_is_checked(tmp_path: Path) -> None:
    table = load_interventions()
    assert table["extrapolation"][0]["set"] == {"warmstart.load": "+critic"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[nonsense]]\nlabel = "x"\nset = {}\n')
    with pytest.raises(WsdiagError, match="unknown cause 'nonsense'"):
        load_interventions(bad)
    bad.write_text('[[drift]]\nlabel = "x"\nset = {}\nneeds = "luck"\n')
    with pytest.raises(WsdiagError, match="needs = 'luck'"):
        load_interventions(bad)


def test_counterfactuals_stop_once_the_dip_is_decided(tiny_run: Path) -> None:
    """The horizon: the original's recovery (step 1500, policy start 100) plus four
    evaluations of 200 steps = 2200 steps after the policy start; a run with a longer warm-up
    stops as long after its own start; a run that never recovered is not cut."""
    from wsdiag.analysis.degradation import degradation
    from wsdiag.sweep.counterfactual import cut, horizon_of

    steps = np.arange(0, 4001, 500)
    dipped = degradation(steps, np.array([0, 0, -50, -80, 0, 0, 0, 0, 0.0]), 0.0, start=100)
    assert dipped.recovery_step == 2000
    assert horizon_of(dipped, 100, 200) == 2000 - 100 + 4 * 200
    falling = degradation(steps, -np.arange(9.0), 0.0, start=100)
    assert horizon_of(falling, 100, 200) is None and horizon_of(None, 100, 200) is None
    config = tiny_config(finetune={"steps": 5000}, warmstart={"warmup_steps": 100})
    assert cut(config, 2700) == 2800 and cut(config, None) == 5000
    longer = tiny_config(finetune={"steps": 5000}, warmstart={"warmup_steps": 1000})
    assert cut(longer, 2700) == 3700 and cut(longer, 9000) == 5000
    plan, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"], horizon=150)
    own = load_config(tiny_run / "config.toml")
    for job in plan.jobs:
        assert job.config.finetune.steps == own.warmstart.warmup_steps + 150 < own.finetune.steps


def test_the_plan_fine_tunes_the_runs_own_checkpoint(tiny_run: Path) -> None:
    plan, candidates = plan_counterfactuals(
        tiny_run, seeds=2, causes=["extrapolation", "spiral", "drift"]
    )
    chosen = {c.cause: c for c in candidates}
    assert chosen["spiral"].skipped == (
        "the offline data retained, 5% of it: the run was not pretrained on a dataset; "
        "the pretraining's replay buffer retained: the run did not load a trained pretrained "
        "critic; WSRL's warm-up: the pretrained policy with no updates, 5,000 steps: the run "
        "was not pretrained on a dataset"
    )
    assert chosen["extrapolation"].overrides == {"warmstart.load": ["actor", "critic"]}
    names = sorted(j.name for j in plan.jobs)
    assert names == ["drift-seed3", "drift-seed4", "extrapolation-seed3",
                     "extrapolation-seed4", f"{ORIGINAL}-seed4"]  # fmt: skip
    for job in plan.jobs:
        assert job.config.pretrain.source == "checkpoint"
        assert job.config.pretrain.path == str(tiny_run)
    jobs = {j.name: j for j in plan.jobs}  # a BC penalty starts where updates begin
    assert jobs["drift-seed3"].branch_from == tiny_run and not jobs["drift-seed3"].deps
    assert jobs["drift-seed4"].deps == (f"{ORIGINAL}-seed4",)
    assert jobs["drift-seed4"].branch_from == jobs[f"{ORIGINAL}-seed4"].run_dir
    assert jobs["extrapolation-seed4"].branch_from is None and not jobs["extrapolation-seed4"].deps
    full, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"], horizon=None, branch=False)
    assert all(j.branch_from is None and not j.deps for j in full.jobs)  # --full: as before
    buffered = replace(load_config(tiny_run / "config.toml"),
                       warmstart={"load": ("actor", "buffer")})  # fmt: skip
    (added,) = relative_values(buffered, {"warmstart.load": "+critic"})
    assert added == ("warmstart.load", ["actor", "buffer", "critic"])  # the buffer stays
    with pytest.raises(WsdiagError, match="'\\+' adds to a list field"):
        relative_values(buffered, {"seed": "+1"})
    x4 = tiny_run.parent / "x4.toml"
    x4.write_text(
        '[[extrapolation]]\nlabel = "longer"\nset = { "warmstart.warmup_steps" = "x2" }\n'
    )
    plan, _ = plan_counterfactuals(tiny_run, seeds=1, causes=["extrapolation"], interventions=x4)
    longer = plan.jobs[0].config
    assert longer.warmstart.warmup_steps == 200  # and as many steps after updates begin:
    assert longer.finetune.steps == 400 + 100


def test_a_run_without_warm_up_and_with_its_critic_loaded_gets_a_5000_step_warm_up() -> None:
    """Loading the critic and a 4x longer warm-up do not change such a run: the last entry
    (a 5,000-step warm-up, the critic learning) is its extrapolation intervention, with as many
    steps after it."""
    table = load_interventions()["extrapolation"]
    config = tiny_config(warmstart={"load": ["actor", "critic"], "warmup_steps": 0,
                                    "freeze_policy_steps": 0})  # fmt: skip
    chosen = choose("extrapolation", table, config, to_dict(config))
    assert chosen.label.startswith("a warm-up on the pretrained policy")
    assert chosen.overrides == {"warmstart.warmup_steps": 5000,
                                "warmstart.train_critic_during_warmup": True,
                                "finetune.steps": 5400}  # fmt: skip
    warmed = tiny_config(warmstart={"load": ["actor", "critic"], "warmup_steps": 100})
    assert choose("extrapolation", table, warmed, to_dict(warmed)).overrides == {
        "warmstart.warmup_steps": 400, "finetune.steps": 700}  # fmt: skip


def test_a_loaded_in_sample_critic_gets_random_actions_first() -> None:
    """IQL's critic has seen only the data's actions: where the run has no warm-up, its
    intervention is 5,000 random-action steps the critic learns from, with as many steps after
    them. A TD3+BC critic (it evaluates its policy's actions) keeps the 5,000-step warm-up on
    the pretrained policy, and so does an IQL run that did not load the critic (there a warm-up
    4x longer or 5,000 steps apply)."""
    table = load_interventions()["extrapolation"]
    warm = {"load": ["actor", "critic"], "warmup_steps": 0, "freeze_policy_steps": 0}
    iql = tiny_config(pretrain={"algo": "iql"}, finetune={"algo": "sac"}, warmstart=warm)
    chosen = choose("extrapolation", table, iql, to_dict(iql))
    assert chosen.label.startswith("uniformly random actions first")
    assert chosen.overrides == {
        "warmstart.warmup_steps": 5000,
        "warmstart.warmup_policy": "random",
        "warmstart.train_critic_during_warmup": True,
        "finetune.steps": 5400,
    }
    td3bc = tiny_config(pretrain={"algo": "td3bc"}, warmstart=warm)
    assert choose("extrapolation", table, td3bc, to_dict(td3bc)).label.startswith("a warm-up on")
    actor_only = tiny_config(pretrain={"algo": "iql"}, finetune={"algo": "sac"},
                             warmstart={**warm, "load": ["actor"]})  # fmt: skip
    assert choose("extrapolation", table, actor_only, to_dict(actor_only)).label.startswith(
        "the pretrained critic loaded too"
    )


def test_a_loaded_online_critic_gets_its_pretraining_buffer_back(tmp_path: Path) -> None:
    """Spiral's online entry: a run that loaded a critic pretrained online but not the buffer
    it was trained on gets that buffer, where the checkpoint saved one."""
    table = load_interventions()["spiral"]
    checkpoint = tmp_path / "pretrained"
    checkpoint.mkdir()
    (checkpoint / AGENT_FILE).write_bytes(b"")
    pre = {"source": "checkpoint", "path": str(checkpoint)}
    critic = tiny_config(pretrain=pre, warmstart={"load": ["actor", "critic"]})
    reason = "the pretraining's replay buffer retained: the pretrained checkpoint holds no replay"
    assert reason in choose("spiral", table, critic, to_dict(critic)).skipped
    (checkpoint / BUFFER_FILE).write_bytes(b"")
    chosen = choose("spiral", table, critic, to_dict(critic))
    assert chosen.overrides == {"warmstart.load": ["actor", "critic", "buffer"]}
    buffered = tiny_config(pretrain=pre, warmstart={"load": ["actor", "critic", "buffer"]})
    assert "the run already has it" in choose("spiral", table, buffered, to_dict(buffered)).skipped
    actor_only = tiny_config(pretrain=pre, warmstart={"load": ["actor"]})
    assert (
        "did not load a trained" in choose("spiral", table, actor_only, to_dict(actor_only)).skipped
    )


def test_what_a_run_started_from_is_read_from_its_warm_start_event(tmp_path: Path) -> None:
    """A run fine-tuned from a saved IQL checkpoint whose config keeps the default
    `pretrain.algo` (td3) still loaded an in-sample critic: its warm_start event says so, and
    the random-action entry is chosen. Without the event the config decides."""
    warm = {"load": ["actor", "critic"], "warmup_steps": 0, "freeze_policy_steps": 0}
    config = tiny_config(pretrain={"source": "checkpoint", "path": "iql-run"}, warmstart=warm)
    table = load_interventions()["extrapolation"]
    run_dir = tmp_path / "run"
    unbuffered = WarmStart(True, True, "td3", data_retained=False)  # no buffer loaded
    assert WarmStart.recorded(config, read_events(run_dir)) == unbuffered
    assert choose("extrapolation", table, config, to_dict(config)).label.startswith(
        "a warm-up on the pretrained policy"
    )
    run_dir.mkdir()
    event = {"event": "warm_start", "pretrained_algo": "iql", "loaded": ["actor", "critic"]}
    (run_dir / EVENTS_FILE).write_text(json.dumps(event) + "\n")
    warm = WarmStart.recorded(config, read_events(run_dir))
    assert warm == WarmStart(critic_loaded=True, reference_critic=True, algo="iql",
                             data_retained=False)  # fmt: skip
    chosen = choose("extrapolation", table, config, to_dict(config), warm)
    assert chosen.label.startswith("uniformly random actions first")
    bc_config = replace(config, warmstart={"load": ["actor"]})
    bc = WarmStart.of(bc_config, algo="bc")
    assert not bc.reference_critic
    assert choose("extrapolation", table, bc_config, to_dict(bc_config), bc).label.startswith(
        "a warm-up on the pretrained policy"
    )  # BC has no critic to load


def test_a_sweep_runs_relative_pretrained_path_is_found_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep run under out/<sweep>/runs/ names its pretraining out/<sweep>/pretrained/<key>,
    relative to where the sweep ran or absolute; confirming it from another directory, or
    after the sweep folder moved, finds it."""
    pretrained = tmp_path / "out" / "sweep" / "pretrained" / "abc-seed0"
    run_dir = tmp_path / "out" / "sweep" / "runs" / "plain-seed0"
    pretrained.mkdir(parents=True)
    run_dir.mkdir(parents=True)
    relative = "out/sweep/pretrained/abc-seed0"
    config = replace(tiny_config(), pretrain={"source": "checkpoint", "path": relative})
    monkeypatch.chdir(tmp_path)
    assert pretrained_path(run_dir, config) == relative
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert pretrained_path(Path("../out/sweep/runs/plain-seed0"), config) == str(pretrained)
    missing = replace(config, pretrain={"path": "nowhere/abc-seed0"})
    assert pretrained_path(run_dir, missing) == "nowhere/abc-seed0"
    moved = replace(config, pretrain={"path": "/gone/out/sweep/pretrained/abc-seed0"})
    assert pretrained_path(run_dir, moved) == str(pretrained)  # an absolute --out, moved


@pytest.mark.slow
def test_a_tiny_confirm_runs_measures_and_resumes(tiny_run: Path) -> None:
    base = ["diagnose", str(tiny_run), "--confirm", "--seeds", "2", "--max-seeds", "3",
            "--jobs", "2", "--causes", "extrapolation,drift"]  # fmt: skip
    skipped = runner.invoke(app, base)  # the tiny run does not degrade: nothing to confirm
    assert skipped.exit_code == 0 and "nothing to confirm" in skipped.output
    assert not (tiny_run / "counterfactual").exists()
    args = [*base, "--force"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "critic extrapolation: the pretrained critic loaded too removed" in text
    root = tiny_run / "counterfactual"
    saved = json.loads((root / "confirmation.json").read_text())
    assert " ".join(saved["verdict"].split()) in text
    assert saved["truth"] == "inconclusive"  # three seeds never decide a sign test
    assert saved["verdict"].startswith("inconclusive")
    more = f"more seeds: wsdiag diagnose {tiny_run} --confirm --max-seeds 6 (the finished runs"
    assert more in text
    assert {i["cause"] for i in saved["interventions"]} == {"extrapolation", "drift"}
    for item in saved["interventions"]:  # 3 seeds could never decide: no third one added
        assert item["seeds"] == [3, 4] and len(item["dips"]) == 2
    assert (root / "counterfactual.png").stat().st_size > 0
    runs = sorted(p.name for p in (root / "runs").iterdir())
    assert runs == ["drift-seed3", "drift-seed4", "extrapolation-seed3", "extrapolation-seed4",
                    "original-seed4"]  # fmt: skip
    assert all(is_complete(root / "runs" / r) for r in runs)
    events = read_events(root / "runs" / "extrapolation-seed3")
    assert "critic" in next(e for e in events if e["event"] == "warm_start")["loaded"]
    assert "branched" not in {e["event"] for e in events}  # a loaded critic: from the start
    for seed in (3, 4):  # a BC penalty: from the original's branch checkpoint, on every seed
        branched = [e for e in read_events(root / "runs" / f"drift-seed{seed}")
                    if e["event"] == "branched"]  # fmt: skip
        assert len(branched) == 1 and branched[0]["step"] == 150
    again = runner.invoke(app, args)  # nothing left to run: the same numbers
    assert again.exit_code == 0
    assert json.loads((root / "confirmation.json").read_text()) == saved
    _the_report_shows_the_confirmation(tiny_run, saved)


def _the_report_shows_the_confirmation(run: Path, saved: dict) -> None:
    """`wsdiag report` of a confirmed run: the confirmation's verdict and interventions beside
    the diagnosis (summary.md, report.html, summary.json) and the counterfactual curves; a
    damaged confirmation.json is a report warning, not a failure."""
    out = run.parent / "report"
    result = runner.invoke(app, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    markdown = (out / "summary.md").read_text()
    assert f"**Confirmation** (`wsdiag diagnose --confirm`): {saved['verdict']}" in markdown
    assert "- critic extrapolation: the pretrained critic loaded too removed" in markdown
    figure = next(out.glob("*/counterfactual.png"))
    assert figure.stat().st_size > 0 and figure.relative_to(out).as_posix() in markdown
    assert "Confirmation (wsdiag diagnose --confirm)" in (out / "report.html").read_text()
    entry = json.loads((out / "summary.json").read_text())["runs"][0]
    assert entry["confirmation"]["truth"] == saved["truth"]
    saved_file = run / "counterfactual" / "confirmation.json"
    kept = saved_file.read_text()
    try:
        saved_file.write_text("{broken")
        damaged = runner.invoke(app, ["report", str(run), "--out", str(out)])
        assert damaged.exit_code == 0, damaged.output
        warnings = json.loads((out / "summary.json").read_text())["warnings"]
        assert any("damaged" in w and "confirmation.json" in w for w in warnings)
        assert "**Confirmation**" not in (out / "summary.md").read_text()
    finally:
        saved_file.write_text(kept)


def test_one_experiment_under_two_names_has_one_key(tiny_run: Path, tmp_path: Path) -> None:
    """The suite counts a run once when another has the same pretrained weights and the same
    config but for its name and pretraining settings (an expert stopped at either target)."""
    from wsdiag.suite.collect import experiment_key

    def copy(name: str, **sections: dict) -> Path:
        target = shutil.copytree(tiny_run, tmp_path / name)
        config = replace(load_config(tiny_run / "config.toml"), name=name, **sections)
        (target / "config.toml").write_text(dump_config(config))
        return target

    key = experiment_key(load_run(tiny_run))
    assert key is not None
    renamed = copy("renamed", pretrain={"target_return": -100.0, "path": str(tiny_run)})
    assert experiment_key(load_run(renamed)) == key
    assert experiment_key(load_run(copy("longer", finetune={"steps": 500}))) != key
    missing = copy("missing", pretrain={"source": "checkpoint", "path": str(tmp_path / "gone")})
    assert experiment_key(load_run(missing)) is None


def test_dry_run_lists_the_interventions_and_runs_nothing(tiny_run: Path) -> None:
    args = ["diagnose", str(tiny_run), "--confirm", "--dry-run", "--force", "--seeds", "2",
            "--max-seeds", "4"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "extrapolation: the pretrained critic loaded too" in text
    assert "spiral: not tested (the offline data retained, 5% of it" in text
    # extrapolation, gradient, update and drift on seeds 3 and 4, the original on seed 4
    assert f"9 run(s) on 2 seeds under {tiny_run / 'counterfactual'}, about " in text
    assert "with --jobs 1 (at the " in text and "steps/s it ran at, each intervention timed" in text
    # up to 4 seeds: 4 interventions x 4 seeds and the original on 3 more
    assert "up to 19 on 4 seeds while a test is undecided" in text
    one_line_error(runner.invoke(app, [*args[:-1], "1"]), 2, "--max-seeds (1) is below --seeds")


def test_bad_confirm_input_is_one_line(tiny_run: Path, tmp_path: Path) -> None:
    base = ["diagnose", str(tiny_run), "--confirm"]
    one_line_error(runner.invoke(app, [*base, "--causes", "luck"]), 2, "unknown cause 'luck'")
    one_line_error(runner.invoke(app, [*base, "--seeds", "0"]), 2, "--seeds must be >= 1")
    one_line_error(runner.invoke(app, [*base, "--backend", "nope"]), 2, "--backend must be one of")
    missing = ["--interventions", str(tmp_path / "none.toml")]
    one_line_error(runner.invoke(app, [*base, *missing]), 2, "interventions table not found")
    one_line_error(runner.invoke(app, ["diagnose", str(tmp_path)]), 2, "not a wsdiag run")
    without = ["diagnose", str(tiny_run), "--until-confirmed"]
    one_line_error(runner.invoke(app, without), 2, "--until-confirmed is an option of --confirm")
    one_line_error(runner.invoke(app, [*without[:2], "--seeds", "5"]), 2, "--seeds is an option")


def test_until_confirmed_stops_at_the_first_confirmed_cause_in_the_chains_order(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The causes are run one at a time in PRIORITY order (whatever order --causes gives), the
    originals with the first; the first confirmed one ends it and the rest are not run, but for
    the verdict's own cause."""
    import wsdiag.sweep.confirm as confirm

    ran: list[set[str]] = []
    shares = {"extrapolation": 0.2, "gradient": 0.9, "drift": 1.0}

    def run_jobs(plan, *args) -> None:
        names = {j.name.rsplit("-seed", 1)[0] for j in plan.jobs}
        ran.append(names)

    def measure(plan, original, candidate, looks, horizon, alpha) -> Intervention:
        after = 100.0 * (1.0 - shares[candidate.cause])
        return _item(candidate.cause, [100.0] * 5, [after] * 5)

    monkeypatch.setattr(confirm, "_run_jobs", run_jobs)
    monkeypatch.setattr(confirm, "stop_when_decided", lambda part, *args: (part, None))
    monkeypatch.setattr(confirm, "measure", measure)
    monkeypatch.setattr(confirm, "draw", lambda *args: None)
    monkeypatch.setattr(Confirmation, "save", lambda self, folder: folder)
    result = confirm.confirm_run(
        tiny_run, thresholds=Thresholds(), seeds=5, causes=["drift", "gradient", "extrapolation"],
        interventions=None, jobs=1, backend="local", address=None, threads=1, dry_run=False,
        console=Console(file=io.StringIO()), until_confirmed=True,
    )  # fmt: skip
    assert ran == [{ORIGINAL, "extrapolation"}, {ORIGINAL, "gradient"}]
    assert result is not None and result.confirmed is not None
    assert result.confirmed.cause == "gradient"
    assert [i.cause for i in result.interventions] == ["extrapolation", "gradient", "drift"]
    assert result.interventions[2].skipped == (
        "not run: steep critic (large action gradients) was confirmed first"
    )
    dry = runner.invoke(app, ["diagnose", str(tiny_run), "--confirm", "--dry-run", "--force",
                              "--seeds", "2", "--until-confirmed"])  # fmt: skip
    assert dry.exit_code == 0 and "at most 9 run(s)" in " ".join(dry.output.split())
    ran.clear()
    result = confirm.confirm_run(
        tiny_run, thresholds=Thresholds(), seeds=5, causes=["drift", "gradient", "extrapolation"],
        interventions=None, jobs=1, backend="local", address=None, threads=1, dry_run=False,
        console=Console(file=io.StringIO()), until_confirmed=True, verdict="drift",
    )  # fmt: skip
    assert ran == [{ORIGINAL, "extrapolation"}, {ORIGINAL, "gradient"}, {ORIGINAL, "drift"}]
    assert result is not None and result.confirmed is not None
    assert result.confirmed.cause == "gradient"  # the truth: the earliest confirmed
    assert result.interventions[2].outcome(result.min_share) == "confirmed"  # and the verdict's


def test_a_failed_counterfactual_run_is_retried_and_stops_the_measurement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rerunning --confirm retries the runs that failed; a run that fails again is an error
    naming it, not a verdict measured without it."""
    from types import SimpleNamespace

    import wsdiag.sweep.confirm as confirm

    calls: list[dict] = []
    errors = {"extrapolation-seed1": "dataset 'x' is not on this machine"}

    def run_plan(plan, backend, **kwargs):
        calls.append(kwargs)
        jobs = {j.name: {"state": "failed" if j.name in errors else "done",
                         "error": errors.get(j.name)} for j in plan.jobs}  # fmt: skip
        return SimpleNamespace(jobs=jobs, names=lambda s: [n for n, e in jobs.items()
                                                           if e["state"] == s])  # fmt: skip

    monkeypatch.setattr(confirm, "run_plan", run_plan)
    monkeypatch.setattr(confirm, "make_backend", lambda *args: None)
    jobs = [
        SimpleNamespace(name=n, env_steps=400) for n in ("original-seed1", "extrapolation-seed1")
    ]
    plan = SimpleNamespace(jobs=jobs, root=tmp_path)
    failed = r"1 counterfactual run\(s\) failed \(extrapolation-seed1: dataset 'x' is not on"
    with pytest.raises(WsdiagError, match=failed):
        confirm._run_jobs(plan, "local", None, 1, 1, Console(file=io.StringIO()))
    assert calls[0]["retry_failed"] is True
    errors.clear()
    confirm._run_jobs(plan, "local", None, 1, 1, Console(file=io.StringIO()))  # all done: fine


def test_a_no_op_intervention_is_seldom_confirmed() -> None:
    """A no-op: each seed's intervened dip is another draw of the original's (run-to-run noise,
    lognormal). Seeds added one at a time from 5 to 10 as `confirm_run` adds them: confirmed in
    under 5% of 2,000 decisions (the sequence's level bounds it whatever the noise)."""
    from wsdiag.analysis.confirm import decide

    rng = np.random.default_rng(0)
    confirmed = 0
    for _ in range(2000):
        original, after = [], []
        for n in range(1, 11):
            original.append(float(rng.lognormal(5.0, 0.8)))
            after.append(float(rng.lognormal(5.0, 0.8)))
            if n >= 5 and decide(original, after, 0.5)[0] != "inconclusive":
                break
        confirmed += decide(original, after, 0.5)[0] == "confirmed"
    assert confirmed / 2000 < 0.05


def test_the_no_op_control_is_the_original_on_other_seeds(tiny_run: Path) -> None:
    plan, candidates = plan_counterfactuals(tiny_run, seeds=2, causes=[], control=True)
    assert [c.cause for c in candidates] == [CONTROL]
    own = load_config(tiny_run / "config.toml")
    jobs = {j.name: j for j in plan.jobs}
    assert sorted(jobs) == [f"{CONTROL}-seed3", f"{CONTROL}-seed4", f"{ORIGINAL}-seed4"]
    for seed in (3, 4):  # paired by name with the original's seed, run 100,000 further
        job = jobs[f"{CONTROL}-seed{seed}"]
        assert job.config.seed == seed + CONTROL_SEED_OFFSET
        assert job.branch_from is None and not job.deps  # it differs from the start
        same = {**to_dict(job.config), "seed": own.seed, "name": own.name, "threads": 0}
        assert same["probes"] == {**to_dict(own)["probes"], "every": 0}  # none recorded
        same["probes"] = to_dict(own)["probes"]
        assert same == {**to_dict(own), "pretrain": same["pretrain"], "threads": 0}


def test_the_no_op_control_never_makes_the_truth() -> None:
    control = _item(CONTROL, [100.0] * 6, [0.0] * 6)  # "confirmed": a false confirmation
    refuted = _item("extrapolation", [100.0] * 6, [100.0] * 6)
    result = Confirmation([refuted, control], 0.5)
    assert control.confirmed(0.5) and result.confirmed is None
    assert result.truth == "none" and result.to_json()["control"] == "confirmed"
    assert control.sentence(0.5).startswith("no-op control: ")


def test_an_intervention_stops_once_its_seed_is_decided(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below R0 - (1 - c) D the counterfactual's dip exceeds (1 - c) D: its share is < c
    whatever follows, so it stops there; the originals and the control run on, and so does
    every run of a seed whose original did not dip."""
    import wsdiag.sweep.confirm as confirm
    from wsdiag.sweep.counterfactual import jobs_of

    baseline = load_run(tiny_run).baseline
    plan, _ = plan_counterfactuals(tiny_run, seeds=1, causes=["drift"], control=True)
    part = jobs_of(plan, {ORIGINAL, "drift", CONTROL})
    monkeypatch.setattr(confirm, "_dip", lambda run, horizon: 0.0)  # no dip: no stop
    assert confirm.decided_below(tiny_run, None, 0.5) is None
    monkeypatch.setattr(confirm, "_dip", lambda run, horizon: 100.0)
    assert confirm.decided_below(tiny_run, None, 0.5) == pytest.approx(baseline - 50.0)
    assert confirm.decided_below(tiny_run, None, 0.8) == pytest.approx(baseline - 20.0)
    stopped, on_start = confirm.stop_when_decided(part, tiny_run, None, 0.5)
    stops = {j.name: j.config.eval.stop_below for j in stopped.jobs}
    assert stops == {"drift-seed3": pytest.approx(baseline - 50.0), f"{CONTROL}-seed3": None}
    assert all(not j.deps for j in stopped.jobs)  # seed 3 is the recorded run's own
    assert [on_start(j) for j in stopped.jobs] == stopped.jobs  # already final


def test_an_intervention_waits_for_its_seeds_original_and_is_stopped_as_it_starts(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a seed the recorded run is not, the intervention waits for that seed's original; its
    threshold is set when it starts (the original then finished), not before."""
    import wsdiag.sweep.confirm as confirm
    from wsdiag.sweep.counterfactual import jobs_of

    plan, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"], control=True)
    part = jobs_of(plan, {ORIGINAL, "drift", CONTROL})
    monkeypatch.setattr(confirm, "_dip", lambda run, horizon: 100.0)
    finished: set[str] = set()
    run = load_run(tiny_run)
    monkeypatch.setattr(confirm, "is_complete", lambda path: path.name in finished)
    monkeypatch.setattr(confirm, "_finished", lambda path: run if path.name in finished else None)
    stopped, on_start = confirm.stop_when_decided(part, tiny_run, None, 0.5)
    jobs = {j.name: j for j in stopped.jobs}
    assert jobs["drift-seed4"].deps == (f"{ORIGINAL}-seed4",)
    assert not jobs[f"{CONTROL}-seed4"].deps and not jobs[f"{ORIGINAL}-seed4"].deps
    assert jobs["drift-seed4"].config.eval.stop_below is None  # its original has not run
    assert on_start(jobs["drift-seed4"]) == jobs["drift-seed4"]
    finished.add(f"{ORIGINAL}-seed4")
    started = on_start(jobs["drift-seed4"])
    assert started.config.eval.stop_below == pytest.approx(run.baseline - 50.0)
    assert on_start(jobs[f"{CONTROL}-seed4"]) == jobs[f"{CONTROL}-seed4"]


def test_the_cli_plans_the_no_op_control_alone(tiny_run: Path) -> None:
    dry = runner.invoke(app, ["diagnose", str(tiny_run), "--confirm", "--dry-run", "--force",
                              "--seeds", "2", "--control", "--causes", "none"])  # fmt: skip
    text = " ".join(dry.output.split())
    assert dry.exit_code == 0, dry.output
    assert "noop: the original itself, on seeds 100,000 further" in text
    assert "3 run(s) on 2 seeds" in text and "up to 19 on 10 seeds" in text
    assert "the pretrained critic loaded too" not in text  # no cause tested
    alone = runner.invoke(app, ["diagnose", str(tiny_run), "--control"])
    one_line_error(alone, 2, "--control is an option of --confirm")


@pytest.mark.parametrize(("jobs", "rounds"), [(1, [5, 6, 7, 8, 9]), (3, [5, 8, 10])])
def test_a_round_adds_a_seed_per_job_and_the_test_looks_one_seed_at_a_time(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, rounds: list[int]
) -> None:
    """Drift's seeds remove 90% but for the fifth: the sign test (level 1/32 per look) decides
    at 9 seeds, whether the rounds add one seed or three; with three the tenth seed runs in the
    last round but the test stops at the ninth, as it would have one seed at a time."""
    import wsdiag.sweep.confirm as confirm

    ran: list[int] = []
    shares = [0.9] * 4 + [0.0] + [0.9] * 5

    def measure(plan, original, candidate, looks, horizon, alpha) -> Intervention:
        n = len(plan.spec.seeds)
        return _item(candidate.cause, [100.0] * n, [100.0 * (1 - s) for s in shares[:n]])

    monkeypatch.setattr(confirm, "_run_jobs", lambda plan, *args: ran.append(len(plan.spec.seeds)))
    monkeypatch.setattr(confirm, "stop_when_decided", lambda part, *args: (part, None))
    monkeypatch.setattr(confirm, "measure", measure)
    monkeypatch.setattr(confirm, "draw", lambda *args: None)
    monkeypatch.setattr(Confirmation, "save", lambda self, folder: folder)
    result = confirm.confirm_run(
        tiny_run, thresholds=Thresholds(), seeds=5, causes=["drift"], interventions=None,
        jobs=jobs, backend="local", address=None, threads=1, dry_run=False,
        console=Console(file=io.StringIO()),
    )  # fmt: skip
    assert ran == rounds
    assert result is not None and result.confirmed is not None
    assert result.confirmed.cause == "drift" and len(result.confirmed.seeds) == 9


def test_counterfactual_runs_record_no_probes_unless_a_confirmation_began_with_them(
    tiny_run: Path, tmp_path: Path
) -> None:
    """The decision reads only returns, and probes change nothing of a run's training
    (tests/training/test_experiment.py); `--full`, the earlier way, keeps them, and so does a
    confirmation whose runs already recorded them, so that rerunning it to add seeds finds its
    finished runs' configs unchanged."""
    import shutil

    from wsdiag.sweep.counterfactual import recorded_probes

    plan, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"])
    assert {j.config.probes.every for j in plan.jobs} == {0}
    kept, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"], probes=True)
    assert {j.config.probes.every for j in kept.jobs} == {100}
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("counterfactual"))
    assert recorded_probes(copy) is False  # nothing there: off
    earlier = copy / "counterfactual" / "runs" / "drift-seed3"
    earlier.mkdir(parents=True)
    shutil.copy(tiny_run / "config.toml", earlier / "config.toml")  # probes every 100
    assert recorded_probes(copy) is True


def test_the_soonest_an_intervention_can_stop_is_its_first_evaluation_after_the_policy_start(
    tiny_run: Path,
) -> None:
    """The shorter end of the printed range: interventions cut at warm-up + eval.every (tiny:
    100 + 200), the originals and the no-op control at their horizon."""
    from wsdiag.sweep.confirm import soonest

    plan, _ = plan_counterfactuals(tiny_run, seeds=2, causes=["drift"], control=True)
    ends = {j.name: soonest(j).config.finetune.steps for j in plan.jobs}
    assert ends == {f"{ORIGINAL}-seed4": 400, "drift-seed3": 300, "drift-seed4": 300,
                    f"{CONTROL}-seed3": 400, f"{CONTROL}-seed4": 400}  # fmt: skip


def test_seeds_stop_once_no_seed_up_to_the_last_could_decide(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drift's third and fifth seeds remove under 50%: 3 of 5 above, and 10 seeds could decide
    only at 9 of 10. Its test is inconclusive after the first round, as it would be at 10 seeds,
    and no seed is added; with --max-seeds 20 (level 10/512 a look) the rounds go on, to a
    confirmation past 10 seeds."""
    import wsdiag.sweep.confirm as confirm

    ran: list[int] = []
    shares = [0.9, 0.9, 0.1, 0.9, 0.1] + [0.9] * 15

    def measure(plan, original, candidate, looks, horizon, alpha) -> Intervention:
        n = len(plan.spec.seeds)
        return dataclasses.replace(
            _item(candidate.cause, [100.0] * n, [100.0 * (1 - s) for s in shares[:n]]),
            looks=looks,
        )

    monkeypatch.setattr(confirm, "_run_jobs", lambda plan, *args: ran.append(len(plan.spec.seeds)))
    monkeypatch.setattr(confirm, "stop_when_decided", lambda part, *args: (part, None))
    monkeypatch.setattr(confirm, "measure", measure)
    monkeypatch.setattr(confirm, "draw", lambda *args: None)
    monkeypatch.setattr(Confirmation, "save", lambda self, folder: folder)
    options = dict(thresholds=Thresholds(), seeds=5, causes=["drift"], interventions=None,
                   jobs=1, backend="local", address=None, threads=1, dry_run=False,
                   console=Console(file=io.StringIO()))  # fmt: skip
    result = confirm.confirm_run(tiny_run, **options)
    assert ran == [5] and result is not None and result.truth == "inconclusive"
    ran.clear()
    result = confirm.confirm_run(tiny_run, max_seeds=20, **options)
    assert ran[:3] == [5, 6, 7] and result is not None
    assert result.confirmed is not None and len(result.confirmed.seeds) == 12  # 10 of 12
