"""The early warning: the prognosis on synthetic probe streams, and in a real run (event,
console line, stop with the checkpoint saved)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import tiny_config
from wsdiag import probe_keys as keys
from wsdiag.analysis.evidence import WarmStart
from wsdiag.analysis.prognosis import prognosis
from wsdiag.analysis.run import load_run
from wsdiag.rundir import latest_checkpoint, read_events, read_metrics
from wsdiag.training.experiment import Experiment

UPDATE = 1000
WARN_KEY = keys.metric(keys.WARN_ACTION_RMS)


def _stream(**series: dict[int, float]) -> pd.DataFrame:
    rows = [
        (step, "warmup" if step < UPDATE else "finetune", key, value)
        for key, points in series.items()
        for step, value in points.items()
    ]
    return pd.DataFrame(rows, columns=["step", "phase", "key", "value"])


CONFIDENT = {0: 0.5, 500: 0.8, 1000: 0.9}
PRETRAINED = {0: 0.95, 500: 0.95, 1000: 0.95}


def test_a_large_first_update_warns_at_the_first_check_past_the_threshold() -> None:
    fine = {1100: 0.05, 1200: 0.15, 1300: 0.31, 1400: 0.6}
    stream = _stream(**{"probe/q_percentile": CONFIDENT, WARN_KEY: fine})
    found = prognosis(stream, update_start=UPDATE, mode="update")
    assert found is not None and (found.step, found.reason) == (1300, "update")
    assert "moved 0.31 per dimension" in found.message and "step 1300" in found.message
    assert prognosis(stream[stream.step <= 1200], update_start=UPDATE, mode="update") is None
    assert prognosis(stream, update_start=UPDATE, mode="off") is None


def test_the_critic_warns_right_before_updates_and_not_mid_warm_up() -> None:
    wrong = {0: 0.5, 500: 0.5, 1000: 0.52}
    stream = _stream(**{"probe/q_percentile": wrong, "probe/pretrained/q_percentile": PRETRAINED})
    mid = stream[stream.step <= 500]
    assert prognosis(mid, update_start=UPDATE, mode="critic") is None
    found = prognosis(stream, update_start=UPDATE, mode="critic")
    assert found is not None and (found.step, found.reason) == (1000, "critic")
    assert prognosis(stream, update_start=UPDATE, mode="update") is None
    moved = pd.concat([stream, _stream(**{WARN_KEY: {1100: 0.5}})])
    both = prognosis(moved, update_start=UPDATE, mode="both")
    assert both is not None and (both.step, both.reason) == (1100, "update")
    right = _stream(**{"probe/q_percentile": CONFIDENT, "probe/pretrained/q_percentile": PRETRAINED,
                       WARN_KEY: {1100: 0.5}})  # fmt: skip
    assert prognosis(right, update_start=UPDATE, mode="both") is None  # a confident critic
    loaded = WarmStart(critic_loaded=True)
    fine = _stream(**{"probe/q_percentile": CONFIDENT, "probe/pretrained/q_percentile": PRETRAINED})
    assert prognosis(fine, update_start=UPDATE, mode="either", warm=loaded) is None


def test_updates_from_step_0_on_a_fresh_critic_need_no_critic_probe() -> None:
    """With no warm-up the critic is an initialised network: the first large update warns."""
    stream = _stream(**{"probe/q_percentile": {0: 0.5}, WARN_KEY: {100: 0.05, 200: 0.4}})
    found = prognosis(stream, update_start=0, mode="both")
    assert found is not None and (found.step, found.reason) == (200, "update")
    critic = prognosis(stream, update_start=0, mode="critic")
    assert critic is not None and critic.step == 0 and "untrained critic" in critic.message
    confident = _stream(**{"probe/q_percentile": {0: 0.9}, WARN_KEY: {100: 0.05, 200: 0.4},
                           "probe/pretrained/q_percentile": {0: 0.9}})  # fmt: skip
    loaded = WarmStart(critic_loaded=True)  # a loaded critic is judged by its probes
    assert prognosis(confident, update_start=0, mode="both", warm=loaded) is None
    assert prognosis(confident, update_start=0, mode="both") is not None


def test_a_pretrained_policy_no_better_than_random_is_never_warned() -> None:
    """R0 -1588 against a random -1650: nothing to lose, so no warning (the tour's weak expert
    rose to -1408 after a warning); the same stream with R0 well above random warns."""
    series = {"probe/q_percentile": {0: 0.5}, WARN_KEY: {100: 0.05, 200: 0.4}}
    weak = _stream(**series, **{"eval/baseline_return": {0: -1588.0},
                                "eval/random_return": {0: -1650.0}})  # fmt: skip
    assert prognosis(weak, update_start=0, mode="either") is None
    expert = _stream(**series, **{"eval/baseline_return": {0: -150.0},
                                  "eval/random_return": {0: -1650.0}})  # fmt: skip
    assert prognosis(expert, update_start=0, mode="either") is not None


def test_runs_without_the_fine_series_use_the_probes() -> None:
    stream = _stream(**{"probe/q_percentile": CONFIDENT,
                        "probe/action_mse/online": {1000: 0.0, 1500: 0.09}})  # fmt: skip
    found = prognosis(stream, update_start=UPDATE, mode="update")
    assert found is not None and found.step == 1500  # sqrt(0.09) = 0.3 >= 0.2


def test_a_real_run_warns_once_and_stops_with_its_checkpoint(tmp_path: Path) -> None:
    probes = {"every": 100, "states": 32, "n_perturb": 8, "warn": "update", "warn_every": 10,
              "warn_rms": 1e-6,
              "stop_on_warning": True}  # fmt: skip
    exp = Experiment.create(tiny_config(probes=probes), tmp_path, progress="none")
    exp.run()
    events = read_events(exp.run_dir)
    warnings = [e for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["warning"] == "collapse_likely"
    update_start = 150  # warm-up 100 + freeze 50 in the tiny config
    assert warnings[0]["step"] == update_start + 10
    end = next(e for e in events if e["event"] == "end")
    assert end["reason"] == "warning" and end["step"] == update_start + 10
    checkpoint = latest_checkpoint(exp.run_dir)
    assert checkpoint is not None and checkpoint.name == f"step_{update_start + 10}"
    assert load_run(exp.run_dir).warning_step == update_start + 10


def test_the_action_change_is_still_recorded_after_the_warning(tmp_path: Path) -> None:
    probes = {"every": 100, "states": 32, "n_perturb": 8, "warn": "update", "warn_every": 10,
              "warn_rms": 1e-6}  # fmt: skip
    exp = Experiment.create(tiny_config(probes=probes), tmp_path, progress="none")
    exp.run()
    warned = next(e for e in read_events(exp.run_dir) if e["event"] == "warning")["step"]
    metrics = read_metrics(exp.run_dir)
    steps = metrics[metrics.key == WARN_KEY].step
    assert steps.min() == warned and steps.max() > warned + 10  # every 10 steps after it too


def test_warn_off_records_nothing(tmp_path: Path) -> None:
    exp = Experiment.create(tiny_config(probes={"warn": "off", "warn_rms": 1e-6}), tmp_path,
                            progress="none")  # fmt: skip
    exp.run()
    assert not [e for e in read_events(exp.run_dir) if e["event"] == "warning"]
    assert load_run(exp.run_dir).warning_step is None
