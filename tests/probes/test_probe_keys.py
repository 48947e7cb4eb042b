"""The probe-key registry: a tiny run records exactly the committed keys, a key renamed in the
registry is followed by the probes, the diagnosis and the figures, older runs' names read
through `migrate`, no layer spells a key itself, and docs/probes.md lists every key."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import tiny_config
from wsdiag import probe_keys as keys
from wsdiag.analysis.diagnose import NA, diagnose
from wsdiag.analysis.rules import TITLES
from wsdiag.analysis.run import Run, load_run
from wsdiag.config import Config, dump_config
from wsdiag.report.figures import RUN_FIGURES
from wsdiag.report.probe_series import panels, series_of
from wsdiag.training.experiment import Experiment

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "wsdiag"
DOC = ROOT / "docs" / "probes.md"

# What a tiny actor+critic warm start with the frozen-critic protocol records (labels:
# `behaviour`): metric names beginning probe/ or warn/, and the arrays of its probe files.
RECORDED_METRICS = (
    "probe/action_mse/behaviour", "probe/action_mse/online", "probe/action_rms/behaviour",
    "probe/action_rms/online", "probe/divergence/behaviour", "probe/frozen/sbeta_pibeta",
    "probe/frozen/sbeta_piu", "probe/frozen/su_pibeta", "probe/frozen/su_piu",
    "probe/frozen_protocol/sbeta_pibeta", "probe/frozen_protocol/sbeta_piu",
    "probe/frozen_protocol/su_pibeta", "probe/frozen_protocol/su_piu", "probe/grad_cos/behaviour",
    "probe/grad_cos_pooled/behaviour", "probe/grad_norm/behaviour/max",
    "probe/grad_norm/behaviour/mean", "probe/grad_norm/behaviour/median",
    "probe/grad_norm/behaviour/p90", "probe/grad_norm/label/behaviour",
    "probe/grad_norm/policy/max", "probe/grad_norm/policy/mean", "probe/grad_norm/policy/median",
    "probe/grad_norm/policy/p90", "probe/grad_norm/random/max", "probe/grad_norm/random/mean",
    "probe/grad_norm/random/median", "probe/grad_norm/random/p90", "probe/kl/behaviour",
    "probe/kl/online", "probe/policy_grad_norm", "probe/pretrained/grad_norm/behaviour/max",
    "probe/pretrained/grad_norm/behaviour/mean", "probe/pretrained/grad_norm/behaviour/median",
    "probe/pretrained/grad_norm/behaviour/p90", "probe/pretrained/q_percentile",
    "probe/pretrained/q_percentile/median", "probe/pretrained/q_percentile_unclipped",
    "probe/pretrained/q_percentile_unclipped/median", "probe/pretrained/q_percentile_uniform",
    "probe/pretrained/q_percentile_uniform/median", "probe/q/behaviour", "probe/q/online",
    "probe/q_kl/behaviour", "probe/q_kl/online", "probe/q_percentile", "probe/q_percentile/median",
    "probe/q_percentile_unclipped", "probe/q_percentile_unclipped/median",
    "probe/q_percentile_uniform", "probe/q_percentile_uniform/median", "probe/td_error/behaviour",
    "probe/td_error/online", "warn/action_rms",
)  # fmt: skip
RECORDED_ARRAYS = (
    "action_mse/behaviour", "action_mse/online", "action_rms/behaviour", "action_rms/online",
    "behaviour_states", "frozen/sbeta_pibeta", "frozen/sbeta_piu", "frozen/su_pibeta",
    "frozen/su_piu", "frozen_protocol/sbeta_pibeta", "frozen_protocol/sbeta_piu",
    "frozen_protocol/su_pibeta", "frozen_protocol/su_piu", "grad_cos/behaviour",
    "grad_norm/behaviour", "grad_norm/policy", "grad_norm/random", "kl/behaviour", "kl/online",
    "landscape/actions", "landscape/percentile", "landscape/perturbed", "landscape/q",
    "landscape/q_ref", "landscape/states", "online_states", "pretrained/grad_norm/behaviour",
    "pretrained/landscape/q", "pretrained/landscape/q_ref", "pretrained/q_percentile",
    "pretrained/q_percentile_unclipped", "pretrained/q_percentile_uniform", "q/behaviour",
    "q/online", "q_by_label/behaviour", "q_by_label/random", "q_kl/behaviour", "q_kl/online",
    "q_percentile", "q_percentile_unclipped", "q_percentile_uniform", "td_error/behaviour",
    "td_error/online",
)  # fmt: skip


def _config() -> Config:
    probes = {"every": 100, "states": 32, "n_perturb": 16, "landscape_perturb": 32,
              "frozen_protocol_steps": 5}  # fmt: skip
    return tiny_config(probes=probes, warmstart={"load": ["actor", "critic"]})


def _run(runs: Path) -> Run:
    return load_run(Experiment.create(_config(), runs, progress="none").run())


def _recorded(run: Run) -> tuple[set[str], set[str]]:
    """The probe/ and warn/ metric names of a run, and the array names of its probe files."""
    metrics = {k for k in run.metrics.key if k.startswith(("probe/", "warn/"))}
    arrays = {a for step in run.probe_steps for a in run.probe_keys(step)}
    return metrics, arrays


def _registered(name: str) -> bool:
    """Whether a recorded name is one of the registry's, or a member of one of its families."""
    for key in keys.registry():
        if "<" in key.name:
            variants = [key.prefix] + [v + key.prefix for v in key.variants]
            if any(name.startswith(p) for p in variants):
                return True
        elif name in keys.names(key):
            return True
    return False


