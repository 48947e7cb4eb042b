"""The error contract: bad input exits 2 with one line before anything runs, never a traceback,
and never loses or changes a run's data (docs/train.md, "Exit codes")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import DEMO_CONFIG, TINY_ARGS, one_line_error, train_tiny
from wsdiag.cli.main import app
from wsdiag.rundir import read_events

runner = CliRunner()
TINY = [*TINY_ARGS, "--set", "probes.every=0", "--set", "checkpoint.every=150"]
DEMO = DEMO_CONFIG


def _one_line_error(result, text: str) -> None:
    one_line_error(result, 2, text)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny run with a periodic checkpoint at step 150 and the final one at 300."""
    return train_tiny(tmp_path_factory.mktemp("runs"), TINY)


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy, symlinks=True)
    return copy


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- before anything


@pytest.mark.parametrize(
    ("setting", "text"),
    [
        ("mitigation.ccl_pqd.alpha_start=-1", "mitigation.ccl_pqd.alpha_start"),
        ('mitigation.pqd.mix="bogus"', "mitigation.pqd.mix"),
        ("finetune.critic_lr=-1", "finetune.critic_lr"),
        ('device="tpu"', "device"),
        ("warmstart.offline_fraction=2", "warmstart.offline_fraction"),
        ("seed=-3", "seed"),
        ("mitigation.ccl_bc.every=0", "mitigation.ccl_bc.every"),
        ("mitigation.ccl_pqd.nonsense=1", "mitigation.ccl_pqd.nonsense"),
        ('mitigation.name="ccl_pdq"', "did you mean 'ccl_pqd'"),
        ('mitigation.name="bcq"', "finetune.algo = 'bcq'"),
        ('mitigation.name="critic_weighted"', "finetune.algo = 'td3bc'"),
        ('mitigation.jsrl.guide_path="/nowhere"', "mitigation.jsrl.guide_path"),
        ('finetune.algo="bcq"', ""),  # fine on its own ...
    ],
)
def test_settings_are_refused_before_any_environment_step(
    tmp_path: Path, setting: str, text: str
) -> None:
    out = tmp_path / "runs"
    args = ["train", DEMO, "--out", str(out), "-q", *TINY, "--set", setting]
    if setting == 'finetune.algo="bcq"':  # ... but not without the actor to perturb
        args += ["--set", 'warmstart.load=["critic"]']
        text = "load 'actor'"
    result = runner.invoke(app, args)
    _one_line_error(result, text)
    assert not out.exists() or not any(out.iterdir())  # no run directory, no metric row


def test_config_check_prints_the_resolved_config() -> None:
    result = runner.invoke(app, ["config", "check", DEMO, "--set", 'finetune.algo="ddpg"'])
    assert result.exit_code == 0, result.output
    assert "ensemble = 1" in result.stdout and 'actor_q = "first"' in result.stdout
    assert "policy_delay = 1" in result.stdout and "target_subset = 1" in result.stdout
    bad = runner.invoke(app, ["config", "check", DEMO, "--set", "eval.every=0"])
    _one_line_error(bad, "eval.every")


# ----------------------------------------------------------------------------- bad files


def test_corrupted_or_malicious_agent_file_is_refused(finished: Path, tmp_path: Path) -> None:
    run_dir = _copy(finished, tmp_path)
    ckpt = run_dir / "checkpoints" / "step_300"
    (ckpt / "agent.pt").write_bytes(b"\x00garbage" * 50)
    _one_line_error(runner.invoke(app, ["probe", "-c", str(ckpt)]), "cannot read checkpoint")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"actor": Evil()}, ckpt / "agent.pt")
    _one_line_error(runner.invoke(app, ["probe", "-c", str(ckpt)]), "cannot read checkpoint")
    assert not marker.exists()
    (ckpt / "agent.pt").write_bytes((finished / "checkpoints/step_300/agent.pt").read_bytes()[:99])
    _one_line_error(runner.invoke(app, ["probe", "-c", str(ckpt)]), "cannot read checkpoint")


def test_unwritable_probe_out_is_refused(finished: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ckpt = str(finished / "checkpoints" / "step_300")
    args = ["probe", "-c", ckpt, "--rollouts", "20", "--set", "probes.n_perturb=4"]
    result = runner.invoke(app, [*args, "--out", str(blocker / "sub")])
    _one_line_error(result, "cannot write the probe files")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_metrics_file_is_refused_by_report(
    finished: Path, tmp_path: Path, damage: str
) -> None:
    run_dir = _copy(finished, tmp_path)
    metrics = run_dir / "metrics.parquet"
    data = metrics.read_bytes()
    metrics.write_bytes(b"not parquet at all" if damage == "garbage" else data[: len(data) // 2])
    result = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "r")])
    _one_line_error(result, "cannot read")


