"""`wsdiag sweep`: the plan (shared pretrainings, grid, names, refused files), and tiny real
sweeps on local processes and on a local Ray instance: reruns, a killed sweep, a failing run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import DEMO_CONFIG, one_line_error
from wsdiag.cli.main import app
from wsdiag.config import load_config
from wsdiag.errors import WsdiagError
from wsdiag.rundir import is_complete, read_events
from wsdiag.sweep.plan import _name_value, build_plan
from wsdiag.sweep.spec import load_sweep

runner = CliRunner()
TINY = """
name = "tiny"
base = "{base}"
seeds = [0, 1]
[set]
"pretrain.steps" = 300
"pretrain.learning_starts" = 100
"pretrain.hidden" = [16, 16]
"finetune.hidden" = [16, 16]
"finetune.steps" = 300
"warmstart.warmup_steps" = 100
"eval.every" = 150
"eval.episodes" = 1
"probes.every" = 150
"probes.n_perturb" = 8
"probes.landscape_perturb" = 16
"checkpoint.every" = 150
"""


def _sweep_file(tmp_path: Path, extra: str, seeds: str = "[0, 1]") -> Path:
    path = tmp_path / "sweep.toml"
    text = TINY.format(base=DEMO_CONFIG).replace("seeds = [0, 1]", f"seeds = {seeds}")
    path.write_text(text + extra)
    return path


TWO_VARIANTS = """
[[variant]]
name = "plain"
[[variant]]
name = "bc"
set = { "mitigation.name" = "bc_penalty" }
"""


# ----------------------------------------------------------------------------- the plan


def test_runs_that_pretrain_alike_share_one_pretraining(tmp_path: Path) -> None:
    extra = (
        TWO_VARIANTS
        + """
