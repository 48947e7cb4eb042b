"""Hostile input, recounted: every attack of docs/security.md run through the CLI, as a user would.

    .venv/bin/python examples/hostile_input.py [--out DIR] [--bomb-gib 2]

Builds a tiny run, a dataset root and the crafted files in a scratch folder, runs each case as
its own `wsdiag` process and prints one row per case: the exit code, the number of stderr lines,
whether it ended in a traceback, its wall time and its peak memory (the child's max RSS), and
whether a payload ran or a dataset was left torn. The expected outcome of each case is exit 2
with one line (0 for `data list` beside a broken dataset); the last lines count the cases whose
outcome differs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WSDIAG = str(Path(sys.executable).with_name("wsdiag"))
SKIP = ("run directory:",)  # the status line a run prints before its error
DEMO = str(Path(__file__).resolve().parent.parent / "wsdiag" / "configs" / "demo.toml")
TINY = ["--set", "pretrain.steps=300", "--set", "pretrain.learning_starts=100",
        "--set", "pretrain.hidden=[16,16]", "--set", "finetune.hidden=[16,16]",
        "--set", "finetune.steps=300", "--set", "warmstart.warmup_steps=100",
        "--set", "eval.every=150", "--set", "eval.episodes=1", "--set", "threads=1",
        "--set", "checkpoint.every=150"]  # fmt: skip


@dataclass
class Outcome:
    case: str
    code: int
    stderr_lines: int
    traceback: bool
    seconds: float
    peak_mib: float
    expected: int

    named: bool  # stderr names what the case expects it to (the file refused)

    @property
    def ok(self) -> bool:
        lines_ok = self.stderr_lines <= 1 or self.expected == 0
        return self.code == self.expected and lines_ok and self.named and not self.traceback


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str, float, float]:
    """Exit code, stderr, stdout, seconds and peak MiB of one `wsdiag` process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([WSDIAG, *args], env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        stderr = proc.stderr.read() if proc.stderr else ""
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        stdout = out.read()
    code = os.waitstatus_to_exitcode(status)
    return code, stderr, stdout, time.perf_counter() - start, usage.ru_maxrss / 1024


def deflate_bomb(path: Path, member: str, header: bytes, gib: float) -> None:
    """A zip whose `member` is `header` then `gib` GiB of zeros, deflated (about 1000:1)."""
    chunk = bytes(64 << 20)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open(member, "w", force_zip64=True) as fh,
    ):
        fh.write(header)
        for _ in range(int(gib * 16)):
            fh.write(chunk)


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """The .npy header of an array of `shape` (what numpy reads before the data)."""
    buf = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


class Scratch:
    """The scratch folder: a finished tiny run, a dataset root, the crafted files."""

    def __init__(self, root: Path, bomb_gib: float) -> None:
        self.root, self.bomb_gib = root, bomb_gib
        self.env = {**os.environ, "MINARI_DATASETS_PATH": str(root / "datasets"),
                    "COLUMNS": "1000"}  # fmt: skip
        self.marker = root / "PWNED"
        code, err, *_ = run(["train", DEMO, "--out", "runs", "-q", *TINY], self.env, root)
        assert code == 0, err
        (self.run,) = (root / "runs").iterdir()
        for name in ("a", "b"):
            run(["data", "collect", f"hx/{name}-v0", "--env", "Pendulum-v1", "--steps", "400",
                 "--ref-max", "-100"], self.env, root)  # fmt: skip

    def copy_run(self, name: str) -> Path:
        copy = self.root / name
        shutil.copytree(self.run, copy, symlinks=True)
        return copy

    def interrupted(self, name: str) -> tuple[Path, Path]:
        """A copy of the run as if killed after its step-150 checkpoint: (run, checkpoint)."""
        run_dir = self.copy_run(name)
        latest = run_dir / "checkpoints" / "latest"
        latest.unlink()
        os.symlink("step_150", latest)
        return run_dir, run_dir / "checkpoints" / "step_150"

    def poison(self, dataset_id: str, drop: tuple[str, ...]) -> None:
        path = self.root / "datasets" / dataset_id / "data" / "metadata.json"
        meta = json.loads(path.read_text())
        for key in drop:
            meta.pop(key, None)
        spec = json.loads(meta["env_spec"])
        spec.update(entry_point="subprocess:run", kwargs={"args": ["touch", str(self.marker)]})
        meta["env_spec"] = meta["eval_env_spec"] = json.dumps(spec)
        path.write_text(json.dumps(meta))


