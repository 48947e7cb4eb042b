"""examples/cleanrl_td3.py: a CleanRL-style TD3 fine-tune that wsdiag.api records in at most 15
marked lines, into a run directory that `wsdiag diagnose` reads."""

from __future__ import annotations

import ast
import builtins
import json
import sys
import tomllib
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsdiag import probe_keys as keys
from wsdiag.cli.main import app
from wsdiag.rundir import read_metrics

EXAMPLE = Path(__file__).parents[2] / "examples" / "cleanrl_td3.py"
MARK = "# wsdiag"
# pretraining 300 steps, fine-tuning 400: warm-up [0, 200), policy updates [200, 400)
TINY = ["--pretrain-steps", "300", "--pretrain-random-steps", "100", "--total-steps", "400",
        "--learning-starts", "200", "--batch-size", "32", "--hidden", "32", "--eval-every", "200",
        "--eval-episodes", "1", "--probe-every", "200"]  # fmt: skip


@pytest.mark.slow
def test_the_example_records_a_run_that_diagnose_reads(tmp_path: Path) -> None:
    from examples.cleanrl_td3 import main

    run_dir = main(["--out", str(tmp_path / "cleanrl"), *TINY])
    assert run_dir == tmp_path / "cleanrl"
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert config["trainer"] == "cleanrl"
    assert config["warmstart"]["warmup_steps"] == 200
    assert config["warmstart"]["freeze_policy_steps"] == 0
    assert config["finetune"]["steps"] == 400

    metrics = read_metrics(run_dir)
    evals = metrics[metrics.key == "eval/return"]
    assert list(zip(evals.step, evals.phase, strict=True)) == [
        (0, "warmup"), (200, "warmup"), (400, "finetune")
    ]  # fmt: skip
    probes = metrics[metrics.key == keys.metric(keys.Q_PERCENTILE)]
    assert list(zip(probes.step, probes.phase, strict=True)) == [
        (0, "warmup"), (200, "warmup"), (400, "finetune")
    ]  # fmt: skip
    # the online-state probes read the example's buffer through `online=`
    online = metrics[metrics.key == keys.metric(keys.TD_ERROR_ONLINE)]
    assert set(online.step) >= {200, 400}
    assert (metrics.key == "train/episode_return").sum() == 2  # run.log at each episode's end
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["reason"] == "step_budget"

    result = CliRunner().invoke(app, ["diagnose", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "critic extrapolation" in result.output  # the table of causes, judged


@pytest.mark.slow
def test_the_script_trains_the_same_without_its_wsdiag_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording draws nothing from the training's random streams: the fine-tuning's episode
    returns are those of the script with its marked lines deleted."""
    from examples.cleanrl_td3 import main

    def returns(out: str) -> list[str]:
        return [line for line in out.splitlines() if line.startswith("finetune step=")]

    main(["--out", str(tmp_path / "recorded"), *TINY])
    recorded = returns(capsys.readouterr().out)
    plain = [line for line in EXAMPLE.read_text().splitlines() if MARK not in line]
    module = types.ModuleType("cleanrl_td3_without_wsdiag")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # for its dataclasses
    exec(compile("\n".join(plain), str(EXAMPLE), "exec"), module.__dict__)
    module.main(["--out", str(tmp_path / "plain"), *TINY])
    assert len(recorded) == 2  # one line per 200-step episode
    assert returns(capsys.readouterr().out) == recorded
    assert not (tmp_path / "plain").exists()


def test_wsdiag_is_at_most_15_marked_lines_and_the_script_is_whole_without_them() -> None:
    """Every line of the example that touches wsdiag carries `# wsdiag`: the script with those
    lines deleted still parses, imports nothing of wsdiag, and reads no undefined name."""
    lines = EXAMPLE.read_text().splitlines()
    marked = [line for line in lines if MARK in line]
    assert 0 < len(marked) <= 15, marked
    tree = ast.parse("\n".join(line for line in lines if MARK not in line))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("wsdiag")]
    assert not _undefined_names(tree)


def _undefined_names(tree: ast.Module) -> set[str]:
    """Names a module reads that nothing in it defines (nor builtins): a coarse check that
    ignores scopes, enough to catch a use whose definition was deleted."""
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return {n.id for n in names if isinstance(n.ctx, ast.Load)} - bound


def test_the_check_sees_a_wsdiag_line_left_unmarked() -> None:
    """The check above can fail: a `run.step` kept without its mark reads an undefined name."""
    lines = [line.split(MARK)[0] if "run.step(" in line else line
             for line in EXAMPLE.read_text().splitlines()]  # fmt: skip
    kept = [line for line in lines if MARK not in line]
    assert _undefined_names(ast.parse("\n".join(kept))) == {"run"}