[[variant]]
name = "longer"
set = { "pretrain.steps" = 400 }
[grid]
"mitigation.bc_penalty.alpha" = [0.1, 0.3]
"""
    )
    plan = build_plan(load_sweep(_sweep_file(tmp_path, extra)), tmp_path / "out")
    assert len(plan.runs) == 3 * 2 * 2 and len(plan.pretrainings) == 2 * 2
    names = {j.name for j in plan.runs}
    assert "bc-alpha=0.3-seed1" in names and "longer-alpha=0.1-seed0" in names
    for run in plan.runs:
        (pre,) = run.deps
        pre_job = next(j for j in plan.pretrainings if j.name == pre)
        assert run.config.pretrain.path == str(pre_job.run_dir)
        assert run.config.pretrain.source == "checkpoint" and run.config.seed == pre_job.config.seed
        assert run.run_dir == tmp_path / "out" / "tiny" / "runs" / run.name
        assert run.config.name == run.name.rsplit("-seed", 1)[0]  # seeds of a variant group
    shared = {j.deps for j in plan.runs if not j.name.startswith("longer")}
    assert len(shared) == 2  # plain and bc, every alpha: one pretraining per seed
    assert "4 pretraining(s)" in plan.describe()[-1]


def test_grid_values_make_file_name_parts(tmp_path: Path) -> None:
    extra = '[grid]\n"warmstart.load" = [["actor", "critic"]]\n'
    plan = build_plan(load_sweep(_sweep_file(tmp_path, extra, "[0]")), tmp_path / "out")
    (run,) = plan.runs
    assert run.name == "base-load=actor+critic-seed0"
    assert run.run_dir.parent == tmp_path / "out" / "tiny" / "runs"
    assert _name_value("wsdiag/pendulum/expert-random-30-v0") == (
        "wsdiag_pendulum_expert-random-30-v0"
    )  # a dataset id's '/' would make nested folders


def test_a_variant_runs_on_its_own_seeds(tmp_path: Path) -> None:
    extra = TWO_VARIANTS.replace('name = "bc"', 'name = "bc"\nseeds = [1, 3]')
    plan = build_plan(load_sweep(_sweep_file(tmp_path, extra, "[0, 1, 2]")), tmp_path / "out")
    names = [j.name for j in plan.runs]
    assert names == [f"plain-seed{s}" for s in (0, 1, 2)] + ["bc-seed1", "bc-seed3"]
    assert {j.config.seed for j in plan.pretrainings} == {0, 1, 2, 3}
    shared = next(j for j in plan.runs if j.name == "bc-seed1").deps
    assert shared == next(j for j in plan.runs if j.name == "plain-seed1").deps


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("\nfoo = 1\n", "run base-seed0: unknown config key 'foo'"),
        ('[[variant]]\nname = "x"\nseeds = []\n', "variant 1: seeds must be a non-empty"),
        ('[[variant]]\nname = "x"\nseeds = [2, 2]\n', "variant 1: a seed is listed twice"),
        ('[[variant]]\nname = "x"\nseed = [2]\n', "unknown key 'seed' (a variant has name, set"),
        (TWO_VARIANTS + '[[variant]]\nname = "bc"\n', "variant name 'bc' is used twice"),
        ('[[variant]]\nname = "x"\nset = { "finetune.stepz" = 3 }\n', "run x-seed0: unknown"),
        ('[[variant]]\nname = "x"\nset = { "finetune.critic_lr" = -1.0 }\n', "critic_lr"),
        ('[[variant]]\nname = "a/b"\n', "use letters, digits"),
        ('[grid]\n"finetune.utd" = []\n', "non-empty list"),
    ],
)
def test_bad_sweep_files_are_refused_before_anything_runs(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = _sweep_file(tmp_path, extra)
    with pytest.raises(WsdiagError, match=message.replace("(", r"\(")):
        build_plan(load_sweep(path), tmp_path / "out")
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    one_line_error(result, 2, message)
    assert not (tmp_path / "out").exists()


def test_bad_seeds_and_missing_base(tmp_path: Path) -> None:
    with pytest.raises(WsdiagError, match="seeds"):
        load_sweep(_sweep_file(tmp_path, TWO_VARIANTS, seeds="[0, 0]"))
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\nbase = "nowhere.toml"\n')
    with pytest.raises(WsdiagError, match="base config not found"):
        load_sweep(path)


# ----------------------------------------------------------------------------- real sweeps


def _invoke(path: Path, out: Path, *args: str):
    return runner.invoke(app, ["sweep", str(path), "--out", str(out), "--jobs", "2", *args])


@pytest.mark.slow
def test_a_tiny_sweep_pretrains_once_per_seed_reports_and_reruns_nothing(tmp_path: Path) -> None:
    path, out = _sweep_file(tmp_path, TWO_VARIANTS), tmp_path / "out"
    result = _invoke(path, out, "--report")
    assert result.exit_code == 0, result.output
    root = out / "tiny"
    assert len(list((root / "pretrained").iterdir())) == 2
    runs = sorted(p.name for p in (root / "runs").iterdir())
    assert runs == ["bc-seed0", "bc-seed1", "plain-seed0", "plain-seed1"]
    assert all(is_complete(root / "runs" / r) for r in runs)
    for r in runs:  # fine-tuned from the shared pretraining, not pretrained again
        assert not any(e["event"] == "pretrain_end" for e in read_events(root / "runs" / r))
    summary = json.loads((root / "report" / "summary.json").read_text())
    assert {g["label"] for g in summary["groups"]} == {"plain", "bc"}
    state = json.loads((root / "sweep.json").read_text())["jobs"]
    assert {e["state"] for e in state.values()} == {"done"}
    logs = {p.name: p.stat().st_mtime for p in (root / "logs").glob("*.log")}
    again = _invoke(path, out)
    assert again.exit_code == 0 and "6 done" in again.output
    assert {p.name: p.stat().st_mtime for p in (root / "logs").glob("*.log")} == logs
    path.write_text(path.read_text().replace('"finetune.steps" = 300', '"finetune.steps" = 301'))
    refused = _invoke(path, out)
    one_line_error(refused, 2, "was made with another config")  # no stale results
    assert "/runs/" in refused.output  # a run, not the pretraining the change leaves alone
    pretrained = {str(p): p.stat().st_mtime for p in (root / "pretrained").rglob("agent.pt")}
    for r in runs:
        shutil.rmtree(root / "runs" / r)
    assert _invoke(path, out).exit_code == 0  # the new fine-tunes reuse the pretrainings
    again = {str(p): p.stat().st_mtime for p in (root / "pretrained").rglob("agent.pt")}
    assert again == pretrained and len(again) == 2
    for r in runs:
        assert is_complete(root / "runs" / r)
        assert load_config(root / "runs" / r / "config.toml").finetune.steps == 301


@pytest.mark.slow
def test_a_failing_run_does_not_stop_the_others(tmp_path: Path) -> None:
    extra = (
        TWO_VARIANTS
        + """
