"""`wsdiag probe`: run every probe on a saved agent and write the files a training run writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, Quiet, status_console
from wsdiag.errors import WsdiagError


def probe(
    checkpoint: Annotated[
        Path,
        typer.Option(
            "--checkpoint",
            "-c",
            help="A checkpoint directory, a run directory (its pretrained agent), checkpoints/, "
            "or an SB3 model.save() zip (with --env).",
        ),
    ],
    reference: Annotated[
        Path | None,
        typer.Option(
            help="The pretrained agent, a checkpoint or an SB3 zip (default: the 'pretrained' "
            "checkpoint beside this one)."
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(help="The Gymnasium id, for SB3 zips (which name none)."),
    ] = None,
    states: Annotated[
        Path | None,
        typer.Option(
            help="Behavioural probe set to use instead of rollouts: a run's "
            "probes/probe_set.npz (the run's own numbers then come out)."
        ),
    ] = None,
    rollouts: Annotated[
        int,
        typer.Option(help="Steps of behavioural (and of the agent's own) rollouts to probe on."),
    ] = 1000,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder (default probes/<checkpoint>, the name `latest` points to).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the rollouts and the probes' random draws.")
    ] = 0,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Probe setting, e.g. probes.n_perturb=500."),
    ] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Probe a saved agent: Q-percentile, gradient norms, TD errors, drift; see docs/probes.md.

    Example: wsdiag probe --checkpoint runs/demo-pendulum-td3-seed0/checkpoints/step_8000
    """
    with cli_errors(debug):
        from wsdiag.config import apply_overrides, from_dict
        from wsdiag.probes.on_checkpoint import probe_checkpoint

        if rollouts < 1:
            raise WsdiagError("--rollouts must be >= 1")
        bad = [o for o in overrides or [] if not o.strip().startswith("probes.")]
        if bad:
            raise WsdiagError(f"--set here accepts only probes.* settings, got '{bad[0]}'")
        cfg = from_dict(apply_overrides({"probes": {"states": rollouts}}, overrides or [])).probes
        result = probe_checkpoint(
            checkpoint, reference=reference, rollouts=rollouts, out=out, cfg=cfg, seed=seed,
            states=states, env_id=env,
        )  # fmt: skip
        if quiet:
            typer.echo(result.out / "probes")
            return
        table = Table(title=f"probes of {result.checkpoint} (step {result.step})")
        table.add_column("probe")
        table.add_column("value", justify="right")
        for key in sorted(result.scalars):
            table.add_row(key, f"{result.scalars[key]:.4g}")
        Console().print(table)
        ref = result.reference or "none (the probed agent's own rollouts are the behaviour)"
        console = status_console(quiet)
        console.print(f"reference: {ref}", soft_wrap=True)
        console.print(f"written: {result.out / 'probes'}", soft_wrap=True)