def test_buffer_holding_objects_is_refused_on_resume(finished: Path, tmp_path: Path) -> None:
    run_dir = _copy(finished, tmp_path)
    checkpoints = run_dir / "checkpoints"
    (checkpoints / "latest").unlink()
    os.symlink("step_150", checkpoints / "latest")  # as if killed after step 150
    shutil.rmtree(checkpoints / "step_300")
    buffer = checkpoints / "step_150" / "buffer.npz"
    with open(buffer, "wb") as fh:
        np.savez(fh, rewards=np.array([{"a": 1}, None], dtype=object), ptr=np.int64(0))
    result = runner.invoke(app, ["train", "--resume", str(run_dir), "-q"])
    _one_line_error(result, "cannot read replay buffer")


def test_dataset_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    root.write_text("")
    result = runner.invoke(app, ["data", "list"], env={"MINARI_DATASETS_PATH": str(root)})
    _one_line_error(result, "is a file, not a folder")


# ----------------------------------------------------------------------------- run directories


def test_a_failed_start_leaves_no_run_directory(finished: Path, tmp_path: Path) -> None:
    pre = tmp_path / "pre"
    args = ["train", DEMO, "-q", *TINY, "--set", "checkpoint.save_buffer=false"]
    assert runner.invoke(app, [*args, "--out", str(pre), "--until", "pretrain"]).exit_code == 0
    (pre_run,) = pre.iterdir()
    out = tmp_path / "runs"
    reuse = ["--set", 'pretrain.source="checkpoint"', "--set", f'pretrain.path="{pre_run}"',
             "--set", 'warmstart.load=["actor", "buffer"]', "--out", str(out)]  # fmt: skip
    for _ in range(2):  # the same name each time: nothing is left to make it -2
        _one_line_error(runner.invoke(app, [*args, *reuse]), "holds no buffer")
        assert not out.exists()  # nor the --out folder the failed start made


def test_paths_that_are_not_what_a_command_needs_are_one_line(
    finished: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    export = ["export", str(finished), "--tensorboard", str(blocker)]
    _one_line_error(runner.invoke(app, export), "Not a directory")
    sweep = Path(__file__).parents[2] / "examples" / "sweeps" / "wsrl.toml"
    _one_line_error(runner.invoke(app, ["sweep", str(sweep), "--out", str(blocker)]), "a-file")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    _one_line_error(runner.invoke(app, ["report", str(loop)]), "loop")
    run_dir = _copy(finished, tmp_path)
    shutil.rmtree(run_dir / "checkpoints")
    (run_dir / "checkpoints").write_text("")
    _one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir)]), "is a file")


def test_a_non_finite_random_return_is_refused(finished: Path) -> None:
    result = runner.invoke(app, ["report", str(finished), "--random-return", "nan"])
    _one_line_error(result, "--random-return must be a finite number")


def test_confirming_a_run_without_its_pretrained_agent_starts_nothing(
    finished: Path, tmp_path: Path
) -> None:
    run_dir = _copy(finished, tmp_path)
    shutil.rmtree(run_dir / "checkpoints")
    result = runner.invoke(app, ["diagnose", str(run_dir), "--confirm", "--force"])
    _one_line_error(result, "cannot confirm")
    assert not (run_dir / "counterfactual").exists()


def test_resume_of_a_finished_run_changes_no_file(finished: Path, tmp_path: Path) -> None:
    run_dir = _copy(finished, tmp_path)
    before = _digest(run_dir)
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "already complete" in result.output
    assert _digest(run_dir) == before


def test_a_run_killed_after_its_last_checkpoint_gets_its_end_event(
    finished: Path, tmp_path: Path
) -> None:
    run_dir = _copy(finished, tmp_path)
    events = run_dir / "events.jsonl"
    kept = [line for line in events.read_text().splitlines() if json.loads(line)["event"] != "end"]
    events.write_text("\n".join(kept) + "\n")
    result = runner.invoke(app, ["train", "--resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    kinds = [e["event"] for e in read_events(run_dir)]
    assert kinds[-1] == "end" and kinds.count("end") == 1 and "resume" not in kinds


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["train", "--nope"], "No such option: --nope"),
        (["diagnose"], "Missing argument 'run_dir'"),
        (["sweep", "x.toml", "--jobs", "many"], "Invalid value for '--jobs'"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_a_usage_error_is_one_line_from_the_console_entry_point(
    argv: list[str], text: str, monkeypatch, capsys
) -> None:
    """`wsdiag` (the console script) turns click's usage errors into one line and exit 2, with
    the command's --help named; a good command still exits 0."""
    from wsdiag.cli.main import main

    monkeypatch.setattr("sys.argv", ["wsdiag", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and text in err and "\n" not in err
    assert err.endswith("--help')")
    monkeypatch.setattr("sys.argv", ["wsdiag", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("wsdiag ")


def test_a_budget_shorter_than_the_warm_up_says_how_to_fix_it() -> None:
    args = ["config", "check", DEMO, "--set", "finetune.steps=500"]  # the demo warms up 1,000
    _one_line_error(runner.invoke(app, args), "set finetune.steps above 1000 or shorten")
