"""Sampler core vs pomegranate's ``BayesianNetwork.sample()`` vs pgmpy's forward sampling, on the same network.

All three sample the full persona network (every node of ``network.STRUCTURE``) with the fitted CPTs,
unconditionally (textbook ancestral sampling; our ``forward_sample(..., stratified=False)``). Network construction
(loading the snapshot tables, fitting, building each library's model object) is timed separately and excluded from
the sampling times. The three samplers must agree: marginal frequencies of a few nodes are compared with the exact
marginals (computed from the CPTs) and between samplers, as total variation distance (TVD).

    python benchmarks/bench_sampler.py            # writes benchmarks/results/bench_sampler.json
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import Any

import numpy as np
from _common import best_of, machine_info, now_iso, peak_rss_mib, timed, write_results

SCRIPT = "bench_sampler"
TARGET_VS_POMEGRANATE = 100.0
TARGET_VS_PGMPY = 5.0
TVD_LIMIT = 0.03
#: Marginals compared between samplers: single nodes, and one pair whose joint depends on a child's parent order.
CHECKS: tuple[tuple[str, ...], ...] = (("planning_area",), ("ethnicity",), ("occupation",), ("ethnicity", "religion"))

Samples = dict[str, np.ndarray]


# --------------------------------------------------------------------------- network and exact marginals
def build_network() -> tuple[Any, dict[str, float]]:
    from census_sources import TABLES, load_table
    from persona_assets.core.model.network import fit_network
    from persona_assets.core.model.tables import build_model_tables

    frames, t_load = timed(lambda: {n: load_table(n) for n in TABLES})
    tables, t_tables = timed(lambda: build_model_tables(frames))
    net, t_fit = timed(lambda: fit_network(tables))
    return net, {"load_tables_s": t_load, "build_model_tables_s": t_tables, "fit_network_s": t_fit}


def exact_marginals(net: Any) -> dict[tuple[str, ...], np.ndarray]:
    """Exact marginals of the checked nodes, by summing the network's factors (no sampling)."""
    cpt = {name: node.cpt for name, node in net.nodes.items()}
    p_area_age_sex = np.einsum("a,ag,ags->ags", cpt["planning_area"], cpt["age_group"], cpt["sex"])
    p_area_eth = np.einsum("ags,agse->ae", p_area_age_sex, cpt["ethnicity"])
    return {
        ("planning_area",): cpt["planning_area"],
        ("ethnicity",): p_area_eth.sum(axis=0),
        ("occupation",): np.einsum("ags,agso->o", p_area_age_sex, cpt["occupation"]),
        ("ethnicity", "religion"): np.einsum("ae,aer->er", p_area_eth, cpt["religion"]),
    }


def frequencies(samples: Samples, nodes: tuple[str, ...], shape: tuple[int, ...]) -> np.ndarray:
    flat = np.ravel_multi_index(tuple(samples[n].astype(np.int64) for n in nodes), shape)
    return np.bincount(flat, minlength=math.prod(shape)).reshape(shape) / len(flat)


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.abs(p - q).sum())


def noise_tvd(p: np.ndarray, n: int) -> float:
    """Expected TVD of n independent draws from p against p itself (normal approximation): the noise floor."""
    return float(0.5 * np.sum(np.sqrt(2 * p * (1 - p) / (math.pi * n))))


# --------------------------------------------------------------------------- the three samplers
def sample_ours(net: Any, n: int, seed: int, stratified: bool = False) -> Samples:
    from persona_assets.core.model.sampler import forward_sample

    return forward_sample(net, n, np.random.default_rng(seed), stratified=stratified)


def build_pomegranate(net: Any) -> Any:
    """pomegranate network: one distribution per node; each child's edges are added in its CPT's parent order,
    which is the order pomegranate indexes ``probs[0]`` with when sampling."""
    import torch
    from pomegranate.bayesian_network import BayesianNetwork
    from pomegranate.distributions import Categorical, ConditionalCategorical

    from persona_assets.core.model.network import STRUCTURE

    dists: dict[str, Any] = {}
    for name, parents in STRUCTURE:
        probs = torch.tensor(net.nodes[name].cpt, dtype=torch.float64)
        dists[name] = ConditionalCategorical(probs=[probs]) if parents else Categorical(probs=probs[None, :])
    edges = [(dists[p], dists[child]) for child, parents in STRUCTURE for p in parents]
    model = BayesianNetwork(distributions=[dists[name] for name, _ in STRUCTURE], edges=edges)
    index = {name: i for i, (name, _) in enumerate(STRUCTURE)}
    for name, parents in STRUCTURE:  # pomegranate's own record of each child's parents, in order
        if model._parents[index[name]] != tuple(index[p] for p in parents):
            raise AssertionError(f"pomegranate parent order for {name} differs from the CPT's")
    return model


def sample_pomegranate(model: Any, n: int, seed: int) -> Samples:
    import torch

    from persona_assets.core.model.network import STRUCTURE

    torch.manual_seed(seed)
    x = model.sample(n).numpy()
    return {name: x[:, i] for i, (name, _) in enumerate(STRUCTURE)}