[[variant]]
name = "broken"
set = { "warmstart.load" = ["actor", "buffer"], "checkpoint.save_buffer" = false }
"""
    )
    path, out = _sweep_file(tmp_path, extra, seeds="[0]"), tmp_path / "out"
    result = _invoke(path, out)
    assert result.exit_code == 1
    assert "failed broken-seed0: warmstart.load has 'buffer'" in " ".join(result.output.split())
    root = out / "tiny"
    assert is_complete(root / "runs" / "plain-seed0") and is_complete(root / "runs" / "bc-seed0")
    state = json.loads((root / "sweep.json").read_text())["jobs"]
    assert state["broken-seed0"]["state"] == "failed"
    assert _invoke(path, out).exit_code == 1  # still failed: not retried without --retry-failed


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_and_loses_nothing(tmp_path: Path) -> None:
    path, out = _sweep_file(tmp_path, TWO_VARIANTS, seeds="[0]"), tmp_path / "out"
    command = [sys.executable, "-m", "wsdiag", "sweep", str(path), "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = out / "tiny" / "sweep.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it while the fine-tunes run
        if state_file.exists():
            jobs = json.loads(state_file.read_text())["jobs"]
            if any(e["state"] == "running" and e["kind"] == "finetune" for e in jobs.values()):
                break
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    result = _invoke(path, out)
    assert result.exit_code == 0, result.output
    root = out / "tiny"
    assert sorted(p.name for p in (root / "runs").iterdir()) == ["bc-seed0", "plain-seed0"]
    assert len(list((root / "pretrained").iterdir())) == 1  # pretrained once
    assert all(is_complete(p) for p in (root / "runs").iterdir())


@pytest.mark.slow
def test_the_same_sweep_runs_on_a_local_ray_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path, out = _sweep_file(tmp_path, TWO_VARIANTS, seeds="[0]"), tmp_path / "out"
    result = _invoke(path, out, "--backend", "ray")
    assert result.exit_code == 0, result.output
    root = out / "tiny"
    assert all(is_complete(root / "runs" / r) for r in ("plain-seed0", "bc-seed0"))


def test_runs_of_a_saved_checkpoint_need_no_pretraining(tmp_path: Path) -> None:
    extra = '[set]\n"pretrain.source" = "checkpoint"\n"pretrain.path" = "somewhere"\n'
    text = TINY.format(base=DEMO_CONFIG).replace("[set]\n", extra, 1)
    path = tmp_path / "s.toml"
    path.write_text(text + TWO_VARIANTS)
    plan = build_plan(load_sweep(path), tmp_path / "out")
    assert not plan.pretrainings and all(not j.deps for j in plan.runs)
    assert all(j.config.pretrain.path == "somewhere" for j in plan.runs)


def test_out_in_a_string_value_is_the_out_folder(tmp_path: Path) -> None:
    """`{out}` in a string (and in a list's strings) becomes --out; other values pass as they
    are."""
    from wsdiag.sweep.plan import with_out

    extra = '[set]\n"pretrain.source" = "checkpoint"\n"pretrain.path" = "{out}/expert-seed0"\n'
    text = TINY.format(base=DEMO_CONFIG).replace("[set]\n", extra, 1)
    path = tmp_path / "s.toml"
    path.write_text(text + TWO_VARIANTS)
    out = tmp_path / "out"
    plan = build_plan(load_sweep(path), out)
    assert all(j.config.pretrain.path == f"{out}/expert-seed0" for j in plan.runs)
    assert with_out(["{out}/a", "b", 3], Path("o")) == ["o/a", "b", 3]
    assert with_out(2.5, Path("o")) == 2.5


def test_a_job_s_recorded_error_is_its_error_line_or_how_it_stopped(tmp_path: Path) -> None:
    from wsdiag.sweep.runner import last_error

    log = tmp_path / "job.log"
    log.write_text("online finetune step 400/800 310 steps/s\n")
    assert last_error(log, -9).startswith("killed by SIGKILL")
    assert last_error(log, 1).startswith("exit code 1 with no error line")
    log.write_text("error: dataset 'x-v0' is not on this machine\nstep 1\n")
    assert last_error(log, 2) == "dataset 'x-v0' is not on this machine"
    assert last_error(tmp_path / "none.log", -15).startswith("killed by SIGTERM")


def test_a_pretrained_agent_that_is_not_there_is_refused_before_any_run(tmp_path: Path) -> None:
    """Runs from a checkpoint nothing in the sweep makes: one line naming the first run and the
    path, exit 2, nothing started (with --dry-run too); a path that exists passes."""

    def sweep_from(agent: Path) -> str:
        extra = f'[set]\n"pretrain.source" = "checkpoint"\n"pretrain.path" = "{agent}"\n'
        return TINY.format(base=DEMO_CONFIG).replace("[set]\n", extra, 1) + TWO_VARIANTS

    path, out = tmp_path / "s.toml", tmp_path / "out"
    path.write_text(sweep_from(tmp_path / "nowhere"))
    for args in ([], ["--dry-run"]):
        result = _invoke(path, out, *args)
        one_line_error(result, 2, "plain-seed0: pretrain.path: checkpoint not found:")
    assert not (out / "tiny").exists()
    run = tmp_path / "run" / "checkpoints" / "pretrained"
    run.mkdir(parents=True)
    (run / "agent.pt").write_bytes(b"")
    path.write_text(sweep_from(tmp_path / "run"))
    dry = _invoke(path, out, "--dry-run")
    assert dry.exit_code == 0, dry.output
