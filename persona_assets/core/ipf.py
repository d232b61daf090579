"""Iterative proportional fitting (raking) of a seed array to target margins.

A margin constrains the sums of the array over all axes *not* listed in ``axes``. An axis of a margin may be
*grouped*: several cells of the array's axis map to one cell of the target (Census 2020 pools its 25 smallest
planning areas as ``Others``; a margin over planning-area groups fits the pooled total without inventing a
split). Margins are fitted in order on every sweep, so when two margins disagree (an older planning-area table and
a newer national table), the one listed **last** is met exactly and the others approximately: list the source
that wins last.

A margin may also be *restricted* (``select``) to some cells of an axis: e.g. the qualification margin of the
employed only, or a dwelling margin over residents aged 25+ only. Cells outside the selection are neither counted
nor rescaled by that margin; where the restricted axis is one of the margin's own axes, the target's cells outside
the selection are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Margin:
    axes: tuple[int, ...]
    target: np.ndarray
    groups: dict[int, np.ndarray] = field(default_factory=dict)  # array axis -> group index of each cell
    name: str = ""
    select: dict[int, tuple[int, ...]] = field(default_factory=dict)  # axis -> the cells the margin covers

    def __post_init__(self) -> None:
        if list(self.axes) != sorted(set(self.axes)):
            raise ValueError(f"margin {self.name!r}: axes must be increasing and unique, got {self.axes}")
        if np.any(np.asarray(self.target) < 0) or not np.all(np.isfinite(self.target)):
            raise ValueError(f"margin {self.name!r}: targets must be finite and non-negative")
        for axis in self.groups:
            if axis not in self.axes:
                raise ValueError(f"margin {self.name!r}: grouped axis {axis} is not one of its axes")
        for axis, cells in self.select.items():
            if not cells or axis in self.groups:
                raise ValueError(f"margin {self.name!r}: a selection must name cells of an ungrouped axis")


def _selection(margin: Margin, shape: tuple[int, ...]) -> np.ndarray | None:
    """Boolean mask (broadcastable to ``shape``) of the cells a restricted margin covers; None if unrestricted."""
    if not margin.select:
        return None
    mask = np.ones([1] * len(shape), dtype=bool)
    for axis, cells in margin.select.items():
        keep = np.zeros(shape[axis], dtype=bool)
        keep[list(cells)] = True
        mask = mask & keep.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return mask


@dataclass(frozen=True)
class IPFResult:
    fitted: np.ndarray
    iterations: int
    converged: bool
    max_relative_error: dict[str, float]


def _one_hot(groups: np.ndarray) -> np.ndarray:
    n_groups = int(groups.max()) + 1
    m = np.zeros((n_groups, len(groups)))
    m[groups, np.arange(len(groups))] = 1.0
    return m


def _covered(margin: Margin, shape: tuple[int, ...]) -> np.ndarray | bool:
    """Which target cells a restricted margin covers (True for every cell of an unrestricted one)."""
    mask = _selection(margin, shape)
    if mask is None:
        return True
    plain = Margin(margin.axes, margin.target, margin.groups, margin.name)
    return _project(np.broadcast_to(mask, shape).astype(float), plain) > 0


def _project(x: np.ndarray, margin: Margin) -> np.ndarray:
    """Sum ``x`` (its selected cells) onto the margin's axes, aggregating grouped axes."""
    mask = _selection(margin, x.shape)
    if mask is not None:
        x = np.where(mask, x, 0.0)
    other = tuple(a for a in range(x.ndim) if a not in margin.axes)
    s = x.sum(axis=other) if other else x
    for pos, axis in enumerate(margin.axes):
        if axis in margin.groups:
            s = np.moveaxis(np.tensordot(_one_hot(margin.groups[axis]), s, axes=(1, pos)), 0, pos)
    return s


def _expand(ratio: np.ndarray, margin: Margin, ndim: int) -> np.ndarray:
    """Broadcastable array of per-cell factors from per-margin-cell factors."""
    r = ratio
    for pos, axis in enumerate(margin.axes):
        if axis in margin.groups:
            r = np.take(r, margin.groups[axis], axis=pos)
    shape = [1] * ndim
    for pos, axis in enumerate(margin.axes):
        shape[axis] = r.shape[pos]
    return r.reshape(shape)


def _relative_error(x: np.ndarray, margin: Margin) -> float:
    covered = _covered(margin, x.shape)
    current = np.where(covered, _project(x, margin), 0.0)
    target = np.where(covered, np.asarray(margin.target, dtype=float), 0.0)
    scale = max(float(target.sum()), 1e-12)
    return float(np.abs(current - target).sum() / scale)


def fit_ipf(seed: np.ndarray, margins: list[Margin], *, max_iter: int = 500, tol: float = 1e-10) -> IPFResult:
    """Rake ``seed`` to ``margins``. Cells with a zero seed stay zero (structural zeros).

    Raises ``ValueError`` when a margin has mass where the seed has none (it cannot be fitted) or shapes
    disagree. ``max_relative_error`` is, per margin, ``sum |fitted - target| / sum target`` at the end.
    """
    x = np.asarray(seed, dtype=float).copy()
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("seed must be finite and non-negative")
    names = [m.name or f"margin{i}" for i, m in enumerate(margins)]
    for m, name in zip(margins, names, strict=True):
        current = _project(x, m)
        if current.shape != np.shape(m.target):
            raise ValueError(f"{name}: target shape {np.shape(m.target)} != projected shape {current.shape}")
        impossible = (np.asarray(m.target) > 0) & (current <= 0) & _covered(m, x.shape)
        if impossible.any():
            idx = tuple(int(i) for i in np.argwhere(impossible)[0])
            raise ValueError(f"{name}: target cell {idx} has mass but the seed has none there")
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        for m in margins:
            current = _project(x, m)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, np.asarray(m.target, dtype=float) / current, 0.0)
            factor = _expand(ratio, m, x.ndim)
            mask = _selection(m, x.shape)
            x *= factor if mask is None else np.where(mask, factor, 1.0)
        if max(_relative_error(x, m) for m in margins) < tol:
            converged = True
            break
    errors = {name: _relative_error(x, m) for m, name in zip(margins, names, strict=True)}
    return IPFResult(fitted=x, iterations=iterations, converged=converged, max_relative_error=errors)


def conditional(joint: np.ndarray, child_axis: int = -1) -> np.ndarray:
    """P(child | other axes) from a joint array; rows with no mass become uniform (and are flagged by callers)."""
    total = joint.sum(axis=child_axis, keepdims=True)
    k = joint.shape[child_axis]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, joint / total, 1.0 / k)
