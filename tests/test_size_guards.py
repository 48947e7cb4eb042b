"""Small crafted files never make wsdiag allocate what they declare: zip members that inflate,
npy headers that promise more than the file holds or the reader expects, object arrays, and a
meta.json asking for networks its agent.pt cannot hold are each refused before the data is read,
one line and exit code 2 (a report draws its other figures around a refused probe file);
honest files still load."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import DEMO_CONFIG, TINY_ARGS, one_line_error, train_tiny
from wsdiag.agents.checkpoint import load_checkpoint
from wsdiag.agents.sb3 import read_sb3
from wsdiag.analysis.run import load_run
from wsdiag.cli.main import app
from wsdiag.data.buffer import ReplayBuffer
from wsdiag.data.probe_set import ProbeSet
from wsdiag.errors import WsdiagError
from wsdiag.safe_files import MAX_INFLATION, read_npz
from wsdiag.training.probe_runner import load_frozen

runner = CliRunner()
BOMB = 4 * MAX_INFLATION  # bytes of zeros a bomb member inflates to (it stores a few KiB)
RUN_ARGS = [*TINY_ARGS, "--set", "probes.every=150", "--set", "probes.states=32",
            "--set", "probes.n_perturb=4", "--set", "checkpoint.every=150"]  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run with probe files, a frozen copy and checkpoints (with buffers) at 150, 300."""
    return train_tiny(tmp_path_factory.mktemp("runs"), RUN_ARGS)


@pytest.fixture
def run_dir(finished: Path, tmp_path: Path) -> Path:
    copy = tmp_path / finished.name
    shutil.copytree(finished, copy, symlinks=True)
    return copy


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes], deflated: bool = True) -> Path:
    method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npz_bomb(path: Path, name: str = "rewards", **honest: np.ndarray) -> Path:
    """An npz whose array `name` is BOMB bytes of zeros that the zip stores in a few KiB."""
    members = {f"{k}.npy": _npy(v) for k, v in honest.items()}
    return _zip(path, {**members, f"{name}.npy": _npy(np.zeros(BOMB, np.uint8))})


def _resume_from_step_150(run_dir: Path) -> list[str]:
    """As if the run was killed after its checkpoint at step 150: `train --resume` arguments."""
    checkpoints = run_dir / "checkpoints"
    (checkpoints / "latest").unlink()
    os.symlink("step_150", checkpoints / "latest")
    shutil.rmtree(checkpoints / "step_300")
    return ["train", "--resume", str(run_dir), "-q"]


# ----------------------------------------------------------------------------- npz files


def test_an_npz_member_that_inflates_is_refused_unread(tmp_path: Path) -> None:
    path = _npz_bomb(tmp_path / "b.npz")
    assert path.stat().st_size < BOMB / 50
    with pytest.raises(WsdiagError, match=r"cannot read probe file .*to 4\.0 MiB \(member rewards"):
        read_npz(path, "probe file", 1 << 30, "a probe file may hold")


def test_npz_members_that_each_inflate_a_little_are_refused_together(tmp_path: Path) -> None:
    small = _npy(np.zeros(MAX_INFLATION // 4, np.uint8))  # each under the allowance
    path = _zip(tmp_path / "b.npz", {f"a{i}.npy": small for i in range(8)})
    with pytest.raises(WsdiagError, match=r"its members inflate from .* to 2\.0 MiB"):
        read_npz(path, "replay buffer", 1 << 30, "a buffer of many transitions")


def test_an_npy_header_disagreeing_with_its_member_is_refused(tmp_path: Path) -> None:
    """A header promising 4 GB over 40 bytes of data: nothing is allocated."""
    lie = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (1_000_000_000,)}
    np.lib.format.write_array_header_1_0(lie, header)
    lie.write(bytes(40))
    path = _zip(tmp_path / "lie.npz", {"states.npy": lie.getvalue()}, deflated=False)
    with pytest.raises(WsdiagError, match=r"'states' declares shape \(1000000000,\) float32"):
        read_npz(path, "probe set", 1 << 40, "no bound")


def test_arrays_beyond_the_readers_bound_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, q=np.zeros(4096, np.float32))
    with pytest.raises(WsdiagError, match=r"declare 16\.0 KiB \(the largest, 'q': shape"):
        read_npz(path, "probe file", 1024, "a probe file may hold")
    np.testing.assert_array_equal(read_npz(path, "probe file", 1 << 20, "")["q"], 0)


