"""Vectorised ancestral sampling over the fitted conditional tables.

pomegranate's ``BayesianNetwork.sample()`` loops in Python and cannot take evidence; here every node is one
gather of its CPT rows by the parents' codes plus one inverse-CDF draw for all records at once. Per-area
sampling is exact: ``planning_area`` is fixed by the partition and the age x sex x subzone cells come from the
official table by controlled rounding (``allocation.allocate_cells``), so only the other fields are drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_assets.core.model import vocab as V
from persona_assets.core.model.network import EMPLOYED_ONLY, INTERNAL, STRUCTURE, PersonaNetwork

EMPLOYED = V.LABOUR_FORCE.index("Employed")


def stratified_uniforms(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniforms that are *stratified within each group*: the m records of a group get one uniform in each of
    the intervals [0, 1/m), [1/m, 2/m), …, in random order. Drawn through the same inverse CDF, a group's
    category counts then differ from their expectation by less than two (balanced sampling), while which record gets
    which category stays random."""
    n = len(groups)
    order = np.lexsort((rng.random(n), groups))
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    u = np.empty(n)
    u[order] = (pos + rng.random(n)) / np.repeat(sizes, sizes)
    return u


def draw(rows: np.ndarray, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """One category code per row of probabilities ``rows`` (n x k), by inverse CDF. With ``groups`` (records
    sharing a group share their row), the uniforms are stratified within groups (see ``stratified_uniforms``)."""
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(rows, axis=1)
    u = rng.random(rows.shape[0]) if groups is None else stratified_uniforms(groups, rng)
    u = u * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), rows.shape[1] - 1).astype(np.int64)


def sample_codes(
    net: PersonaNetwork,
    codes: dict[str, np.ndarray],
    rng: np.random.Generator,
    skip: tuple[str, ...] = (),
    stratified: bool = True,
    mask_employed_only: bool = True,
) -> dict[str, np.ndarray]:
    """Ancestral sampling: fill every node of the structure not already in ``codes`` (or in ``skip``).
    ``stratified=False`` draws plain independent uniforms (textbook forward sampling)."""
    n = len(next(iter(codes.values()))) if codes else None
    out = dict(codes)
    for name, parents in STRUCTURE:
        if name in out or name in skip:
            continue
        cpt = net.nodes[name].cpt
        if parents:
            parent_codes = tuple(out[p] for p in parents)
            # employed-only nodes are drawn for employed records only, so that their stratification (and
            # balance) holds among the records that keep them; the others get code 0 and are masked on decoding
            sel = (out["labour_force_status"] == EMPLOYED) if (name in EMPLOYED_ONLY and mask_employed_only) else None
            if sel is not None:
                codes_sel = tuple(c[sel] for c in parent_codes)
                drawn = draw(
                    cpt[codes_sel], rng, np.ravel_multi_index(codes_sel, cpt.shape[:-1]) if stratified else None
                )
                full = np.zeros(len(sel), dtype=np.int64)
                full[sel] = drawn
                out[name] = full
            else:
                rows = cpt[parent_codes]
                groups = np.ravel_multi_index(parent_codes, cpt.shape[:-1])
                out[name] = draw(rows, rng, groups if stratified else None)
            continue
        else:
            if n is None:
                raise ValueError("root nodes need a record count: pass at least one code array")
            rows = np.broadcast_to(cpt, (n, cpt.shape[0]))
        out[name] = draw(rows, rng)
    return out


def forward_sample(
    net: PersonaNetwork, n: int, rng: np.random.Generator, stratified: bool = False
) -> dict[str, np.ndarray]:
    """Unconditional forward sampling of the whole network (the benchmark's like-for-like comparison)."""
    pa = draw(np.broadcast_to(net.nodes["planning_area"].cpt, (n, len(net.areas))), rng)
    return sample_codes(net, {"planning_area": pa}, rng, stratified=stratified, mask_employed_only=False)


def sample_area_codes(
    net: PersonaNetwork, area: str, cells: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Expand allocated cells to records and draw every other field with ``planning_area`` fixed.

    Returns the per-record frame of allocated fields (subzone, age, sex) and the sampled codes.
    """
    a = net.areas.index(area)
    reps = cells["records"].to_numpy()
    base = pd.DataFrame(
        {
            "subzone": np.repeat(cells["subzone"].to_numpy(), reps),
            "age": np.repeat(cells["age"].astype(int).to_numpy(), reps),
            "sex": np.repeat(cells["sex"].to_numpy(), reps),
        }
    )
    n = len(base)
    ag_lookup = {g: i for i, g in enumerate(V.AGE_GROUPS)}
    codes = {
        "planning_area": np.full(n, a, dtype=np.int64),
        "age_group": base["age"].map(lambda x: ag_lookup[V.age_group_of(int(x))]).to_numpy(dtype=np.int64),
        "sex": base["sex"].map({s: i for i, s in enumerate(V.SEXES)}).to_numpy(dtype=np.int64),
    }
    return base, sample_codes(net, codes, rng)


def decode(net: PersonaNetwork, codes: dict[str, np.ndarray]) -> pd.DataFrame:
    """Category labels for sampled codes; employed-only fields are left missing for everyone else."""
    employed = codes["labour_force_status"] == V.LABOUR_FORCE.index("Employed")
    cols: dict[str, object] = {}
    for name, _ in STRUCTURE:
        if name in ("planning_area", "age_group", "sex", *INTERNAL) or name not in codes:
            continue
        labels = np.asarray(net.categories(name), dtype=object)[codes[name]]
        if name in EMPLOYED_ONLY:
            labels = np.where(employed, labels, None)
        cols[name] = labels
    return pd.DataFrame(cols)
