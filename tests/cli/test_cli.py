"""`wsdiag` CLI: help, version, a tiny run, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import DEMO_CONFIG, TINY_ARGS, one_line_error
from wsdiag import __version__
from wsdiag.cli.main import app
from wsdiag.training.recorder import read_metrics

runner = CliRunner()
TINY, DEMO = TINY_ARGS, DEMO_CONFIG


def _invoke(*args: str):
    return runner.invoke(app, list(args))


_one_line_error = one_line_error


def test_help_and_version() -> None:
    assert __version__ in _invoke("--version").stdout
    result = _invoke("train", "--help")
    assert result.exit_code == 0
    for option in ("--set", "--out", "--seed", "--resume", "--until", "--quiet", "--debug"):
        assert option in result.stdout


COMMANDS = [["train"], ["probe"], ["report"], ["sweep"], ["data"], ["config"], ["diagnose"],
            ["export"],
            *(["data", c] for c in ("collect", "mix", "concat", "list", "info")),
            ["config", "check"], ["suite"], ["suite", "run"], ["suite", "table"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert f"Usage: wsdiag {' '.join(command)}" in " ".join(result.stdout.split())
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "…" not in result.stdout  # no option name or help word cut at 80 columns


def test_the_cli_imports_no_heavy_module() -> None:
    """`wsdiag --help` answers at once: the entry module loads no learning or plotting stack
    (each command imports what it needs when it runs)."""
    import subprocess
    import sys

    heavy = ("torch", "gymnasium", "matplotlib", "umap", "ray", "sklearn", "pandas", "minari")
    code = f"import sys, wsdiag.cli.main; print(sorted(set({heavy!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_shell_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.completion  # it detects the calling shell, which a background job may lack

    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    script = _invoke("--show-completion")
    assert script.exit_code == 0 and "_WSDIAG_COMPLETE=complete_bash" in script.stdout

    def complete(words: str) -> list[str]:
        env = {"_WSDIAG_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (not words.endswith(" ")))}  # fmt: skip
        result = runner.invoke(app, [], env=env, prog_name="wsdiag")
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert complete("wsdiag rep") == ["report"]
    assert complete("wsdiag report --embedding ") == ["auto", "umap", "pca"]
    assert complete("wsdiag train --until ") == ["pretrain"]


@pytest.mark.parametrize(
    ("args", "valid"),
    [(["train", DEMO, "--until", "finetune"], "'pretrain'"),
     (["report", ".", "--embedding", "tsne"], "'auto', 'umap', 'pca'")],
)  # fmt: skip
def test_choices_are_refused_by_the_parser(args: list[str], valid: str) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"is not one of {valid}" in " ".join(result.stderr.replace("│", " ").split())


def test_train_tiny_run_and_resume_complete(tmp_path: Path) -> None:
    result = _invoke("train", DEMO, "--out", str(tmp_path), "--seed", "5", *TINY)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "demo-pendulum-td3-seed5"
    assert "run directory" in result.stderr and "baseline" in result.stdout
    assert "finetune step 300/" in result.stderr  # plain progress lines outside a terminal
    assert "pretrain step 300/" in result.stderr and "pretrain pretrain" not in result.stderr
    assert "exists already" not in result.stderr
    assert (run_dir / "config.toml").read_text().count("seed = 5") == 1
    assert "eval/baseline_return" in set(read_metrics(run_dir).key)
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["device"] == "cpu" and meta["device_requested"] == "cpu"  # the demo's device
    assert meta["cpu"]["torch_capability"] and meta["cpu"]["machine"]  # what decides the floats
    again = _invoke("train", "--resume", str(run_dir))
    assert again.exit_code == 0 and "already complete" in again.stderr
    quiet = _invoke("train", "--resume", str(run_dir), "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == f"{run_dir}\n"
    second = _invoke("train", DEMO, "--out", str(tmp_path), "--seed", "5", *TINY)
    assert f"{run_dir} exists already: this run is {run_dir.name}-2" in second.stderr


def test_meta_json_records_the_device_auto_resolves_to(tmp_path: Path) -> None:
    result = _invoke("train", DEMO, "--out", str(tmp_path), "-q", *TINY, "--until", "pretrain",
                     "--set", 'device="auto"')  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip())
    assert result.stderr == "" and run_dir.parent == tmp_path  # --quiet: the path alone
    meta = json.loads((run_dir / "meta.json").read_text())
    import torch

    expected = f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
    assert meta["device_requested"] == "auto" and meta["device"] == expected


def test_until_pretrain_then_reuse(tmp_path: Path) -> None:
    result = _invoke("train", DEMO, "--out", str(tmp_path), "--until", "pretrain", "-q", *TINY)
    assert result.exit_code == 0, result.output
    pre = tmp_path / "demo-pendulum-td3-seed0"
    assert (pre / "checkpoints" / "pretrained" / "agent.pt").exists()
    args = ["--set", 'pretrain.source="checkpoint"', "--set", f'pretrain.path="{pre}"']
    result = _invoke("train", DEMO, "--out", str(tmp_path), "-q", *TINY, *args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--set", 'env.id="Pendulm-v1"'], "unknown environment id 'Pendulm-v1'"),
        (["--set", 'finetune.algo="td4"'], "finetune.algo = 'td4'"),
        (["--set", "finetune.stepz=3"], "did you mean 'steps'"),
        (["--set", 'pretrain.source="checkpoint"', "--set", 'pretrain.path="/nope"'],
         "checkpoint not found: /nope"),
    ],
)  # fmt: skip
def test_bad_input_is_one_red_line_exit_2(tmp_path: Path, args: list[str], text: str) -> None:
    _one_line_error(_invoke("train", DEMO, "--out", str(tmp_path), *TINY, *args), 2, text)


def test_bad_files_and_dirs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    _one_line_error(_invoke("train", str(bad)), 2, "invalid TOML")
    _one_line_error(_invoke("train", str(tmp_path / "none.toml")), 2, "config file not found")
    _one_line_error(_invoke("train", "--resume", str(tmp_path)), 2, "not a wsdiag run directory")
    _one_line_error(_invoke("train"), 2, "give a CONFIG.toml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_dir(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    _one_line_error(_invoke("train", DEMO, "--out", str(locked / "x")), 2, "cannot create run")


def test_out_path_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    _one_line_error(_invoke("train", DEMO, "--out", str(blocker), *TINY), 2, "cannot create run")


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    result = _invoke("train", str(tmp_path / "none.toml"), "--debug")
    assert result.exit_code != 0 and result.exception is not None


def test_probe_checkpoint_of_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _invoke("train", DEMO, "--out", str(tmp_path), "-q", *TINY).exit_code == 0
    run_dir = tmp_path / "demo-pendulum-td3-seed0"
    out = tmp_path / "probe-out"
    args = ["--rollouts", "50", "--set", "probes.n_perturb=8", "--out", str(out)]
    result = _invoke("probe", "--checkpoint", str(run_dir / "checkpoints" / "step_300"), *args)
    assert result.exit_code == 0, result.output
    assert "q_percentile" in result.stdout and "pretrained/q_percentile" in result.stdout
    assert "checkpoints/pretrained" in result.stderr  # the sibling reference was found
    record = json.loads((out / "probes" / "step_300.json").read_text())
    assert record["scalars"]["kl/online"] >= 0
    assert -1 <= record["scalars"]["grad_cos_pooled/behaviour"] <= 1
    assert (out / "probes" / "step_300.npz").exists()
    pre = _invoke("probe", "-c", str(run_dir), "--rollouts", "20", "--out", str(tmp_path / "p2"))
    assert pre.exit_code == 0 and "none" in pre.stderr  # the pretrained agent has no reference
    monkeypatch.chdir(tmp_path)  # the default output folder is relative: probes/<checkpoint>
    latest = _invoke("probe", "-c", str(run_dir / "checkpoints" / "latest"), "--rollouts", "20",
                     "--set", "probes.n_perturb=8", "--quiet")  # fmt: skip
    assert latest.exit_code == 0 and latest.stderr == "", latest.output
    assert latest.stdout == f"{Path('probes') / 'step_300' / 'probes'}\n"  # where latest points
    assert (tmp_path / "probes" / "step_300" / "probes" / "step_300.json").is_file()
    assert not (tmp_path / "probes" / "latest").exists()


def test_probe_bad_input(tmp_path: Path) -> None:
    _one_line_error(_invoke("probe", "-c", str(tmp_path / "nope")), 2, "checkpoint not found")
    assert (
        _invoke("train", DEMO, "--out", str(tmp_path), "-q", "--until", "pretrain", *TINY).exit_code
        == 0
    )
    pre = tmp_path / "demo-pendulum-td3-seed0"
    other = tmp_path / "other"
    args = ["--set", 'env.id="InvertedPendulum-v5"', "--until", "pretrain", "--out", str(other)]
    assert _invoke("train", DEMO, "-q", *TINY, *args).exit_code == 0
    wrong = other / "demo-pendulum-td3-seed0"
    _one_line_error(
        _invoke("probe", "-c", str(pre), "--reference", str(wrong)), 2, "observations of shape (4,)"
    )
    _one_line_error(_invoke("probe", "-c", str(pre), "--set", "finetune.steps=3"), 2, "probes.*")
    _one_line_error(_invoke("probe", "-c", str(pre), "--rollouts", "0"), 2, "--rollouts")


def test_data_commands(tmp_path: Path) -> None:
    base = ["data", "collect", "cli/pendulum/random-v0", "--env", "Pendulum-v1", "--steps", "400"]
    result = _invoke(*base, "--ref-episodes", "1", "--ref-max", "-100")
    assert result.exit_code == 0, result.output
    assert "2 episodes, 400 steps" in result.stderr
    _one_line_error(_invoke(*base), 2, "already exists")
    args = ["data", "collect", "cli/pendulum/other-v0", "--env", "Pendulum-v1", "--steps", "200"]
    assert _invoke(*args, "--label", "medium", "--seed", "3").exit_code == 0
    mix = ["data", "mix", "cli/pendulum/random-v0", "cli/pendulum/other-v0", "--percent", "50"]
    result = _invoke(*mix, "--out", "cli/pendulum/mixed-v0")
    assert result.exit_code == 0, result.output
    assert "2 episodes, 400 steps" in result.stderr
    cat = ["data", "concat", "cli/pendulum/random-v0", "cli/pendulum/other-v0"]
    assert _invoke(*cat, "--out", "cli/pendulum/cat-v0").exit_code == 0
    listing = _invoke("data", "list")
    assert listing.exit_code == 0 and "cli/pendulum/mixed-v0" in listing.stdout
    narrow = runner.invoke(app, ["data", "list"], env={"COLUMNS": "80"})
    assert "…" not in narrow.stdout and "mean return -" in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    info = _invoke("data", "info", "cli/pendulum/mixed-v0")
    assert "non-expert" in info.stdout and "200 transitions" in info.stdout
    _one_line_error(_invoke("data", "info", "cli/none-v0"), 2, "is not on this machine")
    _one_line_error(_invoke("data", "collect", "cli/x-v0"), 2, "--env is needed")
    _one_line_error(_invoke(*mix, "--out", "cli/y-v0", "--percent", "0"), 2, "must be in (0, 100)")


@pytest.mark.slow
def test_train_with_report(tmp_path: Path) -> None:
    args = ["--set", "probes.states=32", "--set", "probes.n_perturb=8", "--report"]
    result = _invoke("train", DEMO, "--out", str(tmp_path), "-q", *TINY, *args)
    assert result.exit_code == 0, result.output
    report = tmp_path / "demo-pendulum-td3-seed0" / "report"
    assert (report / "report.html").stat().st_size > 1000 and (report / "summary.md").exists()
