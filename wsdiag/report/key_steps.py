"""The probe steps that snapshot figures show: warm start, before updates, the dip, the end."""

from __future__ import annotations

from wsdiag.analysis.degradation import Degradation
from wsdiag.analysis.run import Run


def key_steps(run: Run, deg: Degradation | None, limit: int = 4) -> list[tuple[int, str]]:
    """(probe step, caption) pairs; moments that share a probe share an entry.

    The moments: step 0 (the critic at the warm start: fresh, or the pretrained one when it was
    loaded), the last probe at or before policy updates, the probe nearest the lowest return,
    and the last probe.
    """
    steps = run.probe_steps
    if not steps:
        return []
    loaded = "critic" in run.warm_start_parts
    chosen = [(steps[0], "warm start: " + ("pretrained critic" if loaded else "fresh critic"))]
    before = [s for s in steps if s <= run.update_start]
    if before:
        chosen.append((before[-1], "before policy updates"))
    if deg is not None and deg.dip > 0:
        chosen.append((min(steps, key=lambda s: abs(s - deg.min_step)), "at the dip"))
    chosen.append((steps[-1], "final"))
    return merge(chosen)[:limit]


def merge(chosen: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One entry per step, in first-seen order; captions of the same step joined."""
    seen: dict[int, str] = {}
    for step, caption in chosen:
        seen[step] = f"{seen[step]}; {caption}" if step in seen else caption
    return list(seen.items())
