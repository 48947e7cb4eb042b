"""Point labels that do not overlap: a greedy search over positions around each point.

Labels are placed one at a time, in the order given (the important ones first). For each, the
candidate offsets are tried ring by ring (`RINGS`, 6 to 150 points; twelve directions per ring,
the side facing the plot's centre first), and the first whose text box lies
inside the axes and overlaps neither a placed label nor another point's marker is kept; labels
further than the first ring get a thin leader line. When no candidate fits, the label goes at
its first candidate anyway (a crowded plot stays readable rather than losing labels).

The figure's layout is settled (drawn once, then frozen) before placing, so that the display
coordinates the search measures are the ones that get saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

RINGS = (6, 16, 28, 42, 58, 78, 100, 125, 150)  # points from the marker
MARKER_PX = 5.0  # half-size of the box kept clear around every marker
LEADER = {"arrowstyle": "-", "color": "#9a9a9a", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 4}


ANGLES = (30, -30, 90, -90, 0, 60, -60, 150, -150, 180, 120, -120)  # degrees, centre side first


def _directions(towards_right: bool) -> list[tuple[float, float, str, str]]:
    """(unit dx, unit dy, ha, va) for `ANGLES`, mirrored to face the plot's centre."""
    out = []
    for angle in ANGLES:
        dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        dx = dx if towards_right else -dx
        ha = "left" if dx > 0.2 else "right" if dx < -0.2 else "center"
        va = "bottom" if dy > 0.2 else "top" if dy < -0.2 else "center"
        out.append((float(dx), float(dy), ha, va))
    return out


Candidate = tuple[int, tuple[float, float, str, str]]  # (ring, direction)


def _annotate(
    ax: Axes,
    text: str,
    xy: tuple[float, float],
    where: Candidate,
    style: Mapping[str, Any],
    leader: bool = False,
) -> Annotation:
    ring, (dx, dy, ha, va) = where
    return ax.annotate(
        text, xy, xytext=(dx * ring, dy * ring), textcoords="offset points", ha=ha, va=va,
        arrowprops=LEADER if leader else None, **style,
    )  # fmt: skip


def _clear(box: Bbox, inside: Bbox, taken: Sequence[Bbox]) -> bool:
    fits = inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
    return fits and box.y1 <= inside.y1 and not any(box.overlaps(t) for t in taken)


def place_labels(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    texts: Sequence[str],
    styles: Sequence[Mapping[str, Any]],
    order: Sequence[int] | None = None,
) -> list[Annotation]:
    """Annotate point i with texts[i] (Text keyword arguments styles[i]); see module docstring."""
    fig = ax.figure
    fig.canvas.draw()  # settle the layout, then freeze it so the measured coordinates hold
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    pixels = ax.transData.transform(np.column_stack([x, y]))
    frame = ax.get_window_extent(renderer)
    centre = (frame.x0 + frame.x1) / 2
    markers = [
        Bbox.from_bounds(px - MARKER_PX, py - MARKER_PX, 2 * MARKER_PX, 2 * MARKER_PX)
        for px, py in pixels
        if np.isfinite(px) and np.isfinite(py)
    ]
    placed: list[Bbox] = []
    annotations: list[Annotation] = []
    for i in order if order is not None else range(len(texts)):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        others = [m for m in markers if not m.contains(*pixels[i])]
        candidates = [(ring, d) for ring in RINGS for d in _directions(pixels[i][0] <= centre)]
        chosen: tuple[Candidate, Bbox] | None = None
        for where in candidates:  # measured without a leader (its box would include the line)
            probe = _annotate(ax, texts[i], (x[i], y[i]), where, styles[i])
            box = probe.get_window_extent(renderer)
            probe.remove()
            if chosen is None:
                chosen = (where, box)  # when nowhere is free: the first candidate, overlapping
            if _clear(box, frame, [*placed, *others]):
                chosen = (where, box)
                break
        assert chosen is not None
        where, box = chosen
        ann = _annotate(ax, texts[i], (x[i], y[i]), where, styles[i], where[0] > RINGS[0])
        annotations.append(ann)
        placed.append(box)
    return annotations
