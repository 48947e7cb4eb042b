"""The counterfactual runs of `wsdiag diagnose --confirm`, planned as a sweep.

From a run directory: the original config with `pretrain.path` set to the run's own pretrained
checkpoint (no pretraining again), the seeds s, s+1, ..., s+n-1 from the run's seed s, and one
variant per candidate cause from the interventions table (`wsdiag/sweep/interventions.toml`,
documented there and in docs/diagnosis.md). With `strengths = "all"` an entry listing several
strengths gives one variant per strength ("<cause>", "<cause>-2", ...: `strength_variant`), on
the same seeds; the default, "first", tests each entry at its first strength, as before. The
variant `original` reruns the run itself on the extra seeds; on the run's own seed the recorded
run is the original (a fine-tune from a saved checkpoint is step for step the one that followed
it in process). Each run stops once the dip is decided: `horizon_of` steps after its policy
start (the original's recovery plus MARGIN_EVALS evaluations), and every dip, the original's
included, is measured over that window. The runs record no probes (`probes.every = 0`; the
decision reads only their returns, and probes change nothing of a run's training), but with
`probes` (`--full`, and a confirmation begun by an earlier version that recorded them).
Everything lives under `<run>/counterfactual/`, resumable like any sweep.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsdiag.analysis.confirm import (
    CONTROL,
    CONTROL_LABEL,
    FOLDER,
    ORIGINAL,
    counterfactual_dir,
    counterfactual_name,
    recorded_seed,
    strength_variant,
)
from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.evidence import WarmStart
from wsdiag.analysis.rules import TITLES
from wsdiag.config import (
    WSDIAG_TRAINER,
    Config,
    apply_values,
    from_dict,
    load_config,
    read_toml,
    to_dict,
)
from wsdiag.errors import WsdiagError
from wsdiag.rundir import BUFFER_FILE, CONFIG_FILE, read_events, resolve_checkpoint
from wsdiag.sweep.plan import FINETUNE, Job, SweepPlan
from wsdiag.sweep.spec import SweepSpec, Variant

INTERVENTIONS_FILE = Path(__file__).resolve().parent / "interventions.toml"
SB3_TRAINER = "sb3"  # the external trainer whose runs --confirm reruns (from the same zip)
KEPT_SOURCES = ("offline", "sb3")  # a dataset still supplies data; an SB3 zip is read as is
NEEDS = ("trained_critic", "offline", "in_sample_critic", "pretraining_buffer")
IN_SAMPLE = ("iql",)  # pretrainings whose critic never evaluates an action outside the data
ENTRY_KEYS = ("label", "set", "needs", "strengths")
STRENGTH_KEYS = ("label", "set")
FIRST, ALL = "first", "all"  # --strengths: each entry's first strength, or every one
STRENGTHS = (FIRST, ALL)


@dataclass(frozen=True)
class Candidate:
    """An intervention chosen for one cause (at one strength: its `variant`), or the reason
    none applies to this run."""

    cause: str
    label: str = ""
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: Config | None = None
    skipped: str | None = None
    variant: str = ""  # its runs' variant (`strength_variant`); "" is the cause's own
    later: tuple[tuple[str, dict[str, Any]], ...] = ()  # its entry's later strengths: (label, set)

    def __post_init__(self) -> None:
        if not self.variant:
            object.__setattr__(self, "variant", self.cause)


def load_interventions(path: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """The interventions table: cause -> its entries, checked (causes, keys, `needs`,
    `strengths`)."""
    path = Path(path or INTERVENTIONS_FILE)
    if not path.is_file():
        raise WsdiagError(f"interventions table not found: {path}")
    table = read_toml(path)
    for cause, entries in table.items():
        if cause not in TITLES:
            raise WsdiagError(f"{path}: unknown cause '{cause}' (known: {', '.join(TITLES)})")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise WsdiagError(f"{path}: {cause} must be a list of [[{cause}]] tables")
        for entry in entries:
            extra = sorted(set(entry) - set(ENTRY_KEYS))
            if extra or "set" not in entry or not isinstance(entry["set"], dict):
                raise WsdiagError(f"{path}: each [[{cause}]] has a label, a set table and needs")
            if entry.get("needs", NEEDS[0]) not in NEEDS:
                raise WsdiagError(f"{path}: needs = {entry['needs']!r}: one of {', '.join(NEEDS)}")
            check_strengths(entry.get("strengths", []), f"{path}: [[{cause}]] {entry.get('label')}")
    return table


def check_strengths(strengths: Any, where: str) -> None:
    """An entry's `strengths`: a list of tables with a label and, but for the first (the entry
    as written), a `set` table."""
    if not isinstance(strengths, list) or not all(isinstance(x, dict) for x in strengths):
        raise WsdiagError(f"{where}: strengths must be a list of tables")
    for k, strength in enumerate(strengths):
        extra = ", ".join(sorted(set(strength) - set(STRENGTH_KEYS)))
        if extra or "label" not in strength or not isinstance(strength.get("set", {}), dict):
            unknown = f" (not {extra})" if extra else ""
            raise WsdiagError(f"{where}: each strength has a label and a set table{unknown}")
        if k == 0 and strength.get("set"):
            raise WsdiagError(f"{where}: the first strength is the entry as written: no set")
        if k > 0 and not strength.get("set"):
            raise WsdiagError(f"{where}: strength '{strength['label']}' sets nothing")


def which_strengths(strengths: str) -> str:
    """`strengths` when it is one of STRENGTHS (--strengths), else a WsdiagError."""
    if strengths not in STRENGTHS:
        raise WsdiagError(f"--strengths must be one of {', '.join(STRENGTHS)}, got '{strengths}'")
    return strengths


def strengths_of(entry: dict[str, Any], cause: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, overrides) of an entry at each of its strengths, the first its own `set`: the
    entry's label followed by the strength's, the entry's `set` updated by the strength's."""
    label = str(entry.get("label", cause))
    return [(f"{label}, {s['label']}", {**entry["set"], **s.get("set", {})})
            for s in entry.get("strengths", [])] or [(label, dict(entry["set"]))]  # fmt: skip