def test_a_run_records_the_committed_keys_and_each_is_registered(runs: Path) -> None:
    metrics, arrays = _recorded(_run(runs))
    assert metrics == set(RECORDED_METRICS)
    assert arrays == set(RECORDED_ARRAYS)
    plain = {m.removeprefix(keys.PROBE) for m in metrics}
    assert [n for n in sorted(plain | arrays) if not _registered(n)] == []


def test_a_key_renamed_in_the_registry_is_followed_by_every_layer(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "Q_PERCENTILE", dataclasses.replace(keys.Q_PERCENTILE, name="q_pct"))
    run = _run(runs)
    metrics, arrays = _recorded(run)
    assert {"probe/q_pct", "probe/q_pct/median", "probe/pretrained/q_pct"} <= metrics
    assert {"q_pct", "pretrained/q_pct"} <= arrays
    assert "probe/q_percentile" not in metrics and "q_percentile" not in arrays
    # the diagnosis reads the renamed key
    d = diagnose(run.metrics, policy_start=run.policy_start, update_start=run.update_start,
                 warm=run.warm_start)  # fmt: skip
    found = next(f for f in d.findings if f.cause == "extrapolation")
    assert found.status != NA and "q_pct" in found.numbers, found.evidence
    # and so does the probe figure's data
    series = series_of(run)
    assert len(series["probe/q_pct"][0]) == len(run.series("probe/q_pct")[0]) > 0
    q_panel = next(p for p in panels() if p.title.startswith("Q-percentile"))
    assert {"probe/q_pct", "probe/pretrained/q_pct"} <= {k for k, _ in q_panel.lines}


def test_older_runs_offline_keys_read_through_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert keys.migrate("probe/td_error/offline") == keys.metric(keys.TD_ERROR_BEHAVIOUR)
    assert keys.migrate("probe/pretrained/x/offline") == "probe/pretrained/x/behaviour"
    for current in ("probe/td_error/behaviour", "probe/kl/online", "eval/offline", "probe/offline"):
        assert keys.migrate(current) == current
    (tmp_path / "config.toml").write_text(dump_config(tiny_config()))
    rows = [(0, "warmup", "probe/td_error/offline", 1.0), (0, "warmup", "probe/q/offline", 2.0),
            (0, "warmup", "probe/kl/online", 3.0)]  # fmt: skip
    pd.DataFrame(rows, columns=["step", "phase", "key", "value"]).to_parquet(
        tmp_path / "metrics.parquet"
    )
    seen, migrate = [], keys.migrate

    def spy(name: str) -> str:
        seen.append(name)
        return migrate(name)

    monkeypatch.setattr(keys, "migrate", spy)
    run = load_run(tmp_path)
    assert sorted(seen) == sorted(r[2] for r in rows)
    assert run.keys == sorted(map(keys.metric, (keys.KL_ONLINE, keys.Q_BEHAVIOUR,
                                                 keys.TD_ERROR_BEHAVIOUR)))  # fmt: skip
    assert run.series(keys.metric(keys.TD_ERROR_BEHAVIOUR))[1].tolist() == [1.0]