def build_pgmpy(net: Any) -> Any:
    """pgmpy network: ``TabularCPD`` values are [child card, prod(parent cards)] with the *last* evidence variable
    varying fastest (C order), i.e. our CPT reshaped to (-1, child card) and transposed."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.sampling import BayesianModelSampling

    from persona_assets.core.model.network import STRUCTURE

    model = DiscreteBayesianNetwork([(p, child) for child, parents in STRUCTURE for p in parents])
    for name, parents in STRUCTURE:
        cpt = net.nodes[name].cpt
        k = cpt.shape[-1]
        if parents:
            cpd = TabularCPD(name, k, cpt.reshape(-1, k).T, evidence=list(parents), evidence_card=list(cpt.shape[:-1]))
        else:
            cpd = TabularCPD(name, k, cpt[:, None])
        model.add_cpds(cpd)
    if not model.check_model():
        raise AssertionError("pgmpy rejected the model")
    return BayesianModelSampling(model)


def sample_pgmpy(sampler: Any, n: int, seed: int) -> Samples:
    df = sampler.forward_sample(size=n, seed=seed, show_progress=False)
    return {str(c): df[c].to_numpy() for c in df.columns}


# --------------------------------------------------------------------------- main
def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours-rows", type=int, default=100_000, help="rows for the best-of-3 timing of our sampler")
    ap.add_argument("--ours-large-rows", type=int, default=1_000_000, help="rows for the large run of our sampler")
    ap.add_argument("--pomegranate-rows", type=int, default=20_000, help="rows for pomegranate (a few seconds)")
    ap.add_argument("--pgmpy-rows", type=int, default=1_000_000, help="rows for pgmpy's large run (kept < ~60 s)")
    ap.add_argument("--seed", type=int, default=20251125)
    args = ap.parse_args(argv)

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import torch

    torch.set_num_threads(1)

    print("building the network (untimed for sampling) ...", flush=True)
    net, construction = build_network()
    pom_model, construction["pomegranate_model_s"] = timed(lambda: build_pomegranate(net))
    pgm_sampler, construction["pgmpy_model_s"] = timed(lambda: build_pgmpy(net))

    # Warm-ups (imports, first-call allocations), not timed.
    sample_ours(net, 1_000, args.seed)
    sample_pomegranate(pom_model, 200, args.seed)
    sample_pgmpy(pgm_sampler, 1_000, args.seed)

    figures: dict[str, dict[str, Any]] = {}

    print(f"ours: {args.ours_rows:,} rows, best of 3 ...", flush=True)
    best, times = best_of(lambda: sample_ours(net, args.ours_rows, args.seed), 3)
    figures["ours"] = {"rows": args.ours_rows, "seconds": best, "all_seconds": times}
    best, times = best_of(lambda: sample_ours(net, args.ours_rows, args.seed, stratified=True), 3)
    figures["ours_stratified"] = {"rows": args.ours_rows, "seconds": best, "all_seconds": times}
    print(f"ours: {args.ours_large_rows:,} rows ...", flush=True)
    ours_large, t = timed(lambda: sample_ours(net, args.ours_large_rows, args.seed + 1))
    figures["ours_large"] = {"rows": args.ours_large_rows, "seconds": t}

    print(f"pomegranate: {args.pomegranate_rows:,} rows ...", flush=True)
    pom, t = timed(lambda: sample_pomegranate(pom_model, args.pomegranate_rows, args.seed))
    figures["pomegranate"] = {"rows": args.pomegranate_rows, "seconds": t}

    print(f"pgmpy: {args.ours_rows:,} rows, best of 3 ...", flush=True)
    best, times = best_of(lambda: sample_pgmpy(pgm_sampler, args.ours_rows, args.seed), 3)
    figures["pgmpy"] = {"rows": args.ours_rows, "seconds": best, "all_seconds": times}
    projected = best * args.pgmpy_rows / args.ours_rows
    pgm_rows = args.pgmpy_rows if projected < 60 else max(args.ours_rows, int(args.pgmpy_rows * 50 / projected))
    print(f"pgmpy: {pgm_rows:,} rows ...", flush=True)
    pgm, t = timed(lambda: sample_pgmpy(pgm_sampler, pgm_rows, args.seed + 1))
    figures["pgmpy_large"] = {"rows": pgm_rows, "seconds": t}

    for f in figures.values():
        f["rows_per_s"] = rate(f["rows"], f["seconds"])

    ratios = {
        "ours_vs_pomegranate": figures["ours"]["rows_per_s"] / figures["pomegranate"]["rows_per_s"],
        "ours_large_vs_pomegranate": figures["ours_large"]["rows_per_s"] / figures["pomegranate"]["rows_per_s"],
        "ours_vs_pgmpy": figures["ours"]["rows_per_s"] / figures["pgmpy"]["rows_per_s"],
        "ours_large_vs_pgmpy_large": figures["ours_large"]["rows_per_s"] / figures["pgmpy_large"]["rows_per_s"],
    }

    # Same distributions? TVD of sampled marginals vs the exact ones and between samplers.
    exact = exact_marginals(net)
    runs = {"ours": ours_large, "pomegranate": pom, "pgmpy": pgm}
    agreement: list[dict[str, Any]] = []
    for nodes in CHECKS:
        p = exact[nodes]
        freq = {name: frequencies(s, nodes, p.shape) for name, s in runs.items()}
        row: dict[str, Any] = {"marginal": " x ".join(nodes), "categories": int(p.size)}
        for name, s in runs.items():
            n = len(next(iter(s.values())))
            row[f"{name}_vs_exact"] = tvd(freq[name], p)
            row[f"{name}_noise_floor"] = noise_tvd(p, n)
        row["ours_vs_pomegranate"] = tvd(freq["ours"], freq["pomegranate"])
        row["ours_vs_pgmpy"] = tvd(freq["ours"], freq["pgmpy"])
        agreement.append(row)
    worst = max(max(r["ours_vs_pomegranate"], r["ours_vs_pgmpy"]) for r in agreement)

    payload: dict[str, Any] = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "network": {
            "nodes": len(net.nodes),
            "cpt_cells": int(sum(node.cpt.size for node in net.nodes.values())),
        },
        "construction_seconds": construction,
        "sampling": figures,
        "ratios": ratios,
        "targets": {
            "ours_vs_pomegranate": TARGET_VS_POMEGRANATE,
            "ours_vs_pgmpy": TARGET_VS_PGMPY,
            "met_pomegranate": ratios["ours_vs_pomegranate"] >= TARGET_VS_POMEGRANATE,
            "met_pgmpy": min(ratios["ours_vs_pgmpy"], ratios["ours_large_vs_pgmpy_large"]) >= TARGET_VS_PGMPY,
        },
        "agreement_tvd": agreement,
        "agreement_ok": worst < TVD_LIMIT,
        "peak_rss_mib": peak_rss_mib(),
        "notes": [
            "single thread everywhere (torch.set_num_threads(1); numpy sampling is single-threaded)",
            "ours = persona_assets.core.model.sampler.forward_sample(stratified=False); ours_stratified = the "
            "stratified uniforms the pipeline uses",
            "noise_floor = expected TVD of that many iid draws from the exact marginal",
        ],
    }
    path = write_results(SCRIPT, payload)
    print_summary(payload)
    print(f"\nresults: {path}")
    return 0 if payload["agreement_ok"] else 1


def print_summary(r: dict[str, Any]) -> None:
    m, s, q = r["machine"], r["sampling"], r["ratios"]
    c = r["construction_seconds"]
    print(f"\n== sampler benchmark ({m['cpus_usable']} CPUs usable, Python {m['python']}, {r['date']}) ==")
    print(
        f"construction (excluded): tables {c['load_tables_s']:.2f} s, model tables {c['build_model_tables_s']:.2f} s,"
        f" fit {c['fit_network_s']:.2f} s, pomegranate model {c['pomegranate_model_s']:.3f} s,"
        f" pgmpy model {c['pgmpy_model_s']:.3f} s"
    )
    labels = {
        "ours": "ours forward_sample",
        "ours_stratified": "ours (stratified)",
        "ours_large": "ours forward_sample",
        "pomegranate": "pomegranate sample()",
        "pgmpy": "pgmpy forward_sample",
        "pgmpy_large": "pgmpy forward_sample",
    }
    for key, label in labels.items():
        f = s[key]
        print(f"  {label:<22} {f['rows']:>10,} rows  {f['seconds']:8.3f} s  {f['rows_per_s']:>12,.0f} rows/s")
    print(
        f"ratios: ours/pomegranate {q['ours_vs_pomegranate']:,.0f}x (target >= {TARGET_VS_POMEGRANATE:.0f}x), "
        f"ours/pgmpy {q['ours_vs_pgmpy']:.1f}x at {s['pgmpy']['rows']:,} rows and "
        f"{q['ours_large_vs_pgmpy_large']:.1f}x at {s['pgmpy_large']['rows']:,} rows (target >= {TARGET_VS_PGMPY:.0f}x)"
    )
    print("agreement (TVD; noise floors for ours / pomegranate / pgmpy in brackets):")
    for a in r["agreement_tvd"]:
        print(
            f"  {a['marginal']:<20} vs exact: ours {a['ours_vs_exact']:.4f} [{a['ours_noise_floor']:.4f}]"
            f"  pomegranate {a['pomegranate_vs_exact']:.4f} [{a['pomegranate_noise_floor']:.4f}]"
            f"  pgmpy {a['pgmpy_vs_exact']:.4f} [{a['pgmpy_noise_floor']:.4f}]"
            f" | ours vs pomegranate {a['ours_vs_pomegranate']:.4f}, ours vs pgmpy {a['ours_vs_pgmpy']:.4f}"
        )
    verdict = "OK" if r["agreement_ok"] else "FAILED"
    print(f"agreement {verdict} (limit {TVD_LIMIT}); peak RSS {r['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
