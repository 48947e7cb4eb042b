"""A sweep's plan: every run (variant x grid x seed), and one pretraining per distinct pretraining.

Two runs share a pretraining when everything the pretraining stage reads is equal: the
environment (`[env]`, its `kwargs` and `imports` included), `[pretrain]`, the seed, `[eval]`,
`[checkpoint]`, `[log]`, and the mitigation when its pretraining part changes this pretraining
(TD3BC++'s penalty; the critic-weighted relaxation only on a td3bc pretraining); these are
hashed. Each pretraining runs once (`--until pretrain`) under
`<root>/pretrained/<hash>-seed<k>/`; its runs fine-tune from it under
`<root>/runs/<variant>[-<grid values>]-seed<k>/` with `pretrain.path` set to it (and
`pretrain.source = "checkpoint"`, or `"offline"` kept so that the dataset still supplies the
retained data and reference scores). A run whose pretrained agent is given (`pretrain.source =
"checkpoint"` or `"sb3"`) has no pretraining job. A fine-tuning run from a saved pretraining is
step for step the one that would have followed it in process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsdiag.config import Config, apply_values, from_dict, read_toml, replace, to_dict
from wsdiag.errors import WsdiagError
from wsdiag.mitigations import MITIGATIONS
from wsdiag.rundir import resolve_checkpoint
from wsdiag.sweep.spec import SweepSpec

PRETRAIN, FINETUNE = "pretrain", "finetune"
GIVEN_SOURCES = ("checkpoint", "sb3")  # the pretrained agent is a file: nothing to pretrain
SHARED_BY_PRETRAINING = ("env", "pretrain", "seed", "eval", "checkpoint", "log")
LATER_FIELDS = {("env", "kwargs"): {}, ("env", "imports"): [], ("log", "tensorboard"): False}


@dataclass(frozen=True)
class Job:
    """One process of the sweep: a pretraining or a fine-tuning run."""

    name: str
    kind: str  # PRETRAIN | FINETUNE
    run_dir: Path
    config: Config
    deps: tuple[str, ...] = ()
    branch_from: Path | None = None  # a run whose branch checkpoint this one starts from

    @property
    def env_steps(self) -> int:
        """Environment steps at most (offline pretraining takes gradient steps, not env steps)."""
        if self.kind == PRETRAIN:
            return 0 if self.config.pretrain.source == "offline" else self.config.pretrain.steps
        return self.config.finetune.steps


@dataclass
class SweepPlan:
    spec: SweepSpec
    root: Path
    jobs: list[Job]

    @property
    def pretrainings(self) -> list[Job]:
        return [j for j in self.jobs if j.kind == PRETRAIN]

    @property
    def runs(self) -> list[Job]:
        return [j for j in self.jobs if j.kind == FINETUNE]

    def describe(self) -> list[str]:
        """What `--dry-run` prints: the pretrainings with their runs, then the totals."""
        lines = []
        for pre in self.pretrainings:
            users = [j.name for j in self.runs if pre.name in j.deps]
            lines.append(f"{pre.name}: {pre.env_steps} env steps, shared by {len(users)} run(s)")
            lines += [f"  {name}" for name in users]
        alone = [j.name for j in self.runs if not j.deps]
        if alone:
            lines.append(
                f"without a pretraining (pretrain.source = checkpoint or sb3): {len(alone)}"
            )
            lines += [f"  {name}" for name in alone]
        steps = sum(j.env_steps for j in self.jobs)
        lines.append(
            f"{len(self.runs)} run(s), {len(self.pretrainings)} pretraining(s), "
            f"{steps} environment steps at most, under {self.root}"
        )
        return lines


def pretraining_key(config: Config) -> str:
    """A hash of what the pretraining stage reads (module docstring), 12 hex digits."""
    table = to_dict(config)
    shared = {k: dict(table.get(k) or {}) for k in SHARED_BY_PRETRAINING if k != "seed"}
    shared["seed"] = table.get("seed")
    # fields added since the hash was defined count only when set: at their default the key is
    # the one of earlier versions, so that a sweep's existing pretrainings are found again
    for (section, key), default in LATER_FIELDS.items():
        if shared[section].get(key) == default:
            shared[section].pop(key, None)
    # `iql_policy` counts only for IQL, and at the value earlier versions always used
    # ("squashed") it keeps their key; the default "tanh_mean" is a new pretraining
    pre = shared["pretrain"]
    if pre.get("algo") != "iql" or pre.get("iql_policy") == "squashed":
        pre.pop("iql_policy", None)
    mitigation = MITIGATIONS[config.mitigation.name]
    if mitigation.pretrain is not None and mitigation.pretrains(config):
        shared["mitigation"] = table["mitigation"]
    text = json.dumps(shared, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _name_value(value: Any) -> str:
    """A grid value as a file-name part: list items joined by '+', any character outside
    letters, digits and '._+-' (a dataset id's '/', say) replaced by '_'."""
    text = "+".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def _grid_label(combo: tuple[tuple[str, Any], ...]) -> str:
    return "-".join(f"{key.split('.')[-1]}={_name_value(value)}" for key, value in combo)


OUT = "{out}"  # in a sweep file's string values: the folder given by --out


def with_out(value: Any, out: Path) -> Any:
    """`value` with every OUT in a string (or a list's strings) replaced by `out`."""
    if isinstance(value, str):
        return value.replace(OUT, str(out))
    if isinstance(value, list):
        return [with_out(v, out) for v in value]
    return value


def build_plan(spec: SweepSpec, out: Path, threads: int = 1) -> SweepPlan:
    """Every job of the sweep, its config checked (any error names the run), names unique."""
    root = Path(out) / spec.name
    base = read_toml(spec.base)
    combos = list(itertools.product(*([(k, v) for v in vals] for k, vals in spec.grid.items())))
    jobs: dict[str, Job] = {}
    runs = [(v, c, s) for v in spec.variants for c in combos for s in spec.seeds_of(v)]
    for variant, combo, seed in runs:
        label = "-".join(filter(None, [variant.name, _grid_label(combo)]))
        name = f"{label}-seed{seed}"
        values = [*spec.common.items(), *variant.overrides.items(), *combo]
        values = [(key, with_out(value, out)) for key, value in values]
        values += [("seed", seed), ("name", label), ("threads", threads)]
        try:
            config = from_dict(apply_values(base, values))
        except WsdiagError as exc:
            raise WsdiagError(f"{spec.path}: run {name}: {exc}") from None
        if name in jobs:
            raise WsdiagError(f"{spec.path}: two runs are named {name}")
        deps: tuple[str, ...] = ()
        if config.pretrain.source not in GIVEN_SOURCES and not config.pretrain.path:
            pre_name = f"{pretraining_key(config)}-seed{seed}"
            pre_dir = root / "pretrained" / pre_name
            if pre_name not in jobs:
                pre_config = dataclasses.replace(config, name=f"pretrain-{pre_name}")
                jobs[pre_name] = Job(pre_name, PRETRAIN, pre_dir, pre_config)
            source = "offline" if config.pretrain.source == "offline" else "checkpoint"
            config = replace(config, pretrain={"source": source, "path": str(pre_dir)})
            deps = (pre_name,)
        jobs[name] = Job(name, FINETUNE, root / "runs" / name, config, deps)
    return SweepPlan(spec, root, list(jobs.values()))


def check_given_agents(plan: SweepPlan) -> None:
    """Refuse a plan whose runs start from a saved checkpoint that is not there (`pretrain.path`
    with `source = "checkpoint"` and no pretraining of the sweep to make it), naming the first
    such run, before any job starts: every run that needs it would fail. (An SB3 zip is checked
    when the config loads: `wsdiag.config.checks.check_files`.)"""
    for job in plan.runs:
        cfg = job.config.pretrain
        if cfg.source != "checkpoint" or job.deps:
            continue
        try:
            resolve_checkpoint(cfg.path)
        except WsdiagError as exc:
            raise WsdiagError(
                f"{job.name}: pretrain.path: {exc} (nothing in the sweep makes "
                "it: make it first, or give a path that exists)"
            ) from None
