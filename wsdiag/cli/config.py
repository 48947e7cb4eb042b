"""`wsdiag config`: check a config as `wsdiag train` would, before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug

if TYPE_CHECKING:
    from wsdiag.config import Config

app = typer.Typer(help="Check experiment configs.", no_args_is_help=True)
console = Console(stderr=True)


def check_inputs(config: Config) -> None:
    """What a config names outside itself: the environment (made after its imports, with its
    kwargs, reset and stepped once), the memory the run needs in it, the pretrained checkpoint
    (an SB3 model: against the environment's spaces and the fine-tuning agent), the local
    dataset (a CUDA device is checked when the run starts)."""
    from wsdiag.agents.checkpoint import load_checkpoint
    from wsdiag.agents.sb3 import check_warm_start, import_sb3
    from wsdiag.config import check_memory
    from wsdiag.data.offline import check_dataset
    from wsdiag.envs import make_env, space_dims

    env = make_env(config.env.id, config.env.max_episode_steps, config.env.kwargs,
                   config.env.imports)  # fmt: skip
    check_memory(config, *space_dims(env))
    if config.pretrain.source == "checkpoint":
        load_checkpoint(config.pretrain.path)
    if config.pretrain.source == "sb3":
        model = import_sb3(config.pretrain.path, config.pretrain, env)
        check_warm_start(model, config.finetune, config.warmstart.load)
    if config.pretrain.source == "offline":
        check_dataset(config.pretrain.dataset, env)


@app.command()
def check(
    config: Annotated[Path, typer.Argument(help="Experiment config (TOML).", show_default=False)],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a config field: section.key=value."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the config's seed.")] = None,
    debug: Debug = False,
) -> None:
    """Validate every field (types, ranges, the mitigation's parameters), the environment id,
    the pretrained checkpoint and the dataset; print the resolved config (TOML) on stdout.

    Example: wsdiag config check wsdiag/configs/demo.toml --set mitigation.name='"ccl_pqd"'
    """
    with cli_errors(debug):
        from wsdiag.config import dump_config, load_config

        extra = [f"seed={seed}"] if seed is not None else []
        from wsdiag.training.sources import with_model_architecture

        resolved, _ = with_model_architecture(load_config(config, [*(overrides or []), *extra]))
        check_inputs(resolved)
        typer.echo(dump_config(resolved), nl=False)
        console.print(f"[green]ok[/]: {config}", highlight=False, soft_wrap=True)
