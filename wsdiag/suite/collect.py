"""A suite record from a run directory: its diagnosis (wsdiag.analysis.summary), its
confirmation by counterfactual runs, its early warning, provenance and experiment key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wsdiag.analysis.confirm import (
    CONFIRMATION_FILE,
    FOLDER,
    NONE,
    Intervention,
    load_confirmation,
)
from wsdiag.analysis.diagnose import eval_curve
from wsdiag.analysis.prognosis import prognosis
from wsdiag.analysis.run import Run, load_run
from wsdiag.analysis.summary import summarise
from wsdiag.analysis.thresholds import Thresholds
from wsdiag.config import ProbesConfig, to_dict
from wsdiag.errors import WsdiagError
from wsdiag.rundir import AGENT_FILE, META_FILE, is_complete, resolve_checkpoint
from wsdiag.suite.record import UNCONFIRMED, SuiteRecord
from wsdiag.suite.scenarios import scenario
from wsdiag.sweep.counterfactual import pretrained_path


def experiment_key(run: Run) -> str | None:
    """What makes a run the run it is: its pretrained agent's weights (sha256 of agent.pt) and
    its config but for its name and the pretraining's settings. Two scenarios can be one
    experiment: an expert stopped at a lower target that jumped past the higher one at the
    same evaluation is the same agent. None where the pretrained checkpoint is not found."""
    try:
        checkpoint = resolve_checkpoint(pretrained_path(run.path, run.config))
    except WsdiagError:
        return None
    config = {k: v for k, v in to_dict(run.config).items() if k not in ("name", "pretrain")}
    digest = hashlib.sha256((checkpoint / AGENT_FILE).read_bytes())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def replayed_warning(run: Run, mode: str | None = None) -> int | None:
    """The step of the early warning today's rules raise from the run's recorded probes, in
    `mode` or today's default one (the mode the run ran with may be an older default)."""
    found = prognosis(run.metrics, update_start=run.update_start, mode=mode or ProbesConfig().warn,
                      warm=run.warm_start)  # fmt: skip
    return None if found is None else found.step


def provenance(run_dir: Path) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The library versions and processor a run recorded in its meta.json (None where it has
    none): its results repeat step for step only where both agree."""
    try:
        meta = json.loads((run_dir / META_FILE).read_text())
    except (OSError, ValueError):
        meta = {}
    return meta.get("versions"), meta.get("cpu")


def record_of(
    run: Run, replay: bool | str = False, confirmed_by: Path | None = None
) -> SuiteRecord:
    """The run's record. The warning is the one the run raised, or with `replay` (True, or a
    `probes.warn` mode) the one today's rules raise from its probes (runs recorded with older
    rules). A run without a significant dip has nothing to confirm: its truth is "none".
    `confirmed_by`: another run of its scenario, whose confirmation gives this one's truth
    (`scenario_confirmations`). A cause tested at several strengths is recorded by the one that
    decided its combined outcome (`Confirmation.per_cause`)."""
    s = summarise(run, Thresholds())
    confirmation = load_confirmation((confirmed_by or run.path) / FOLDER)
    interventions = confirmation.per_cause if confirmation else []
    control = confirmation.control if confirmation and confirmed_by is None else None  # once
    shares = {i.cause: None if i.share is None else round(i.share.share, 4)
              for i in interventions}  # fmt: skip
    intervals = {i.cause: (round(i.share.low, 4), round(i.share.high, 4))
                 for i in interventions if i.share and i.share.n > 1}  # fmt: skip
    if not s.diagnosis.significant:
        confirmed = truth = NONE
    elif confirmation is None:
        confirmed = truth = UNCONFIRMED
    else:
        best = confirmation.confirmed
        confirmed, truth = (best.cause if best else NONE), confirmation.truth
    if replay:
        warning = replayed_warning(run, replay if isinstance(replay, str) else None)
    else:
        warning = run.warning_step
    deg = s.diagnosis.degradation
    versions, cpu = provenance(run.path)
    steps, returns = eval_curve(run.metrics)
    return SuiteRecord(
        run=run.name,
        significant=s.diagnosis.significant,
        verdict=s.diagnosis.causes[0].cause if s.diagnosis.causes else NONE,
        named=tuple(c.cause for c in s.diagnosis.causes),
        confirmed=confirmed,
        truth=truth,
        warning=warning,
        min_step=None if deg is None else deg.min_step,
        dip=0.0 if deg is None else deg.dip,
        shares=shares,
        dips={} if confirmed_by else own_dips(interventions),
        intervals=intervals,
        seeds=max((i.share.n for i in interventions if i.share), default=0),
        experiment=experiment_key(run),
        versions=versions,
        cpu=cpu,
        critic_loaded=run.warm_start.critic_loaded,
        policy_start=run.policy_start,
        baseline=run.baseline,
        eval_steps=tuple(int(x) for x in steps),
        eval_returns=tuple(float(x) for x in returns),
        control=None if control is None else control.outcome(confirmation.min_share),
        truth_from=confirmed_by.name if confirmed_by and s.diagnosis.significant else None,
        outcomes=confirmation.outcomes if confirmation and s.diagnosis.significant else {},
    )


def own_dips(interventions: list[Intervention]) -> dict[str, float]:
    """Each cause's dip with its intervention on the confirmed run's own seed (its first; the
    first strength's). A scenario's other runs get none (`record_of`): the intervention's runs
    fine-tune the confirmed run's pretraining, theirs their own, and the dips do not pair."""
    out: dict[str, float] = {}
    for i in interventions:
        if i.dips and i.cause not in out:
            out[i.cause] = i.dips[0]
    return out


def scenario_confirmations(paths: list[Path]) -> dict[Path, Path]:
    """For each run without a confirmation of its own, the first run of its scenario (by
    name) that has one: a scenario's runs share a pretraining and a cause, and `wsdiag suite
    run` confirms one of them on its seeds (`wsdiag.suite.run.first_degrading`)."""
    confirmed: dict[str, Path] = {}
    for path in sorted(paths):
        if (path / FOLDER / CONFIRMATION_FILE).is_file():
            confirmed.setdefault(scenario(path.name), path)
    return {p: confirmed[scenario(p.name)] for p in paths
            if p != confirmed.get(scenario(p.name)) and scenario(p.name) in confirmed}  # fmt: skip


def collect(
    runs: Path,
    load: Callable[[Path], Run] = load_run,
    replay: bool | str = False,
    keep: Callable[[str], bool] | None = None,
    by_scenario: bool = False,
) -> list[SuiteRecord]:
    """The record of every complete run under `runs` (a sweep's runs/ folder), by name; with
    `keep`, of the runs whose name it keeps; with `by_scenario`, a run without a confirmation
    takes its scenario's (`scenario_confirmations`)."""
    paths = [p for p in sorted(runs.iterdir()) if is_complete(p) and (keep is None or keep(p.name))]
    siblings = scenario_confirmations(paths) if by_scenario else {}
    return [record_of(load(p), replay, siblings.get(p)) for p in paths]


def collect_part(
    runs: Path,
    part: str,
    replay: bool | str = False,
    keep: Callable[[str], bool] | None = None,
    split: str | None = None,
    by_scenario: bool = False,
) -> list[SuiteRecord]:
    """The records of a part's runs (`collect`), each named 'part/run' and marked with the
    split it was run for."""
    return [replace(r, run=f"{part}/{r.run}", split=split)
            for r in collect(runs, replay=replay, keep=keep, by_scenario=by_scenario)]  # fmt: skip
