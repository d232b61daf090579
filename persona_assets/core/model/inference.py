"""Exact joint distributions implied by the fitted network, by variable elimination (one ``numpy.einsum`` over the
conditional tables of the nodes a query needs).

A query fixes the planning area and its age x sex weights (the allocated official counts) and returns the joint of
the kept variables, optionally restricted to some categories of any variable (e.g. employed residents aged 25+).
Employed-only nodes follow the sampler's semantics: residents who are not employed carry occupation code 0 (masked
when decoded), so restrict ``labour_force_status`` to ``Employed`` when keeping occupation, industry or income.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from persona_assets.core.model import vocab as V
from persona_assets.core.model.network import STRUCTURE, PersonaNetwork

#: einsum letter of each network variable (planning_area is fixed by the query).
LETTERS = {
    "age_group": "g",
    "sex": "s",
    "ethnicity": "e",
    "religion": "r",
    "language_at_home": "l",
    "marital_status": "m",
    "labour_force_status": "f",
    "education_level": "q",
    "occupation": "o",
    "industry": "i",
    "monthly_income_band": "b",
    "activity": "x",
    "dwelling_type": "d",
}
EMPLOYED = V.LABOUR_FORCE.index("Employed")


def _parents(name: str) -> tuple[str, ...]:
    parents = tuple(p for p in dict(STRUCTURE)[name] if p != "planning_area")
    # occupation is drawn for the employed only: the others carry code 0, so it depends on their status too
    return (*parents, "labour_force_status") if name == "occupation" else parents


def _ancestors(names: Iterable[str]) -> list[str]:
    out: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in out:
            continue
        out.add(n)
        todo.extend(_parents(n))
    return [n for n, _ in STRUCTURE if n in out]


def _factor(net: PersonaNetwork, name: str, areas: slice | int) -> np.ndarray:
    cpt = net.nodes[name].cpt
    table = cpt[areas] if dict(STRUCTURE)[name][:1] == ("planning_area",) else cpt
    if name != "occupation":
        return table
    lead = table.shape[:-3]  # (areas,) or ()
    eff = np.zeros((*lead, *table.shape[-3:-1], len(V.LABOUR_FORCE), table.shape[-1]))  # [.., age, sex, status, occ]
    eff[..., EMPLOYED, :] = table
    eff[..., [i for i in range(len(V.LABOUR_FORCE)) if i != EMPLOYED], 0] = 1.0
    return eff


def _contract(
    net: PersonaNetwork,
    areas: slice | int,
    age_sex: np.ndarray,
    keep: tuple[str, ...],
    where: Mapping[str, Iterable[int]] | None,
) -> np.ndarray:
    """One einsum over the tables the query needs; with ``areas`` a slice, every area at once (leading axis).

    A kept variable that no other needed variable depends on (e.g. income) is eliminated last: the joint of the
    others and its parents first, then its table; this keeps every intermediate small."""
    where = dict(where or {})
    per_area = isinstance(areas, slice)
    p = "p" if per_area else ""
    others = [k for k in keep if k not in ("age_group", "sex")]
    for var in others:
        rest = [k for k in keep if k != var]
        if var in where or var in _ancestors([*rest, *where]):
            continue
        inner_keep = tuple(dict.fromkeys([*rest, *_parents(var)]))
        inner = _contract(net, areas, age_sex, inner_keep, where)
        by_area = dict(STRUCTURE)[var][:1] == ("planning_area",)
        factor_subs = (p if by_area else "") + "".join(LETTERS[q] for q in _parents(var)) + LETTERS[var]
        expr = f"{p}{''.join(LETTERS[k] for k in inner_keep)},{factor_subs}->{p}{''.join(LETTERS[k] for k in keep)}"
        return np.einsum(expr, inner, _factor(net, var, areas), optimize=True)
    names = [n for n in _ancestors([*keep, *where]) if n not in ("planning_area", "age_group", "sex")]
    operands: list[np.ndarray] = [np.asarray(age_sex, dtype=float)]
    subscripts = [p + "gs"]
    for name in names:
        by_area = dict(STRUCTURE)[name][:1] == ("planning_area",)
        operands.append(_factor(net, name, areas))
        subscripts.append((p if by_area else "") + "".join(LETTERS[q] for q in _parents(name)) + LETTERS[name])
    for var, codes in where.items():
        mask = np.zeros(len(net.categories(var)))
        mask[list(codes)] = 1.0
        operands.append(mask)
        subscripts.append(LETTERS[var])
    expr = ",".join(subscripts) + "->" + p + "".join(LETTERS[k] for k in keep)
    key = (expr, tuple(o.shape for o in operands))
    if key not in _PATHS:  # the contraction order depends only on the expression and the shapes
        _PATHS[key] = np.einsum_path(expr, *operands, optimize="greedy")[0]
    return np.einsum(expr, *operands, optimize=_PATHS[key])


def model_joint(
    net: PersonaNetwork,
    area: str,
    age_sex: np.ndarray,
    keep: tuple[str, ...],
    where: Mapping[str, Iterable[int]] | None = None,
) -> np.ndarray:
    """Joint counts over ``keep`` (in that axis order) for residents of ``area`` with age x sex weights
    ``age_sex[age_group, sex]``, restricted to the category codes in ``where`` (variable -> codes)."""
    return _contract(net, net.areas.index(area), age_sex, keep, where)


def area_joints(
    net: PersonaNetwork,
    age_sex_by_area: np.ndarray,
    keep: tuple[str, ...],
    where: Mapping[str, Iterable[int]] | None = None,
) -> np.ndarray:
    """``model_joint`` for every planning area at once: [area, keep...] (``age_sex_by_area[area, age, sex]``)."""
    return _contract(net, slice(None), age_sex_by_area, keep, where)


def national_joint(
    net: PersonaNetwork,
    age_sex_by_area: np.ndarray,
    keep: tuple[str, ...],
    where: Mapping[str, Iterable[int]] | None = None,
) -> np.ndarray:
    """``model_joint`` summed over every planning area."""
    return area_joints(net, age_sex_by_area, keep, where).sum(axis=0)


_PATHS: dict[tuple[str, tuple[tuple[int, ...], ...]], list] = {}
