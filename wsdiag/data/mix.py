"""Mixed-quality datasets (TD3BC++ paper): contamination by replacement, and concatenation.

`contaminate(base, other, x)`: keep base episodes from the start while they fit in
(1 - x/100) N_base transitions, then add episodes of `other` from its start while the total stays
within N_base. Whole episodes only; every episode is labelled `expert` (from base) or
`non-expert` (from other), its original label kept as `quality`. `concatenate`: all episodes of
every dataset, labels unchanged (the medium-expert style).
"""

from __future__ import annotations

from dataclasses import replace

from wsdiag.data.minari_io import Episode
from wsdiag.errors import WsdiagError


def _with_meta(ep: Episode, **changes: object) -> Episode:
    return replace(ep, metadata={**ep.metadata, **changes})


def _relabel(ep: Episode, label: str, source: str) -> Episode:
    quality = ep.metadata.get("label", "unknown")
    return _with_meta(ep, quality=quality, label=label, source_dataset=source)


def contaminate(
    base: list[Episode], other: list[Episode], percent: float, base_id: str, other_id: str
) -> list[Episode]:
    """Replace the final `percent`% of base's transitions by whole episodes of `other`."""
    if not 0 < percent < 100:
        raise WsdiagError(f"the contamination percentage must be in (0, 100), got {percent}")
    n_base = sum(len(ep) for ep in base)
    keep_budget = (1 - percent / 100) * n_base
    mixed: list[Episode] = []
    total = 0
    for ep in base:
        if total + len(ep) > keep_budget:
            break
        mixed.append(_relabel(ep, "expert", base_id))
        total += len(ep)
    added = 0
    for ep in other:
        if total + len(ep) > n_base:
            break
        mixed.append(_relabel(ep, "non-expert", other_id))
        total += len(ep)
        added += 1
    if added == 0:
        raise WsdiagError(
            f"'{other_id}' has no episode short enough to fill {percent}% of '{base_id}'"
        )
    return mixed


def concatenate(datasets: dict[str, list[Episode]]) -> list[Episode]:
    """Every episode of every dataset, in order; each keeps its label and records its source."""
    out = []
    for dataset_id, episodes in datasets.items():
        for ep in episodes:
            out.append(
                Episode(
                    ep.observations,
                    ep.actions,
                    ep.rewards,
                    ep.terminations,
                    ep.truncations,
                    {**ep.metadata, "source_dataset": dataset_id},
                )
            )
    return out
