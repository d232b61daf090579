"""The persona Bayesian network: structure, pomegranate fit from weighted table cells, persistence.

Structure (parents → child), each conditional table estimable from named official tables
(``tables.build_model_tables``):

    planning_area                                  (root; fixed per partition when sampling)
    planning_area → age_group → sex                (June 2025 counts; allocated exactly, not sampled)
    planning_area, age_group, sex → ethnicity
    planning_area, ethnicity → religion
    planning_area, ethnicity → language_at_home
    planning_area, age_group, sex → marital_status
    age_group, sex, marital_status → labour_force_status
    planning_area, age_group, sex, labour_force_status → education_level
    planning_area, age_group, sex → occupation           (employed residents)
    planning_area, occupation → industry                 (employed residents)
    planning_area, occupation, sex → monthly_income_band (employed residents)
    age_group, labour_force_status, occupation → activity          (a deterministic recode, not a record field)
    planning_area, activity, education_level, religion → dwelling_type

Each child is conditionally independent of its non-descendants given its parents: that is the list of
assumptions, spelled out per node in ``tables.ASSUMPTIONS``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from persona_assets.core.model import vocab as V
from persona_assets.core.model.tables import ModelTables, NodeTable

#: (node, parents) in topological order. Changing it changes the network's code version.
STRUCTURE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("planning_area", ()),
    ("age_group", ("planning_area",)),
    ("sex", ("planning_area", "age_group")),
    ("ethnicity", ("planning_area", "age_group", "sex")),
    ("religion", ("planning_area", "ethnicity")),
    ("language_at_home", ("planning_area", "ethnicity")),
    ("marital_status", ("planning_area", "age_group", "sex")),
    ("labour_force_status", ("age_group", "sex", "marital_status")),
    ("education_level", ("planning_area", "age_group", "sex", "labour_force_status")),
    ("occupation", ("planning_area", "age_group", "sex")),
    ("industry", ("planning_area", "occupation")),
    ("monthly_income_band", ("planning_area", "occupation", "sex")),
    ("activity", ("age_group", "labour_force_status", "occupation")),
    ("dwelling_type", ("planning_area", "activity", "education_level", "religion")),
)

#: Nodes that describe employed residents only (the sampler masks them for everyone else).
EMPLOYED_ONLY = ("occupation", "industry", "monthly_income_band")
#: Nodes that are modelling devices, not record fields (drawn, then left out of the decoded records).
INTERNAL = ("activity",)


def structure_fingerprint() -> str:
    return hashlib.sha256(json.dumps(STRUCTURE).encode()).hexdigest()[:16]


@dataclass
class FittedNode:
    name: str
    parents: tuple[str, ...]
    categories: tuple[str, ...]
    cpt: np.ndarray  # [parent_1, …, parent_k, child], rows sum to 1
    sources: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    universe: str = ""
    weight: float = 0.0  # persons behind the table
    empty_rows: int = 0  # parent combinations with no mass (uniform rows; never reached by the sampler)
    diagnostics: dict[str, float] = field(default_factory=dict)


@dataclass
class PersonaNetwork:
    areas: tuple[str, ...]
    regions: dict[str, str]
    nodes: dict[str, FittedNode]
    fingerprint: str = ""

    def categories(self, name: str) -> tuple[str, ...]:
        if name == "planning_area":
            return self.areas
        return self.nodes[name].categories

    # -------------------------------------------------------------- persistence
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "cpts.npz", **{n: node.cpt for n, node in self.nodes.items()})
        meta = {
            "areas": list(self.areas),
            "regions": self.regions,
            "fingerprint": self.fingerprint,
            "structure": [[n, list(p)] for n, p in STRUCTURE],
            "nodes": {
                n: {
                    "parents": list(node.parents),
                    "categories": list(node.categories),
                    "sources": list(node.sources),
                    "assumptions": list(node.assumptions),
                    "universe": node.universe,
                    "weight": node.weight,
                    "empty_rows": node.empty_rows,
                    "diagnostics": node.diagnostics,
                }
                for n, node in self.nodes.items()
            },
        }
        (folder / "network.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load_current(cls, folder: Path) -> PersonaNetwork:
        """The version a ``CURRENT`` pointer in ``folder`` names (the layout the network IO manager writes)."""
        return cls.load(folder / "versions" / (folder / "CURRENT").read_text(encoding="utf-8").strip())

    @classmethod
    def load(cls, folder: Path) -> PersonaNetwork:
        meta = json.loads((folder / "network.json").read_text(encoding="utf-8"))
        with np.load(folder / "cpts.npz") as cpts:
            nodes = {
                n: FittedNode(
                    name=n,
                    parents=tuple(m["parents"]),
                    categories=tuple(m["categories"]),
                    cpt=cpts[n],
                    sources=tuple(m["sources"]),
                    assumptions=tuple(m["assumptions"]),
                    universe=m["universe"],
                    weight=m["weight"],
                    empty_rows=m["empty_rows"],
                    diagnostics=m["diagnostics"],
                )
                for n, m in meta["nodes"].items()
            }
        return cls(areas=tuple(meta["areas"]), regions=meta["regions"], nodes=nodes, fingerprint=meta["fingerprint"])


def _joints(tables: ModelTables) -> dict[str, NodeTable]:
    """Node tables in the network's variables (age_group and sex split out of the allocation table)."""
    pop = tables.nodes["age_sex"].joint.reshape(len(tables.areas), len(V.AGE_GROUPS), len(V.SEXES))
    src = ("respop_2025",)
    official = ("Official June 2025 residents aged 15+ (allocated exactly per area when sampling).",)
    out = {
        "planning_area": NodeTable("planning_area", (), tables.areas, pop.sum(axis=(1, 2)), src, official),
        "age_group": NodeTable("age_group", ("planning_area",), V.AGE_GROUPS, pop.sum(axis=2), src, official),
        "sex": NodeTable("sex", ("planning_area", "age_group"), V.SEXES, pop, src, official),
    }
    out.update({n: t for n, t in tables.nodes.items() if n != "age_sex"})
    return out