# ----------------------------------------------------------------------------- one spelling


def _spellings() -> tuple[set[str], tuple[str, ...]]:
    """(names a literal may not equal, prefixes it may not start with): every recorded name,
    each of its leading `.../` parts, and the families' and `probe/`'s prefixes."""
    exact: set[str] = set()
    starts = {keys.PROBE}
    for key in keys.registry():
        if "<" in key.name:
            starts |= {key.prefix} | {v + key.prefix for v in key.variants}
            continue
        exact |= {key.name, keys.metric(key), *keys.names(key)}
    for name in list(exact):
        exact |= {name[: i + 1] for i, c in enumerate(name) if c == "/"}
    return exact, tuple(starts)


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of the string literals of a module, f-string parts included, docstrings
    and `__all__` (function names such as `q_percentile`) left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    skipped = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, documented)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skipped |= {id(n) for n in ast.walk(node.value)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
        ):
            yield node.lineno, node.value


def _spelled(path: Path) -> list[tuple[int, str]]:
    """The literals of a module that spell a probe key (or its start) themselves."""
    exact, starts = _spellings()
    return [(n, text) for n, text in _literals(path) if text in exact or text.startswith(starts)]


def test_no_module_spells_a_probe_key_outside_the_registry() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != PACKAGE / "probe_keys.py"
        for line, text in _spelled(path)
    ]
    assert found == [], "name these through wsdiag.probe_keys:\n" + "\n".join(found)


def test_the_literal_check_finds_the_old_spellings(tmp_path: Path) -> None:
    module = tmp_path / "old.py"
    module.write_text('"""Doc naming q_percentile."""\n'
                      'A = "q_percentile"\nB = f"probe/{A}"\nC = f"divergence/{A}"\n'
                      'D = f"td_error/{A}"\nE = "warn/action_rms"\nF = "online"\n')  # fmt: skip
    assert sorted(line for line, _ in _spelled(module)) == [2, 3, 4, 5, 6]


# ----------------------------------------------------------------------------- metadata


def test_every_figure_and_rule_named_by_the_registry_exists() -> None:
    registry = keys.registry()
    assert len({k.name for k in registry}) == len(registry)
    figures = {name for name, *_ in RUN_FIGURES}
    assert {f for k in registry for f in k.figures} <= figures
    assert {r for k in registry for r in k.rules} <= set(TITLES) | {keys.EARLY_WARNING}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(key: keys.ProbeKey) -> str:
    """The docs/probes.md table row of a key."""
    stored = " + ".join(s for s, on in (("metric", key.metric), ("array", key.array)) if on)
    stored += "".join(f", `/{s}`" for s in key.stats)
    variants = ", ".join(f"`{v}`" for v in key.variants) + ("" if key.bare else " (only)")
    cells = (f"`{key.name}`", stored, variants if key.variants else "", _cell(key.meaning),
             key.unit, ", ".join(key.figures), ", ".join(key.rules))  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def test_the_docs_table_lists_every_registry_key_as_registered() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("| key | recorded | also as | meaning | unit | figure | rule |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    expected = [_row(k) for k in keys.registry()]
    assert rows == expected, "docs/probes.md's key table should read:\n" + "\n".join(expected)


def test_the_names_the_registry_makes() -> None:
    assert keys.Q_BY_LABEL.of(keys.RANDOM) == "q_by_label/random"
    assert keys.Q_BY_LABEL.member("q_by_label/non-expert") == "non-expert"
    assert keys.DIVERGENCE.member("q_by_label/x") is None
    assert keys.stat(keys.pretrained(keys.GRAD_NORM_BEHAVIOUR), keys.MEAN) == (
        "pretrained/grad_norm/behaviour/mean"
    )
    assert keys.frozen(keys.SU_PIU, protocol=True) == "frozen_protocol/su_piu"
    assert keys.metric(keys.WARN_ACTION_RMS) == "warn/action_rms"
    assert all(keys.is_probe(keys.metric(k)) for k in keys.registry() if k.space)
