"""`wsdiag data`: make Minari datasets (collect, mix, concat); look at local ones (list, info)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from wsdiag.cli.errors import cli_errors
from wsdiag.cli.options import Debug, require_finite
from wsdiag.errors import WsdiagError

if TYPE_CHECKING:
    from wsdiag.data.build import DatasetInfo, EnvChoice

app = typer.Typer(help="Make and inspect Minari datasets (under MINARI_DATASETS_PATH).")
console = Console(stderr=True)


def checkpoint_agent(path: str, env_id: str | None) -> tuple[object, EnvChoice]:
    """The agent saved at `path` and the env it acts in: the checkpoint's (its id with the run's
    env.kwargs and env.imports) unless `env_id` names another."""
    from wsdiag.agents.checkpoint import load_checkpoint
    from wsdiag.data.build import EnvChoice
    from wsdiag.envs import make_env, space_dims

    ckpt = load_checkpoint(path)
    saved = ckpt.env_settings
    env = EnvChoice(saved["env_id"], saved["kwargs"], saved["imports"])
    if env_id and env_id != env.env_id:
        env = EnvChoice(env_id)
    return ckpt.make_agent(*space_dims(make_env(env.env_id, None, env.kwargs, env.imports))), env


def _written(dataset_id: str) -> None:
    from wsdiag.data.build import describe
    from wsdiag.data.minari_io import datasets_root

    info = describe(dataset_id)
    console.print(
        f"wrote [bold]{dataset_id}[/]: {info.episodes} episodes, {info.steps} steps, "
        f"mean return {info.mean_return:.1f} -> {datasets_root() / dataset_id}",
        soft_wrap=True,
    )


@app.command()
def collect(
    dataset_id: Annotated[
        str, typer.Argument(help="New dataset id, e.g. wsdiag/pendulum/expert-v0.")
    ],
    policy: Annotated[
        str, typer.Option(help="'random' or a checkpoint / run directory.")
    ] = "random",
    env: Annotated[
        str | None, typer.Option(help="Gymnasium id (default: the checkpoint's).")
    ] = None,
    steps: Annotated[int, typer.Option(help="Transitions to record.")] = 100_000,
    noise: Annotated[
        float, typer.Option(help="Std of Gaussian action noise (in [-1, 1] units).")
    ] = 0.0,
    label: Annotated[str | None, typer.Option(help="Quality label (default: from the id).")] = None,
    ref_policy: Annotated[
        str | None, typer.Option(help="Checkpoint whose return is ref_max_score.")
    ] = None,
    ref_max: Annotated[
        float | None, typer.Option(help="ref_max_score, if known (instead of --ref-policy).")
    ] = None,
    ref_episodes: Annotated[int, typer.Option(help="Episodes per reference score.")] = 10,
    seed: Annotated[int, typer.Option()] = 0,
    debug: Debug = False,
) -> None:
    """Roll out a policy and record a Minari dataset, with reference scores and labels.

    Example: wsdiag data collect pd/expert-v0 --policy runs/demo-seed0 --steps 20000
    """
    with cli_errors(debug):
        from wsdiag.data.build import RANDOM, EnvChoice, collect_dataset

        require_finite(noise=noise, ref_max=ref_max)
        if steps < 1 or ref_episodes < 1 or noise < 0:
            raise WsdiagError("--steps and --ref-episodes must be >= 1 and --noise >= 0")
        if policy == RANDOM:
            agent, choice = RANDOM, EnvChoice(env) if env else None
        else:
            agent, choice = checkpoint_agent(policy, env)
        ref_env = choice.env_id if choice else None
        ref_agent = checkpoint_agent(ref_policy, ref_env)[0] if ref_policy else None
        collect_dataset(
            dataset_id,
            policy=agent,
            policy_name=policy,
            env_id=choice.env_id if choice else None,
            env_kwargs=choice.kwargs if choice else None,
            env_imports=choice.imports if choice else (),
            steps=steps,
            noise=noise,
            seed=seed,
            label=label,
            ref_agent=ref_agent,
            ref_max=ref_max,
            ref_episodes=ref_episodes,
        )
        _written(dataset_id)


@app.command()
def mix(
    base: Annotated[str, typer.Argument(help="The expert dataset.")],
    other: Annotated[str, typer.Argument(help="The contaminating dataset (random, medium, ...).")],
    percent: Annotated[float, typer.Option(help="Share of base's transitions replaced (0-100).")],
    out: Annotated[
        str, typer.Option(help="New dataset id, e.g. wsdiag/pendulum/expert-random-30-v0.")
    ],
    debug: Debug = False,
) -> None:
    """Replace the final PERCENT% of BASE's transitions by whole episodes of OTHER (TD3BC++).

    Example: wsdiag data mix pd/expert-v0 pd/random-v0 --percent 30 --out pd/mixed-30-v0
    """
    with cli_errors(debug):
        from wsdiag.data.build import mix_dataset

        mix_dataset(base, other, percent, out)
        _written(out)


@app.command()
def concat(
    datasets: Annotated[list[str], typer.Argument(help="Datasets of one environment.")],
    out: Annotated[str, typer.Option(help="New dataset id.")],
    debug: Debug = False,
) -> None:
    """Concatenate datasets (medium-expert style); labels are kept.

    Example: wsdiag data concat pd/medium-v0 pd/expert-v0 --out pd/medium-expert-v0
    """
    with cli_errors(debug):
        from wsdiag.data.build import concat_dataset

        concat_dataset(datasets, out)
        _written(out)


def _score_range(info: DatasetInfo) -> str:
    norm = info.normalised(info.mean_return)
    return "-" if norm is None else f"{norm:.1f}"


@app.command("list")
def list_datasets(debug: Debug = False) -> None:
    """A table of the datasets under MINARI_DATASETS_PATH.

    Example: MINARI_DATASETS_PATH=datasets wsdiag data list
    """
    with cli_errors(debug):
        from wsdiag.data.build import describe
        from wsdiag.data.minari_io import datasets_root, local_dataset_ids

        ids = local_dataset_ids()
        rows: dict[str, list[str]] = {}
        unreadable: dict[str, str] = {}
        for dataset_id in ids:
            try:
                info = describe(dataset_id)
            except WsdiagError as exc:  # one broken dataset must not hide the others
                unreadable[dataset_id] = str(exc)
                rows[dataset_id] = ["?", "", "", "", "", "[red]unreadable[/] (below)"]
                continue
            labels = ", ".join(f"{k}: {v}" for k, v in info.labels.items())
            rows[dataset_id] = [info.env_id, str(info.episodes), str(info.steps),
                                f"{info.mean_return:.1f}", _score_range(info), labels]  # fmt: skip
        _print_datasets(f"datasets in {datasets_root()}", rows)
        for dataset_id, reason in unreadable.items():
            console.print(f"[yellow]unreadable[/] {dataset_id}: {reason}", soft_wrap=True)


DATASET_COLUMNS = ("env", "episodes", "steps", "mean return", "normalised", "labels (transitions)")


def _print_datasets(title: str, rows: dict[str, list[str]]) -> None:
    """One row a dataset where the terminal is wide enough, else one block a dataset (its id,
    then its numbers, named), so that no id or number is ever cut."""
    out = Console()
    table = Table(title=title)
    table.add_column("id", no_wrap=True)
    for k, name in enumerate(DATASET_COLUMNS):
        table.add_column(name, justify="right" if 0 < k < 5 else "left", no_wrap=True)
    for dataset_id, cells in rows.items():
        table.add_row(dataset_id, *cells)
    if out.measure(table, options=out.options.update_width(1 << 16)).maximum <= out.width:
        out.print(table)
        return
    out.print(title, highlight=False)
    for dataset_id, cells in rows.items():
        lines = [""]
        for name, cell in zip(DATASET_COLUMNS, cells, strict=True):
            pair = f"{name.split(' (')[0]} {cell}"
            if lines[-1] and len(lines[-1]) + len(pair) + 5 > out.width:
                lines.append("")
            lines[-1] += f" · {pair}" if lines[-1] else pair
        out.print(f"[bold]{dataset_id}[/]", *(f"  {line}" for line in lines), sep="\n",
                  highlight=False, soft_wrap=True)  # fmt: skip


@app.command()
def info(dataset_id: Annotated[str, typer.Argument()], debug: Debug = False) -> None:
    """Details of one local dataset.

    Example: wsdiag data info wsdiag/pendulum/expert-v0
    """
    with cli_errors(debug):
        from wsdiag.data.build import describe
        from wsdiag.data.minari_io import datasets_root

        d = describe(dataset_id)
        table = Table(title=dataset_id, show_header=False)
        rows = {
            "environment": d.env_id,
            "episodes": d.episodes,
            "steps": d.steps,
            "mean episode return": f"{d.mean_return:.2f}",
            "ref_min_score (random)": d.ref_min_score,
            "ref_max_score (best policy)": d.ref_max_score,
            "normalised mean return": _score_range(d),
            **{f"label '{k}'": f"{v} transitions" for k, v in d.labels.items()},
            "path": datasets_root() / dataset_id,
        }
        for key, value in rows.items():
            table.add_row(key, "-" if value is None else str(value))
        Console().print(table)
