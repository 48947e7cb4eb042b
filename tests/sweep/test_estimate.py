"""Wall-time estimates: the schedule, a job's cost, the rate a run recorded, a calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import tiny_config
from wsdiag.cli.main import app
from wsdiag.sweep.estimate import (
    StepCost,
    calibrate,
    job_seconds,
    makespan,
    rate_seconds,
    recorded_rate,
)
from wsdiag.sweep.plan import FINETUNE, PRETRAIN, Job
from wsdiag.sweep.progress import eta, human_duration


def test_makespan_schedules_the_longest_first() -> None:
    assert makespan([5.0, 4.0, 3.0, 3.0, 3.0], 2) == 10.0  # {5, 3}, {4, 3, 3}: LPT, not 9
    assert makespan([2.0, 2.0], 4) == 2.0 and makespan([], 2) == 0.0
    assert makespan([1.0, 2.0, 3.0], 1) == 6.0


def test_a_job_costs_its_steps_actions_updates_evaluations_and_probes() -> None:
    config = tiny_config(finetune={"steps": 1000}, eval={"every": 500, "episodes": 2},
                         probes={"every": 250}, env={"max_episode_steps": 100})  # fmt: skip
    cost = StepCost(env_step=0.001, update=0.01, probe=0.5, act=0.002)
    finetune = Job("f", FINETUNE, Path("f"), config)
    # 1000 steps x (1 ms + an action 2 ms), 1000 x utd 1 x 10 ms, 3 evaluations x 2 x 100
    # steps x (1 + 2 ms), 5 probes
    expected = 3.0 + 1000 * config.finetune.utd * 0.01 + 1.8 + 5 * 0.5
    assert job_seconds(finetune, cost) == pytest.approx(expected)
    pre = Job("p", PRETRAIN, Path("p"), config)
    learning = config.pretrain.steps - config.pretrain.learning_starts  # random actions before
    evals = (config.pretrain.steps // 500 + 1) * 2 * 100 * 0.003
    assert job_seconds(pre, cost) == pytest.approx(
        config.pretrain.steps * 0.001 + learning * (config.pretrain.utd * 0.01 + 0.002) + evals
    )
    assert rate_seconds([finetune, finetune], 100.0, 1) == pytest.approx(20.0)
    # branched where policy updates begin (tiny_config: 100 warm-up and 50 frozen steps): the
    # 850 steps after, 2 evaluations (500 and 1000), 4 probe calls
    branched = Job("b", FINETUNE, Path("b"), config, branch_from=Path("o"))
    after = 850 * 0.003 + 850 * config.finetune.utd * 0.01 + 1.2 + 4 * 0.5
    assert job_seconds(branched, cost) == pytest.approx(after)


def test_the_recorded_rate_is_the_online_median_and_none_without_rows() -> None:
    rows = [(s, "finetune", "time/steps_per_s", v) for s, v in ((1, 90.0), (2, 110.0), (3, 95.0))]
    rows.append((1, "pretrain", "time/steps_per_s", 999.0))
    frame = pd.DataFrame(rows, columns=["step", "phase", "key", "value"])
    assert recorded_rate(frame, ["warmup", "finetune"]) == 95.0
    assert recorded_rate(frame[frame.phase == "pretrain"], ["finetune"]) is None


def test_a_calibration_times_every_part_on_this_machine() -> None:
    config = tiny_config()
    cost = calibrate(config, config.finetune)
    assert 0 < cost.env_step < cost.update and cost.probe > 0 and 0 < cost.act < cost.update


def test_durations_read_as_a_person_would_say_them() -> None:
    assert [human_duration(s) for s in (30, 95, 7300)] == ["30 s", "2 min", "2.0 h"]


def test_sweep_dry_run_prints_its_cost_in_time(tmp_path: Path) -> None:
    sweep = tmp_path / "s.toml"
    base = Path(__file__).parents[2] / "wsdiag" / "configs" / "demo.toml"
    sweep.write_text(
        f'name = "s"\nbase = "{base}"\nseeds = [0]\n[set]\n"pretrain.steps" = 300\n'
        '"finetune.steps" = 300\n"warmstart.warmup_steps" = 100\n'
        '"pretrain.hidden" = [16, 16]\n"finetune.hidden" = [16, 16]\n'
        '[[variant]]\nname = "plain"\n'
    )
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("about ") and "timed on this machine" in last


class _State:
    """The part of a SweepState that the ETA reads."""

    def __init__(self, **jobs: dict) -> None:
        self.jobs = jobs

    def names(self, state: str) -> list[str]:
        return [n for n, e in self.jobs.items() if e["state"] == state]


def test_the_eta_projects_running_jobs_before_one_has_finished() -> None:
    state = _State(a={"state": "running", "started": 100.0, "seconds": None},
                   b={"state": "queued", "seconds": None})  # fmt: skip
    assert eta(state, 1) == "?"  # nothing to go on yet
    totals = {"a": 1000, "b": 1000}
    assert eta(state, 1, {"a": "pretrain 10"}, totals, now=110.0) == "?"  # under 5% done
    # a: 250 of 1000 steps in 30 s -> 120 s a job; 2 jobs left, one at a time -> 240 s
    assert eta(state, 1, {"a": "finetune 250"}, totals, now=130.0) == "4 min"
    state.jobs["c"] = {"state": "done", "seconds": 60.0}
    assert eta(state, 2) == "60 s"  # the finished job's duration wins: 60 x 2 left / 2


def test_interventions_are_costed_against_the_recorded_original(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The original's recorded seconds anchor the scale; an intervention whose calibrated
    update costs three times as much (a gradient penalty) is estimated three times as long;
    the calibration installs each job's mitigation."""
    import wsdiag.sweep.estimate as estimate

    plain = tiny_config(finetune={"steps": 1000}, probes={"every": 0})
    penalised = tiny_config(finetune={"steps": 1000}, probes={"every": 0},
                            mitigation={"name": "gradient_penalty"})  # fmt: skip
    seen: list[tuple[str, bool]] = []

    def fake(config, agent, threads=1, mitigation=False):
        seen.append((config.mitigation.name, mitigation))
        update = 0.03 if config.mitigation.name == "gradient_penalty" else 0.01
        return StepCost(env_step=0.0, update=update, probe=0.0)

    monkeypatch.setattr(estimate, "calibrate", fake)
    jobs = [Job("original-seed1", FINETUNE, Path("o"), plain),
            Job("gradient-seed1", FINETUNE, Path("g"), penalised)]  # fmt: skip
    seconds = estimate.plan_seconds(jobs, jobs=1, threads=1, anchor=("original-seed1", 5.0))
    assert seconds == pytest.approx(5.0 + 15.0)  # 10 s and 30 s calibrated, scaled by 1/2
    assert sorted(seen) == [("gradient_penalty", True), ("none", True)]
    costs: dict = {}  # kept between calls: each setting calibrated once in all
    estimate.plan_seconds(jobs, jobs=1, threads=1, costs=costs)
    estimate.plan_seconds(jobs[:1], jobs=1, threads=1, costs=costs)
    assert len(seen) == 4 and len(costs) == 2


def test_the_calibration_installs_the_mitigation_as_a_run_does() -> None:
    import wsdiag.sweep.estimate as estimate
    from wsdiag.agents import make_agent
    from wsdiag.data.probe_set import ProbeSet
    from wsdiag.envs import make_env

    config = tiny_config(mitigation={"name": "gradient_penalty"})
    learner = make_agent(config.finetune, 3, 1)
    states = np.zeros((4, 3), np.float32)
    probe_set = ProbeSet(states, np.zeros((4, 1), np.float32), np.zeros(4, np.float32), states,
                         np.zeros(4, np.float32), np.full(4, "behaviour"))  # fmt: skip
    estimate._install(learner, config, make_env("Pendulum-v1"), probe_set)
    assert learner.critic_regularisers  # the penalty's term on ||dQ/da||