def cases(s: Scratch) -> list[tuple[str, Callable[[], list[str]], int | tuple[int, str]]]:
    """(name, setup returning the command's arguments, expected exit code, or that and a text
    stderr must hold)."""

    def offline(dataset: str) -> list[str]:
        source = ["--set", 'pretrain.source="offline"', "--set", 'pretrain.algo="td3bc"']
        return ["train", DEMO, "--out", "runs-off", *TINY, *source,
                "--set", f'pretrain.dataset="{dataset}"']  # fmt: skip

    def copy_dataset(name: str) -> str:
        shutil.copytree(s.root / "datasets/hx/b-v0", s.root / f"datasets/hx/{name}-v0")
        return f"hx/{name}-v0"

    def payload() -> list[str]:
        s.poison(copy_dataset("p"), ("observation_space", "action_space"))
        return ["data", "list"]

    def torn() -> list[str]:
        data = s.root / "datasets" / copy_dataset("t") / "data" / "main_data.hdf5"
        data.write_bytes(data.read_bytes()[:3000])
        return offline("hx/t-v0")

    def no_action_space() -> list[str]:
        path = s.root / "datasets" / copy_dataset("n") / "data" / "metadata.json"
        meta = json.loads(path.read_text())
        del meta["action_space"]
        path.write_text(json.dumps(meta))
        return offline("hx/n-v0")

    def sb3_bomb() -> list[str]:
        zip_path = s.root / "bomb.zip"
        deflate_bomb(zip_path, "data", b'{"policy_class": {}, "pad": "', s.bomb_gib)
        return ["config", "check", DEMO, "--set", 'pretrain.source="sb3"',
                "--set", f'pretrain.path="{zip_path}"']  # fmt: skip

    def probe_bomb() -> list[str]:
        run_dir = s.copy_run("probe-bomb")
        n = int(s.bomb_gib * (1 << 30) // 4)
        deflate_bomb(run_dir / "probes" / "step_0.npz", "q.npy", npy_header((n,)), s.bomb_gib)
        return ["report", str(run_dir)]

    def buffer_bomb() -> list[str]:
        run_dir, ckpt = s.interrupted("buffer-bomb")
        n = int(s.bomb_gib * (1 << 30) // 12)
        deflate_bomb(ckpt / "buffer.npz", "obs.npy", npy_header((n, 3)), s.bomb_gib)
        return ["train", "--resume", str(run_dir)]

    def wide_network() -> list[str]:
        run_dir = s.copy_run("wide")
        meta_path = run_dir / "checkpoints" / "pretrained" / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta["agent_config"]["hidden"] = [60000, 60000]
        meta_path.write_text(json.dumps(meta))
        return ["probe", "-c", str(run_dir / "checkpoints" / "pretrained")]

    def no_metrics() -> list[str]:
        run_dir, _ = s.interrupted("no-metrics")
        (run_dir / "metrics.parquet").unlink()
        return ["train", "--resume", str(run_dir)]

    def nested_toml() -> list[str]:
        (s.root / "nested.toml").write_text("a = " + "[" * 100_000)
        return ["config", "check", str(s.root / "nested.toml")]

    def blocker() -> Path:
        path = s.root / "a-file"
        path.write_text("")
        return path

    def self_link() -> list[str]:
        link = s.root / "loop"
        if not link.is_symlink():
            link.symlink_to(link)
        return ["report", str(link)]

    def checkpoints_file() -> list[str]:
        run_dir = s.copy_run("ckpt-file")
        shutil.rmtree(run_dir / "checkpoints")
        (run_dir / "checkpoints").write_text("")
        return ["train", "--resume", str(run_dir)]

    def no_checkpoints_confirm() -> list[str]:
        run_dir = s.copy_run("no-ckpt")
        shutil.rmtree(run_dir / "checkpoints")
        return ["diagnose", str(run_dir), "--confirm", "--force"]

    def bad_frozen() -> list[str]:
        run_dir, _ = s.interrupted("frozen")
        (run_dir / "probes" / "frozen_agent.pt").write_bytes(b"not a torch file")
        return ["train", "--resume", str(run_dir)]

    def object_probe_set(command: str) -> list[str]:
        run_dir, _ = s.interrupted(f"objects-{command}")
        arrays = dict(np.load(run_dir / "probes" / "probe_set.npz"))
        arrays["states"] = np.array([object()] * 2, dtype=object)
        np.savez(run_dir / "probes" / "probe_set.npz", **arrays, allow_pickle=True)
        return (
            ["report", str(run_dir)] if command == "report" else ["train", "--resume", str(run_dir)]
        )

    settings = {
        "finetune.target_subset=5": 2, "seed=18446744073709551616": 2,
        "finetune.actor_lr=inf": 2, "env.kwargs.g=\"x\"": 2, "finetune.buffer_size=1e15": 2,
        "finetune.hidden=[60000,60000]": 2, "eval.episodes=1e12": 2,
        "pretrain.target_return=nan": 2,
    }  # fmt: skip
    table: list[tuple[str, Callable[[], list[str]], int | tuple[int, str]]] = [
        (f"--set {k}", lambda k=k: ["train", DEMO, "--out", "runs-set", *TINY, "--set", k], v)
        for k, v in settings.items()
    ]
    table += [
        ("dataset payload: data list", payload, 0),
        ("dataset payload: data info", lambda: ["data", "info", "hx/p-v0"], 2),
        (
            "dataset payload: data mix",
            lambda: ["data", "mix", "hx/p-v0", "hx/a-v0", "--percent", "50", "--out", "hx/m-v0"],
            2,
        ),
        (
            "dataset payload: data concat",
            lambda: ["data", "concat", "hx/a-v0", "hx/p-v0", "--out", "hx/c-v0"],
            2,
        ),
        ("dataset payload: offline train", lambda: offline("hx/p-v0"), 2),
        ("offline dataset, truncated HDF5", torn, 2),
        ("offline dataset, no action_space", no_action_space, 2),
        (
            "data collect ../../../esc/x-v0",
            lambda: [
                "data",
                "collect",
                "../../../esc/x-v0",
                "--env",
                "Pendulum-v1",
                "--steps",
                "400",
            ],
            2,
        ),
        (
            "data collect onto an existing id",
            lambda: ["data", "collect", "hx/a-v0", "--env", "Pendulum-v1", "--steps", "400"],
            2,
        ),
        (
            "data mix --out an existing id",
            lambda: ["data", "mix", "hx/a-v0", "hx/b-v0", "--percent", "50", "--out", "hx/b-v0"],
            2,
        ),
        (
            "data collect --ref-max nan",
            lambda: ["data", "collect", "hx/q-v0", "--env", "Pendulum-v1", "--ref-max", "nan"],
            2,
        ),
        ("report --random-return nan", lambda: ["report", str(s.run), "--random-return", "nan"], 2),
        ("SB3 zip, data member bomb", sb3_bomb, 2),
        ("probes/step_0.npz bomb (report: warned)", probe_bomb, (0, "step_0.npz: its members")),
        ("buffer.npz bomb on --resume", buffer_bomb, 2),
        ("checkpoint meta.json hidden [60000, 60000]", wide_network, 2),
        ("resume without metrics.parquet", no_metrics, 2),
        ("deeply nested TOML", nested_toml, 2),
        (
            "export --tensorboard FILE",
            lambda: ["export", str(s.run), "--tensorboard", str(blocker())],
            2,
        ),
        (
            "sweep --out FILE",
            lambda: [
                "sweep",
                str(Path(DEMO).parents[2] / "examples" / "sweeps" / "wsrl.toml"),
                "--out",
                str(blocker()),
            ],
            2,
        ),
        ("report on a self-symlink", self_link, 2),
        ("checkpoints/ is a file", checkpoints_file, 2),
        ("diagnose --confirm --force without checkpoints", no_checkpoints_confirm, 2),
        ("bad frozen_agent.pt on resume", bad_frozen, 2),
        ("probe_set.npz with objects, --resume", lambda: object_probe_set("resume"), 2),
        (
            "probe_set.npz with objects (report: warned)",
            lambda: object_probe_set("report"),
            (0, "holds Python objects"),
        ),
    ]
    return table


def kill_collect(s: Scratch, kills: int) -> tuple[int, int]:
    """`kill -9` of `data collect` at `kills` points, from the moment its staging folder
    exists (mid-rollout) to past its end: (torn datasets, complete ones)."""
    torn = complete = 0
    for k in range(kills):
        steps = 20_000 if k == 0 else 2000
        proc = subprocess.Popen([WSDIAG, "data", "collect", f"kill/x{k}-v0", "--env",
                                 "Pendulum-v1", "--steps", str(steps), "--ref-max", "-100"],
                                env=s.env, cwd=s.root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        staging = s.root / "datasets"
        while not list(staging.glob(f".staging-{proc.pid}-*")) and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(0.4 * k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (s.root / "datasets" / f"kill/x{k}-v0").exists():
            code, *_ = run(["data", "info", f"kill/x{k}-v0"], s.env, s.root)
            torn, complete = torn + (code != 0), complete + (code == 0)
    return torn, complete


def concurrent_resumes(s: Scratch) -> tuple[int, int]:
    """Two `train --resume` of one interrupted run at once: (exit 0, exit 2) counts."""
    run_dir, _ = s.interrupted("twice")
    procs = [subprocess.Popen([WSDIAG, "train", "--resume", str(run_dir), "-q"], env=s.env,
                              cwd=s.root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]  # fmt: skip
    codes = [p.wait() for p in procs]
    return codes.count(0), codes.count(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--bomb-gib", type=float, default=2.0, help="GiB each bomb inflates to")
    parser.add_argument("--kills", type=int, default=6, help="kill -9 points of data collect")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="wsdiag-hostile-"))
    root.mkdir(parents=True, exist_ok=True)
    s = Scratch(root, args.bomb_gib)
    outcomes = []
    print(f"{'case':48} exit lines tb  seconds  peak MiB  ok")
    for name, setup, expect in cases(s):
        expected, text = expect if isinstance(expect, tuple) else (expect, "")
        command = setup()
        code, err, out, seconds, peak = run(command, s.env, root)
        lines = len([ln for ln in err.splitlines() if ln.strip() and not ln.startswith(SKIP)])
        flat = " ".join((err + out).split())  # a report's warnings are part of its output
        o = Outcome(name, code, lines, "Traceback" in err, seconds, peak, expected, text in flat)
        outcomes.append(o)
        verdict = "ok" if o.ok else "NO: " + err.strip()[:120]
        print(f"{name[:48]:48} {code:4} {lines:5} {'yes' if o.traceback else 'no':3} "
              f"{seconds:8.1f} {peak:9.0f}  {verdict}")  # fmt: skip
    torn, complete = kill_collect(s, args.kills)
    ran0, ran2 = concurrent_resumes(s)
    codes: dict[int, int] = {}
    for o in outcomes:
        codes[o.code] = codes.get(o.code, 0) + 1
    print(
        f"\n{len(outcomes)} cases; exit codes {dict(sorted(codes.items()))}; "
        f"{sum(not o.ok for o in outcomes)} not as expected"
    )
    print(f"payloads run: {int(s.marker.exists())}")
    print(
        f"kill -9 of data collect x{args.kills}: {torn} torn, {complete} complete, "
        f"{args.kills - torn - complete} absent"
    )
    print(f"two concurrent resumes: {ran0} ran, {ran2} refused")
    print(
        f"largest peak memory: {max(o.peak_mib for o in outcomes):.0f} MiB; longest case: "
        f"{max(o.seconds for o in outcomes):.1f} s"
    )


if __name__ == "__main__":
    main()