def relative_values(config: Config, overrides: dict[str, Any]) -> list[tuple[str, Any]]:
    """Overrides relative to the run's own values: "x<k>" is k times it (a number field; an
    integer field stays one, rounded), "+<item>" adds the item to it (a list field, e.g.
    "+critic" to warmstart.load)."""
    table, out = to_dict(config), []
    for key, value in overrides.items():
        current: Any = table
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if isinstance(value, str) and value.startswith("x"):
            try:
                value = float(value[1:]) * float(current)
            except (TypeError, ValueError):
                raise WsdiagError(f"{key} = {value!r}: a multiple needs a number") from None
            value = round(value) if isinstance(current, int) else value
        elif isinstance(value, str) and value.startswith("+"):
            if not isinstance(current, list):
                raise WsdiagError(f"{key} = {value!r}: '+' adds to a list field")
            value = current + [value[1:]] * (value[1:] not in current)
        out.append((key, value))
    return out


def same_budget_after_updates(
    config: Config, values: list[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    """A longer warm-up or freeze also lengthens `finetune.steps` by as much, so that the
    intervention has as many steps after policy updates begin as the run (a warm-up as long as
    the run would remove any dip by itself)."""
    ws = config.warmstart
    table = dict(values)
    later = table.get("warmstart.warmup_steps", ws.warmup_steps) + table.get(
        "warmstart.freeze_policy_steps", ws.freeze_policy_steps
    )
    delta = later - (ws.warmup_steps + ws.freeze_policy_steps)
    if delta > 0 and "finetune.steps" not in table:
        values = [*values, ("finetune.steps", config.finetune.steps + delta)]
    return values


def pretrained_path(run_dir: Path, config: Config) -> str:
    """Where the run's pretrained agent is: its `pretrain.path`, else the run itself.

    A sweep writes that path as `<out>/<sweep>/pretrained/<key>`, relative to the directory it
    ran in or absolute (an absolute `--out`). Where it does not exist from here (another
    working directory, or the sweep folder moved), its trailing parts, longest first down to
    `pretrained/<key>`, are looked for below each of the run's own parent folders."""
    if not config.pretrain.path:
        return str(run_dir)
    path = Path(config.pretrain.path)
    if path.exists():
        return str(path)
    tails = [Path(*path.parts[k:]) for k in range(len(path.parts) - 1) if path.parts[k] != "/"]
    for parent in Path(run_dir).resolve().parents:
        for tail in tails:
            if (parent / tail).exists():
                return str(parent / tail)
    return str(path)  # not found: the run reports it


def base_table(run_dir: Path) -> tuple[Config, dict[str, Any]]:
    """The run's config and its raw table with `pretrain.path` set (and source = checkpoint
    unless the data came from a dataset, which still supplies retained data and scores, or the
    agent from an SB3 zip, read again)."""
    config_file = Path(run_dir) / CONFIG_FILE
    if not config_file.is_file():
        raise WsdiagError(f"not a wsdiag run directory (no {CONFIG_FILE}): {run_dir}")
    raw = read_toml(config_file)
    trainer = raw.get("trainer", WSDIAG_TRAINER)
    if trainer not in (WSDIAG_TRAINER, SB3_TRAINER):
        raise WsdiagError(
            f"cannot confirm {run_dir}: its counterfactual runs rerun it in wsdiag's trainer from "
            f"its pretrained agent, and a run the {trainer} trainer recorded has none wsdiag can "
            "load (SB3 runs can be confirmed: docs/api.md)"
        )
    raw = apply_values(raw, [("trainer", WSDIAG_TRAINER)])  # the reruns are wsdiag's
    config = from_dict(raw)
    source = config.pretrain.source if config.pretrain.source in KEPT_SOURCES else "checkpoint"
    path = pretrained_path(run_dir, config)
    if source != "sb3":  # checked before any counterfactual run starts
        try:
            resolve_checkpoint(path)
        except WsdiagError as exc:
            raise WsdiagError(
                f"cannot confirm {run_dir}: its counterfactual runs start from its pretrained "
                f"agent, and {exc}"
            ) from None
    return config, apply_values(raw, [("pretrain.source", source), ("pretrain.path", path)])


def holds_buffer(pretrained: str | Path) -> bool:
    """Whether the pretrained checkpoint (or the run directory that holds it) saved its replay
    buffer."""
    try:
        return (resolve_checkpoint(pretrained) / BUFFER_FILE).exists()
    except WsdiagError:
        return False


def unmet_need(
    needs: str | None, config: Config, warm: WarmStart, pretrained: str | Path | None = None
) -> str | None:
    """Why the run lacks what an entry `needs` (one of NEEDS), or None when it has it;
    `pretrained` is where the run's pretrained agent is (`pretrained_path`)."""
    if needs == "trained_critic" and not warm.reference_critic:
        return "the pretrained agent has no trained critic"
    if needs == "offline" and config.pretrain.source != "offline":
        return "the run was not pretrained on a dataset"
    if needs == "in_sample_critic" and not (warm.algo in IN_SAMPLE and warm.critic_loaded):
        return "the run did not load an in-sample (IQL) critic"
    if needs == "pretraining_buffer":
        if not (warm.critic_loaded and warm.reference_critic):
            return "the run did not load a trained pretrained critic"
        if pretrained is None or not holds_buffer(pretrained):
            return "the pretrained checkpoint holds no replay buffer"
    return None


def applied(
    config: Config, raw: dict[str, Any], overrides: dict[str, Any]
) -> tuple[list[tuple[str, Any]], Config]:
    """An intervention's overrides as values for this run (`relative_values`, with
    `same_budget_after_updates`) and the config they make; WsdiagError where the config check
    refuses it or it changes nothing (the run already has it)."""
    values = same_budget_after_updates(config, relative_values(config, overrides))
    changed = from_dict(apply_values(raw, values))
    if to_dict(changed) == to_dict(from_dict(raw)):
        raise WsdiagError("the run already has it")
    return values, changed


def choose(
    cause: str,
    entries: list[dict[str, Any]],
    config: Config,
    raw: dict[str, Any],
    warm: WarmStart | None = None,
) -> Candidate:
    """The first entry that applies to this run, at its first strength (module docstring of
    interventions.toml), its later strengths kept in `later`; `warm` (what the run started
    from) defaults to what its config says."""
    warm = warm or WarmStart.of(config)
    reasons = []
    pretrained = raw.get("pretrain", {}).get("path") or None
    for entry in entries:
        (label, overrides), *later = strengths_of(entry, cause)
        lacking = unmet_need(entry.get("needs"), config, warm, pretrained)
        if lacking:
            reasons.append(f"{label}: {lacking}")
            continue
        try:
            values, changed = applied(config, raw, overrides)
        except WsdiagError as exc:
            reasons.append(f"{label}: {exc}")
            continue
        return Candidate(cause, label, dict(values), changed, later=tuple(later))
    return Candidate(cause, skipped="; ".join(reasons) or "no intervention listed")


def at_strengths(
    first: Candidate, config: Config, raw: dict[str, Any], strengths: str = FIRST
) -> list[Candidate]:
    """The intervention `choose` picked, at its first strength, or with `strengths = "all"` at
    each of its entry's strengths, the k-th as the variant `strength_variant(cause, k)`; a
    later strength the config check refuses, or that changes nothing, is skipped with the
    reason."""
    which_strengths(strengths)
    out = [first]
    for k, (label, overrides) in enumerate(first.later if strengths == ALL else (), start=2):
        variant = strength_variant(first.cause, k)
        try:
            values, changed = applied(config, raw, overrides)
        except WsdiagError as exc:
            out.append(Candidate(first.cause, label, skipped=str(exc), variant=variant))
            continue
        out.append(Candidate(first.cause, label, dict(values), changed, variant=variant))
    return out


def plan_counterfactuals(
    run_dir: Path,
    *,
    seeds: int,
    causes: list[str],
    interventions: Path | None = None,
    threads: int = 1,
    horizon: int | None = None,
    branch: bool = True,
    control: bool = False,
    strengths: str = FIRST,
    probes: bool = False,
) -> tuple[SweepPlan, list[Candidate]]:
    """The sweep of the originals on the extra seeds and every applicable intervention, at
    each entry's first strength or every one (`strengths`, `at_strengths`); each run ends
    `horizon` steps after its own policy start, or where the run ends; with `branch`, an
    intervention that acts only on policy updates starts where they begin. With `control`,
    also the no-op control: the original on seeds CONTROL_SEED_OFFSET further, paired with the
    original of the seed it is named after (its pretraining and config are the original's,
    only its random numbers differ). Without `probes` the runs record none (unless the run
    halts at its early warning, `probes.stop_on_warning`, which the probes may raise)."""
    if seeds < 1:
        raise WsdiagError("--seeds must be >= 1")
    run_dir = Path(run_dir)
    config, raw = base_table(run_dir)
    table = load_interventions(interventions)
    warm = WarmStart.recorded(config, read_events(run_dir))
    chosen = [choose(c, table.get(c, []), config, raw, warm) for c in causes]
    candidates = [x for c in chosen for x in at_strengths(c, config, raw, strengths)]
    if control:
        candidates.append(Candidate(CONTROL, CONTROL_LABEL, {}, config))
    seed_list = [config.seed + k for k in range(seeds)]
    own = recorded_seed(run_dir)
    root = run_dir / FOLDER
    jobs = []
    variants = [(ORIGINAL, {})] + [(c.variant, c.overrides) for c in candidates if not c.skipped]
    for name, overrides in variants:
        for seed in seed_list:
            if name == ORIGINAL and seed == own:
                continue
            source = counterfactual_dir(run_dir, ORIGINAL, seed, own)
            from_branch = branch and name != ORIGINAL and branches(overrides)
            parting = source if from_branch else None
            deps = (counterfactual_name(ORIGINAL, seed),) if parting and source != run_dir else ()
            run_seed = seed + CONTROL_SEED_OFFSET if name == CONTROL else seed
            values = [*overrides.items(), ("seed", run_seed), ("threads", threads)]
            if not probes and not config.probes.stop_on_warning:  # a warning that halts: kept
                values.append(("probes.every", 0))
            values.append(("name", f"{config.name}-{name}"))
            job_config = from_dict(apply_values(raw, values))
            end = cut(job_config, horizon)
            if end < job_config.finetune.steps:
                job_config = from_dict(apply_values(raw, [*values, ("finetune.steps", end)]))
            job_name = counterfactual_name(name, seed)
            jobs.append(Job(job_name, FINETUNE, root / "runs" / job_name, job_config, deps,
                            parting))  # fmt: skip
    spec = SweepSpec(
        path=run_dir / CONFIG_FILE,
        name=FOLDER,
        base=run_dir / CONFIG_FILE,
        seeds=tuple(seed_list),
        common={},
        variants=tuple(Variant(n, dict(o)) for n, o in variants),
        grid={},
    )
    return SweepPlan(spec, root, jobs), candidates


CONTROL_SEED_OFFSET = 100_000  # the no-op control's seeds, from the original's it pairs with
MARGIN_EVALS = 4  # evaluations a counterfactual runs past the original's recovery
# Mitigations that act only on policy updates: their runs repeat the original's warm-up step
# for step, so they start from its branch checkpoint (tests/training/test_branch.py checks each)
BRANCHING_MITIGATIONS = ("bc_penalty", "lr_scale", "critic_weighted")


def recorded_probes(run_dir: Path) -> bool:
    """Whether the counterfactual runs already under RUN_DIR/counterfactual record probes (as
    every one did before they were turned off): a confirmation goes on as it began, so that its
    finished runs keep their configs."""
    for saved in sorted((Path(run_dir) / FOLDER / "runs").glob(f"*/{CONFIG_FILE}")):
        return load_config(saved, check_mitigation=False).probes.every > 0
    return False


def branches(overrides: dict[str, Any]) -> bool:
    """Whether an intervention changes nothing before policy updates begin: it only names a
    mitigation of BRANCHING_MITIGATIONS and sets that mitigation's own parameters (a longer
    warm-up, a loaded critic, random actions change the warm-up itself, and start from the
    pretrained checkpoint)."""
    name = overrides.get("mitigation.name")
    own = f"mitigation.{name}."
    return name in BRANCHING_MITIGATIONS and all(
        key == "mitigation.name" or key.startswith(own) for key in overrides
    )


def horizon_of(degradation: Degradation | None, policy_start: int, every: int) -> int | None:
    """Steps after the policy start that the counterfactuals of a run need: its recovery plus
    MARGIN_EVALS evaluations, by when its dip and (nearly always) theirs are behind them; None
    where it never recovered (they run to its end)."""
    if degradation is None or degradation.recovery_step is None:
        return None
    return degradation.recovery_step - policy_start + MARGIN_EVALS * every


def cut(config: Config, horizon: int | None) -> int:
    """`finetune.steps` of a counterfactual run: `horizon` steps after its own policy start
    (a longer warm-up starts later), at most the run's own budget."""
    if horizon is None:
        return config.finetune.steps
    return min(config.finetune.steps, config.warmstart.warmup_steps + horizon)


def jobs_of(plan: SweepPlan, variants: set[str]) -> SweepPlan:
    """The part of `plan` that runs these variants, on any of its seeds."""
    names = {counterfactual_name(v, s) for v in variants for s in plan.spec.seeds}
    return SweepPlan(plan.spec, plan.root, [j for j in plan.jobs if j.name in names])


def seeds_of(plan: SweepPlan, n: int) -> SweepPlan:
    """The part of `plan` on its first `n` seeds."""
    seeds = plan.spec.seeds[:n]
    names = {counterfactual_name(v.name, s) for v in plan.spec.variants for s in seeds}
    spec = dataclasses.replace(plan.spec, seeds=seeds)
    return SweepPlan(spec, plan.root, [j for j in plan.jobs if j.name in names])


def run_dir_of(plan: SweepPlan, original: Path, variant: str, seed: int) -> Path:
    """The run directory of one variant and seed (the recorded run for its own seed)."""
    return counterfactual_dir(original, variant, seed, recorded_seed(original))