def _fit_with_pomegranate(joint: np.ndarray) -> np.ndarray:
    """Fit one conditional (or root) categorical distribution with pomegranate from weighted cells.

    Every cell of the joint array becomes one row (its coordinates are the parent and child codes, its
    count the sample weight); zero-weight rows keep the codes dense so pomegranate infers every category.
    """
    import torch
    from pomegranate.distributions import Categorical, ConditionalCategorical

    torch.set_num_threads(1)
    coords = np.array(list(itertools.product(*[range(s) for s in joint.shape])), dtype=np.int64)
    weights = joint.reshape(-1).astype(np.float64)
    if joint.ndim == 1:
        dist = Categorical()
        dist.fit(torch.tensor(coords), sample_weight=torch.tensor(weights)[:, None])
        return dist.probs.detach().numpy()[0].astype(np.float64)
    dist = ConditionalCategorical()
    dist.fit(torch.tensor(coords)[:, :, None], sample_weight=torch.tensor(weights)[:, None])
    return dist.probs[0].detach().numpy().astype(np.float64)


def fit_network(tables: ModelTables) -> PersonaNetwork:
    joints = _joints(tables)
    parents = dict(STRUCTURE)
    nodes: dict[str, FittedNode] = {}
    for name, _ in STRUCTURE:
        t = joints[name]
        if t.parents != parents[name]:
            raise ValueError(f"{name}: table parents {t.parents} differ from the structure {parents[name]}")
        cpt = _fit_with_pomegranate(t.joint)
        if cpt.shape != t.joint.shape:
            raise ValueError(f"{name}: fitted table shape {cpt.shape} != {t.joint.shape}")
        cpt = cpt / cpt.sum(axis=-1, keepdims=True)
        empty = int((t.joint.sum(axis=-1) <= 0).sum()) if t.joint.ndim > 1 else 0
        nodes[name] = FittedNode(
            name=name,
            parents=t.parents,
            categories=t.categories,
            cpt=cpt,
            sources=t.sources,
            assumptions=t.assumptions,
            universe=t.universe,
            weight=float(t.joint.sum()),
            empty_rows=empty,
            diagnostics=dict(t.diagnostics),
        )
    return PersonaNetwork(areas=tables.areas, regions=tables.regions, nodes=nodes, fingerprint=structure_fingerprint())


def network_summary(net: PersonaNetwork) -> list[dict[str, Any]]:
    return [
        {
            "node": n.name,
            "parents": ", ".join(n.parents) or "-",
            "categories": len(n.categories),
            "cpt_cells": int(n.cpt.size),
            "sources": ", ".join(n.sources),
            "universe": n.universe or "residents aged 15+",
            "assumptions": len(n.assumptions),
        }
        for n in net.nodes.values()
    ]
