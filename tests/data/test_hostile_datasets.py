"""Datasets are data: reading one never runs what it names; writing one is complete or absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import one_line_error
from wsdiag.cli.main import app
from wsdiag.data.build import collect_dataset, describe, mix_dataset
from wsdiag.data.minari_io import local_dataset_ids
from wsdiag.data.minari_write import STAGING_PREFIX, check_dataset_id

runner = CliRunner()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Minari root of this test's own, with two small Pendulum datasets."""
    folder = tmp_path / "datasets"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(folder))
    for name in ("a", "b"):
        collect_dataset(f"hx/{name}-v0", env_id="Pendulum-v1", steps=200, ref_max=-100.0,
                        ref_episodes=1)  # fmt: skip
    return folder


def _poison(root: Path, dataset_id: str, marker: Path, *, drop_spaces: bool) -> None:
    """Make the dataset's env spec name `subprocess:run` with arguments that create `marker`
    (the attack: Minari's loader makes that env when the spaces are missing)."""
    path = root / dataset_id / "data" / "metadata.json"
    meta = json.loads(path.read_text())
    if drop_spaces:
        del meta["observation_space"], meta["action_space"]
    for key in ("env_spec", "eval_env_spec"):
        spec = json.loads(meta[key])
        spec.update(entry_point="subprocess:run", kwargs={"args": ["touch", str(marker)]})
        meta[key] = json.dumps(spec)
    path.write_text(json.dumps(meta))


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def test_a_dataset_without_spaces_never_makes_the_env_it_names(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    _poison(root, "hx/a-v0", marker, drop_spaces=True)
    listing = _invoke("data", "list")
    assert listing.exit_code == 0, listing.output
    assert "hx/b-v0" in listing.stdout and "unreadable" in listing.output
    one_line_error(_invoke("data", "info", "hx/a-v0"), 2, "declares no observation_space")
    mix = _invoke("data", "mix", "hx/a-v0", "hx/b-v0", "--percent", "50", "--out", "hx/m-v0")
    one_line_error(mix, 2, "declares no observation_space")
    cat = _invoke("data", "concat", "hx/b-v0", "hx/a-v0", "--out", "hx/c-v0")
    one_line_error(cat, 2, "declares no observation_space")
    assert not marker.exists()
    assert local_dataset_ids() == ["hx/a-v0", "hx/b-v0"]


def test_mixing_datasets_copies_their_env_spec_as_data(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for name in ("a", "b"):
        _poison(root, f"hx/{name}-v0", marker, drop_spaces=False)
    assert _invoke("data", "info", "hx/a-v0").exit_code == 0
    mixed = _invoke("data", "mix", "hx/a-v0", "hx/b-v0", "--percent", "50", "--out", "hx/m-v0")
    assert mixed.exit_code == 0, mixed.output
    assert _invoke("data", "concat", "hx/a-v0", "hx/b-v0", "--out", "hx/c-v0").exit_code == 0
    assert not marker.exists()
    meta = json.loads((root / "hx/m-v0/data/metadata.json").read_text())
    assert json.loads(meta["env_spec"])["entry_point"] == "subprocess:run"  # kept, never made
    assert meta["ref_max_score"] == -100.0
    assert describe("hx/m-v0").steps == 200


def test_a_torn_dataset_is_one_line_and_hides_no_other(root: Path) -> None:
    data = root / "hx/a-v0" / "data" / "main_data.hdf5"
    data.write_bytes(data.read_bytes()[:2000])
    one_line_error(_invoke("data", "info", "hx/a-v0"), 2, "cannot read dataset 'hx/a-v0'")
    listing = _invoke("data", "list")
    assert listing.exit_code == 0 and "hx/b-v0" in listing.stdout


@pytest.mark.parametrize(
    "bad",
    ["../../esc/x-v0", "/abs/x-v0", "hx/.hidden-v0", "hx/x", "hx//x-v0", "hx/x-v0/", "hx/a.b-v0"],
)
def test_dataset_ids_outside_the_root_or_malformed_are_refused(bad: str) -> None:
    with pytest.raises(Exception, match="is not of the form"):
        check_dataset_id(bad)


def test_ids_and_roots_are_checked_before_any_step(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rollout(*args: object, **kwargs: object) -> None:
        raise AssertionError("rolled out before checking the id")

    monkeypatch.setattr("wsdiag.data.build.rollout", no_rollout)
    collect = ["data", "collect", "--env", "Pendulum-v1", "--steps", "400"]
    one_line_error(_invoke(*collect, "../../esc/x-v0"), 2, "is not of the form")
    one_line_error(_invoke(*collect, "hx/a-v0"), 2, "already exists")
    mix = ["data", "mix", "hx/a-v0", "hx/b-v0", "--percent", "50", "--out", "hx/b-v0"]
    one_line_error(_invoke(*mix), 2, "already exists")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "file" / "sub"))
    one_line_error(_invoke(*collect, "hx/x-v0"), 2, "cannot write datasets in")
    assert not (tmp_path / "esc").exists()
    assert sorted(p.name for p in (root / "hx").iterdir()) == [
        "a-v0", "b-v0", "namespace_metadata.json"
    ]  # fmt: skip


def test_a_write_that_fails_leaves_no_dataset_and_no_staging(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("wsdiag.data.minari_write._update_metadata", crash)
    with pytest.raises(OSError, match="disk full"):
        mix_dataset("hx/a-v0", "hx/b-v0", 50, "hx/m-v0")
    assert not (root / "hx" / "m-v0").exists()
    assert not list(root.glob(f"{STAGING_PREFIX}*"))


@pytest.mark.slow
def test_kill_9_during_collect_leaves_no_dataset_or_a_complete_one(root: Path) -> None:
    """`kill -9` of `wsdiag data collect` once its staging folder exists, then later and later
    (into the write, past the end): under its id there is either nothing or a dataset that reads
    whole; the next write removes the dead staging folders."""
    command = [str(Path(sys.executable).with_name("wsdiag")), "data", "collect", "--env",
               "Pendulum-v1", "--ref-max", "-100"]  # fmt: skip
    outcomes = []
    for k, (steps, delay) in enumerate(((50_000, 0.0), (2000, 0.5), (2000, 1.0), (2000, 2.0))):
        proc = subprocess.Popen([*command, "--steps", str(steps), f"kk/x{k}-v0"],
                                env=os.environ.copy(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while not list(root.glob(f"{STAGING_PREFIX}{proc.pid}-*")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (root / f"kk/x{k}-v0").exists():
            assert describe(f"kk/x{k}-v0").steps == steps
            outcomes.append("complete")
        else:
            outcomes.append("absent")
        assert _invoke("data", "list").exit_code == 0
    assert outcomes[0] == "absent"  # killed mid-rollout: nothing under the id
    collect_dataset("kk/after-v0", env_id="Pendulum-v1", steps=200, ref_episodes=1)
    assert not list(root.glob(f"{STAGING_PREFIX}*"))