def test_probe_set_with_object_arrays_is_a_one_line_error(run_dir: Path) -> None:
    path = run_dir / "probes" / "probe_set.npz"
    honest = ProbeSet.load(path)
    labels = np.array([{"x": 1}] * len(honest), dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, **{**dataclasses.asdict(honest), "labels": labels})
    with pytest.raises(WsdiagError, match="'labels' holds Python objects"):
        ProbeSet.load(path)
    args = _resume_from_step_150(run_dir)
    one_line_error(runner.invoke(app, args), 2, f"cannot read probe set {path}")


def test_probe_file_bomb_is_refused_by_report(tmp_path: Path, run_dir: Path) -> None:
    """The report draws what it can: each figure that needs the file says it was refused."""
    run = load_run(run_dir)
    honest = run.probe_arrays(run.probe_steps[-1])
    assert honest["behaviour_states"].shape == (32, 3)
    path = run.probe_file(run.probe_steps[-1])
    _npz_bomb(path, "q_percentile", **{k: v for k, v in honest.items() if k != "q_percentile"})
    with pytest.raises(
        WsdiagError, match=r"inflate from .*\(member q_percentile\.npy: 4\.0 MiB from"
    ):
        run.probe_arrays(run.probe_steps[-1], ("behaviour_states",))
    result = runner.invoke(app, ["report", str(run_dir), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    warning = f"not drawn: WsdiagError: cannot read probe file {path}: its members inflate"
    assert "".join(warning.split()) in "".join(result.output.split())  # as wrapped by rich


def test_probe_arrays_beyond_the_machines_memory_are_refused(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = load_run(run_dir)
    monkeypatch.setattr("wsdiag.limits.memory_limit", lambda: 1024)
    with pytest.raises(WsdiagError, match=r"more than the 1\.0 KiB allowed on this machine"):
        run.probe_arrays(run.probe_steps[-1])


# ----------------------------------------------------------------------------- buffers


def test_buffer_bomb_is_refused_on_resume(run_dir: Path) -> None:
    args = _resume_from_step_150(run_dir)
    buffer = run_dir / "checkpoints" / "step_150" / "buffer.npz"
    with np.load(buffer) as honest:
        _npz_bomb(buffer, **{k: honest[k] for k in honest.files if k != "rewards"})
    text = f"cannot read replay buffer {buffer}: its members inflate from"
    one_line_error(runner.invoke(app, args), 2, text)


def test_a_buffer_file_is_bounded_by_the_capacity_that_saved_it(tmp_path: Path) -> None:
    big = ReplayBuffer(10_000, 2, 1)
    big.add_many({"obs": np.ones((10_000, 2)), "actions": np.ones((10_000, 1)),
                  "rewards": np.arange(10_000.0), "next_obs": np.ones((10_000, 2)),
                  "terminated": np.zeros(10_000), "truncated": np.zeros(10_000)})  # fmt: skip
    big.save(tmp_path / "b.npz")
    small = ReplayBuffer(10, 2, 1)
    with pytest.raises(WsdiagError, match=r"more than the .* a buffer of 10 transitions"):
        small.load(tmp_path / "b.npz")
    small.load(tmp_path / "b.npz", rows=10_000)  # a warm start from a bigger pretraining buffer
    np.testing.assert_array_equal(small.arrays()["rewards"], np.arange(9_990.0, 10_000.0))


# ----------------------------------------------------------------------------- torch files


def _torch_bomb(path: Path) -> Path:
    """torch.save's zip of a BOMB-byte tensor, its records deflated: torch.load reads it."""
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(BOMB // 4)}, buf)
    saved = zipfile.ZipFile(buf)
    return _zip(path, {i.filename: saved.read(i) for i in saved.infolist()})


def test_meta_json_declaring_networks_agent_pt_cannot_hold_is_refused(run_dir: Path) -> None:
    ckpt = run_dir / "checkpoints" / "step_300"
    load_checkpoint(ckpt)  # the honest checkpoint
    meta = json.loads((ckpt / "meta.json").read_text())
    meta["agent_config"]["hidden"] = [1000, 1000]
    (ckpt / "meta.json").write_text(json.dumps(meta))
    text = "meta.json declares td3 networks of widths [1000, 1000] (ensemble 2: at least"
    with pytest.raises(WsdiagError, match=r"3,020,003 parameters, 11\.5 MiB\) but agent\.pt"):
        load_checkpoint(ckpt)
    one_line_error(runner.invoke(app, ["probe", "-c", str(ckpt)]), 2, text)


def test_agent_pt_whose_records_inflate_is_refused(run_dir: Path) -> None:
    ckpt = run_dir / "checkpoints" / "step_300"
    _torch_bomb(ckpt / "agent.pt")
    with pytest.raises(
        WsdiagError, match=r"cannot read checkpoint .*agent\.pt: its members inflate"
    ):
        load_checkpoint(ckpt)


def test_a_bad_frozen_copy_is_a_one_line_error(run_dir: Path) -> None:
    frozen = run_dir / "probes" / "frozen_agent.pt"
    agent = load_checkpoint(run_dir / "checkpoints" / "step_300").make_agent(3, 1)
    assert load_frozen(agent, frozen, 300) is not None  # the honest copy
    torch.save({"step": 0}, frozen)
    with pytest.raises(WsdiagError, match=r"cannot read the frozen copy .*'networks'"):
        load_frozen(agent, frozen, 300)
    _torch_bomb(frozen)
    with pytest.raises(WsdiagError, match=r"cannot read the frozen copy .*: its members inflate"):
        load_frozen(agent, frozen, 300)
    torch.save({"w": torch.zeros(1 << 20)}, frozen)  # 4 MiB, stored as it is
    with pytest.raises(WsdiagError, match=r"more than the .* twice the agent's networks"):
        load_frozen(agent, frozen, 300)
    frozen.write_bytes(b"\x00garbage" * 50)
    args = _resume_from_step_150(run_dir)
    one_line_error(runner.invoke(app, args), 2, f"cannot read the frozen copy {frozen}")


# ----------------------------------------------------------------------------- SB3 zips


def _sb3_check(path: Path) -> list[str]:
    return ["config", "check", DEMO_CONFIG, "--set", 'pretrain.source="sb3"',
            "--set", f'pretrain.path="{path}"']  # fmt: skip


def test_sb3_data_member_that_inflates_is_refused_unread(tmp_path: Path) -> None:
    """`data` declares 17 MiB (zeros), in a zip of some KiB: refused from its size alone."""
    path = _zip(tmp_path / "model.zip", {"data": bytes(17 << 20), "policy.pth": b""})
    assert path.stat().st_size < 100_000
    text = "its data declares 17.0 MiB, more than the 16.0 MiB an SB3 model's data may hold"
    one_line_error(runner.invoke(app, _sb3_check(path)), 2, text)


def test_sb3_policy_whose_records_inflate_is_refused(tmp_path: Path) -> None:
    policy = _torch_bomb(tmp_path / "policy.pth").read_bytes()
    path = _zip(tmp_path / "model.zip", {"data": b"{}", "policy.pth": policy}, deflated=False)
    with pytest.raises(WsdiagError, match=r"policy\.pth: its members inflate from .* to 4\.0 MiB"):
        read_sb3(path)


def test_an_honest_sb3_model_still_loads(tmp_path: Path) -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    path = tmp_path / "td3.zip"
    sb3.TD3("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8, 8]}, device="cpu").save(path)
    assert read_sb3(path).pi == (8, 8)
