"""`wsdiag suite`: the tables and metrics of record files, the split (kept, and refused in one
line where a scenario is in both or a test scenario was run for dev), and `suite run`'s records
(its sweep and confirmations replaced by stand-ins)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import one_line_error
from wsdiag.cli.main import app
from wsdiag.suite import collect as suite_collect
from wsdiag.suite import run as suite_run
from wsdiag.suite.record import SuiteRecord, read_records, write_records

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "examples" / "results" / "diagnosis_suite.jsonl"
SUITE = ROOT / "examples" / "sweeps" / "diagnosis_suite.toml"
runner = CliRunner()


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def record(run: str, split: str | None = None) -> SuiteRecord:
    return SuiteRecord(run, True, "extrapolation", "extrapolation", 500.0, 900, 100, split=split)


@pytest.fixture
def split_file(tmp_path: Path) -> Path:
    path = tmp_path / "split.toml"
    path.write_text('dev = ["p/a", "diagnosis_suite/actor-warmup"]\n'
                    'test = ["p/b", "diagnosis_suite/actor-critic"]\n')  # fmt: skip
    return path


def test_the_table_of_the_committed_records_prints_kappa_and_the_baseline() -> None:
    result = _invoke("suite", "table", RECORDS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    kappa = "| Cohen's kappa [95% CI, scenarios resampled] | 0.68 ["
    assert any(x.startswith(kappa) for x in lines)
    assert "| kappa of the majority-class baseline (always 'extrapolation') | 0.00" in result.stdout
    assert "| accuracy (verdict = truth) | 15/18 (83%) |" in lines
    # its 13 degrading runs: always "extrapolation", 10 of them right, kappa 0 throughout
    alone = ("| Cohen's kappa of the degrading runs alone [95% CI] | 0.00 [0.00, 0.00] (accuracy "
             "10/13 (77%); always 'extrapolation': 0) |")  # fmt: skip
    assert alone in lines
    assert "runs: 18, significantly degrading: 13" in result.stdout  # the existing tables too


def test_the_benchmark_table_sets_the_verdict_beside_each_fixed_recommendation() -> None:
    parts = sorted((RECORDS.parent / "benchmark").glob("*.test.jsonl"))
    result = _invoke("suite", "table", *parts)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    head = "following the recommendation, over the 12 runs confirmed on their own seeds "
    assert head + "(95% CI, runs resampled):" in lines
    # the first test split: the frozen rules' verdicts removed less than "always extrapolation"
    assert "| the verdict's cause | 8% [-47, 45] | 46% [8, 107] |  |" in lines
    assert "| always extrapolation | 42% [26, 58] | 12% [5, 24] | -34% [-93, -2] |" in lines


def test_a_split_keeps_its_scenarios(tmp_path: Path, split_file: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_records([record("p/a-seed0", "dev"), record("p/a-seed1", "dev"),
                   record("p/b-seed0", "test"), record("p/c-seed0")], path)  # fmt: skip
    dev = _invoke("suite", "table", path, "--split", "dev", "--split-file", split_file)
    assert dev.exit_code == 0, dev.output
    assert "runs with a ground truth: 2 " in dev.stdout
    test = _invoke("suite", "table", path, "--split", "test", "--split-file", split_file)
    assert test.exit_code == 0 and "runs with a ground truth: 1 " in test.stdout


@pytest.mark.parametrize(
    ("split", "records", "text"),
    [
        ('dev = ["p/a"]\ntest = ["p/b", "p/a"]\n', [], "scenario 'p/a' is in both dev and test"),
        ('dev = ["p/a"]\ntest = ["p/b"]\n', [("p/b-seed1", "dev")],
         "test scenario 'p/b' has a record made for the dev split (p/b-seed1)"),
        ('dev = ["p/a"]\nheld = ["p/b"]\n', [], "unknown key 'held'"),
        ('dev = ["a"]\n', [], "dev: a list of scenarios named 'part/variant'"),
    ],
)  # fmt: skip
def test_a_split_that_leaks_is_refused_in_one_line(
    tmp_path: Path, split: str, records: list[tuple[str, str]], text: str
) -> None:
    (tmp_path / "split.toml").write_text(split)
    path = tmp_path / "r.jsonl"
    write_records([record("p/a-seed0", "dev"), *(record(*r) for r in records)], path)
    for which in ("test", "dev"):
        result = runner.invoke(app, ["suite", "table", str(path), "--split", which,
                                     "--split-file", str(tmp_path / "split.toml")])  # fmt: skip
        one_line_error(result, 2, text)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--split", "val", "--split-file", "s.toml"], "--split val: unknown split"),
        (["--split", "dev"], "--split needs --split-file"),
        (["--split", "dev", "--split-file", "missing.toml"], "split file not found"),
    ],
)
def test_bad_split_options_are_refused_in_one_line(args: list[str], text: str) -> None:
    one_line_error(_invoke("suite", "table", RECORDS, *args), 2, text)


def test_a_file_that_is_no_record_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text("not json\n")
    one_line_error(_invoke("suite", "table", tmp_path / "bad.jsonl"), 2, "not a suite record")
    (tmp_path / "empty.jsonl").write_text("")
    one_line_error(_invoke("suite", "table", tmp_path / "empty.jsonl"), 2, "no record in")


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """`run_part` and `collect` replaced: the calls are kept, each variant asked for gives a
    record of seed 0."""
    calls: list[dict] = []

    def run_part(suite, out, jobs, seeds, console=None, variants=None, control=False,
                 by_scenario=False, strengths="first", max_seeds=None):  # fmt: skip
        calls.append({"suite": suite, "jobs": jobs, "seeds": seeds, "variants": variants,
                      "control": control, "by_scenario": by_scenario,
                      "strengths": strengths, "max_seeds": max_seeds})  # fmt: skip
        return out / "diagnosis_suite" / "runs"

    def collect(runs, replay=False, keep=None, by_scenario=False):
        names = ["actor-warmup-seed0", "actor-critic-seed0"]
        return [record(n) for n in names if keep is None or keep(n)]

    monkeypatch.setattr(suite_run, "run_part", run_part)
    monkeypatch.setattr(suite_collect, "collect", collect)
    return calls


def test_suite_run_writes_the_records_of_its_split(
    tmp_path: Path, split_file: Path, stand_ins: list[dict]
) -> None:
    out = tmp_path / "runs"
    result = _invoke("suite", "run", SUITE, "--out", out, "--split", "dev", "--split-file",
                     split_file, "--jobs", 2, "--seeds", 6, "--control")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stand_ins == [{"suite": SUITE, "jobs": 2, "seeds": 6, "variants": {"actor-warmup"},
                          "control": True, "by_scenario": True,
                          "strengths": "first", "max_seeds": 10}]  # fmt: skip
    (row,) = read_records(out / "diagnosis_suite.dev.jsonl")
    assert (row.run, row.split) == ("diagnosis_suite/actor-warmup-seed0", "dev")
    whole = _invoke("suite", "run", SUITE, "--out", out, "--quiet")
    assert whole.exit_code == 0 and whole.stdout.strip() == str(out / "diagnosis_suite.jsonl")
    assert stand_ins[-1]["variants"] is None and stand_ins[-1]["seeds"] == 5
    assert not stand_ins[-1]["control"]
    _invoke("suite", "run", SUITE, "--out", out, "--each-run", "--max-seeds", 20)
    assert stand_ins[-1]["by_scenario"] is False and stand_ins[-1]["max_seeds"] == 20
    assert len(read_records(out / "diagnosis_suite.jsonl")) == 2


def test_suite_run_refuses_a_test_scenario_run_for_dev(
    tmp_path: Path, split_file: Path, stand_ins: list[dict]
) -> None:
    out = tmp_path / "runs"
    write_records([record("diagnosis_suite/actor-critic-seed0", "dev")],
                  out / "diagnosis_suite.dev.jsonl")  # fmt: skip
    result = _invoke("suite", "run", SUITE, "--out", out, "--split", "test", "--split-file",
                     split_file)  # fmt: skip
    one_line_error(result, 2, "test scenario 'diagnosis_suite/actor-critic' has a record made")
    assert stand_ins == []  # nothing ran
    other = tmp_path / "other.toml"
    other.write_text('dev = ["p/a"]\ntest = ["p/b"]\n')
    result = _invoke("suite", "run", SUITE, "--out", out, "--split", "dev", "--split-file", other)
    one_line_error(result, 2, "no scenario of")
    one_line_error(_invoke("suite", "run", SUITE, "--seeds", 0), 2, "--seeds and --jobs")
    one_line_error(_invoke("suite", "run", SUITE, "--seeds", 6, "--max-seeds", 5), 2,
                   "--max-seeds (5) is below --seeds (6)")  # fmt: skip


def test_suite_run_strengths_reach_each_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`suite run --strengths all`: the option passes through `run_part` and `confirm_one` to
    `confirm_run` (the sweep, the runs and the records replaced); unknown values are refused."""
    from types import SimpleNamespace

    runs = tmp_path / "runs" / "diagnosis_suite" / "runs"
    passed: list[tuple[str, int]] = []

    class InlinePool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> InlinePool:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def submit(self, fn, *args, **kwargs):
            return SimpleNamespace(result=lambda: fn(*args, **kwargs))

    diagnosis = SimpleNamespace(significant=True, causes=[])
    monkeypatch.setattr(suite_run, "run_sweep", lambda *a: runs)
    monkeypatch.setattr(suite_run, "to_confirm", lambda *a: ([runs / "a-seed0"], []))
    monkeypatch.setattr(suite_run, "first_degrading", lambda kept: (kept, []))
    monkeypatch.setattr(suite_run, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(suite_run, "load_run", lambda path: path)
    monkeypatch.setattr(suite_run, "summarise", lambda *a: SimpleNamespace(diagnosis=diagnosis))

    def confirm_run(*args, **kwargs) -> None:
        passed.append((kwargs["strengths"], kwargs["max_seeds"]))

    monkeypatch.setattr(suite_run, "confirm_run", confirm_run)
    monkeypatch.setattr(suite_collect, "collect", lambda *a, **k: [record("actor-warmup-seed0")])
    out = tmp_path / "runs"
    assert _invoke("suite", "run", SUITE, "--out", out, "--strengths", "all").exit_code == 0
    assert _invoke("suite", "run", SUITE, "--out", out, "--max-seeds", 20).exit_code == 0
    assert passed == [("all", 10), ("first", 20)]
    one_line_error(_invoke("suite", "run", SUITE, "--strengths", "some"), 2,
                   "--strengths must be one of first, all, got 'some'")  # fmt: skip


def test_own_truth_scores_only_the_runs_whose_own_confirmation_gave_their_truth(
    tmp_path: Path,
) -> None:
    rows = [record("p/a-seed0"), replace(record("p/a-seed1"), truth_from="a-seed0")]
    write_records(rows, tmp_path / "r.jsonl")
    every = _invoke("suite", "table", tmp_path / "r.jsonl")
    own = _invoke("suite", "table", tmp_path / "r.jsonl", "--own-truth")
    assert every.exit_code == own.exit_code == 0, own.output
    assert "accuracy (verdict = truth) | 2/2" in every.stdout
    assert "accuracy (verdict = truth) | 1/1" in own.stdout


@pytest.mark.slow
def test_a_tiny_suite_runs_for_real_and_writes_records_and_a_table(tmp_path: Path) -> None:
    """`suite run` on a tiny Pendulum sweep (seconds): the sweep runs, every run gets a record
    marked with its split, and `suite table` scores them."""
    demo = ROOT / "wsdiag" / "configs" / "demo.toml"
    suite = tmp_path / "tiny.toml"
    suite.write_text(f'name = "tiny"\nbase = "{demo}"\nseeds = [0, 1]\n[set]\n'
                     '"pretrain.steps" = 300\n"pretrain.learning_starts" = 100\n'
                     '"pretrain.hidden" = [16, 16]\n"finetune.hidden" = [16, 16]\n'
                     '"finetune.steps" = 300\n"warmstart.warmup_steps" = 100\n'
                     '"eval.every" = 150\n"eval.episodes" = 1\n"checkpoint.every" = 0\n'
                     '[[variant]]\nname = "a"\n')  # fmt: skip
    split = tmp_path / "split.toml"
    split.write_text('test = ["tiny/a"]\n')
    out = tmp_path / "runs"
    result = _invoke("suite", "run", suite, "--out", out, "--split", "test", "--split-file",
                     split, "--jobs", 2, "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read_records(out / "tiny.test.jsonl")
    assert sorted(r.run for r in rows) == ["tiny/a-seed0", "tiny/a-seed1"]
    assert all(r.split == "test" and r.eval_steps for r in rows)
    table = _invoke("suite", "table", out / "tiny.test.jsonl", "--split", "test",
                    "--split-file", split)  # fmt: skip
    assert table.exit_code == 0 and "accuracy (verdict = truth)" in table.stdout
