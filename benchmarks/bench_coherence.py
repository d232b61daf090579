"""Coherence of the records, the network before issue 15 against the current one, in one run.

Both networks are fitted from the same census snapshot (the current one: the older code reads only the tables it
knows) and each samples the default 148,000 residents (base seed 20251125, names left out). The "before" network is
the package ``persona_assets/core`` at a git commit (default: c873492, main before the joint cross-tabs), extracted
with ``git archive`` into a temporary folder and imported under another name, so both run in this process.

Figures (issue 15): among residents aged 25+, the share in a condominium or landed home of degree holders over that
of residents below secondary (persons, and weighted as household heads), against the GHS 2015 household-head table;
the degree share among cleaners & labourers and among plant & machine operators; the degree share of residents 65+
and of all residents 15+; and, per official cross-tab, the synthetic conditional's TVD to the official one.

    python benchmarks/bench_coherence.py [--before c873492] [--records 148000]
"""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from _common import REPO_ROOT, machine_info, now_iso, peak_rss_mib, write_results

SCRIPT = "bench_coherence"
BEFORE = "c873492"
SEED = 20251125


def load_core(ref: str, folder: Path) -> str:
    """Extract ``persona_assets/core`` at ``ref`` as the package ``persona_assets_<ref>``; return its name."""
    name = f"persona_assets_{ref[:12]}".replace("-", "_")
    data = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", ref, "persona_assets/__init__.py", "persona_assets/core"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    root = folder / name
    (folder / "persona_assets").rename(root)
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("persona_assets.", f"{name}."), encoding="utf-8")
    sys.path.insert(0, str(folder))
    return name


def sample(package: str, frames: dict[str, pd.DataFrame], records: int) -> tuple[Any, pd.DataFrame, dict[str, float]]:
    """Fit the package's network on ``frames`` and sample ``records`` residents over the 55 areas (no names)."""
    tables = importlib.import_module(f"{package}.core.model.tables")
    network = importlib.import_module(f"{package}.core.model.network")
    residents = importlib.import_module(f"{package}.core.model.residents")
    census = importlib.import_module(f"{package}.core.census")
    allocation = importlib.import_module(f"{package}.core.model.allocation")
    t0 = time.perf_counter()
    net = network.fit_network(tables.build_model_tables(frames))
    t1 = time.perf_counter()
    respop, ura = frames["respop_2025"], frames["ura_planning_areas"]
    alloc = allocation.allocate_areas(
        census.summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], records
    )
    parts = [
        residents.sample_residents(net, a, census.area_adult_population(respop, ura, a), int(alloc[a]), SEED)
        for a in net.areas
    ]
    t2 = time.perf_counter()
    return net, pd.concat(parts, ignore_index=True), {"fit_s": round(t1 - t0, 2), "sample_s": round(t2 - t1, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=BEFORE, help="git ref of the network to compare with (default: %(default)s)")
    ap.add_argument("--records", type=int, default=148_000)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from census_sources import TABLES, load_table
    from persona_assets.core.model.joint import JOINTS, NATIONAL, build_joint_report, coherence_figures
    from persona_assets.core.model.tables import population_15plus

    frames = {n: load_table(n) for n in TABLES}
    before_sha = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", args.before], check=True, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        package = load_core(args.before, Path(tmp))
        _, before, t_before = sample(package, frames, args.records)
    net, after, t_after = sample("persona_assets", frames, args.records)
    pop = population_15plus(frames["respop_2025"], net.areas)
    figures = {"before": coherence_figures(before, frames), "after": coherence_figures(after, frames)}
    # the cross-tabs: synthetic vs official for both samples (the current network supplies the categories and,
    # for "after", the model side); head tables weighted as heads
    joints = {}
    for label, records in (("before", before), ("after", after)):
        table = build_joint_report(records, net, frames, pop, min_area_records=10**9).table
        joints[label] = table[table["scope"] == NATIONAL].set_index("joint")
    rows = [
        {
            "joint": s.name,
            "official_universe": s.official_universe,
            "fitted_now": s.fitted,
            "tvd_before": round(float(joints["before"].loc[s.name, "tvd_synthetic_official"]), 4),
            "tvd_after": round(float(joints["after"].loc[s.name, "tvd_synthetic_official"]), 4),
            "cramers_v_official": float(joints["after"].loc[s.name, "cramers_v_official"]),
            "cramers_v_before": float(joints["before"].loc[s.name, "cramers_v_synthetic"]),
            "cramers_v_after": float(joints["after"].loc[s.name, "cramers_v_synthetic"]),
        }
        for s in JOINTS
    ]
    payload = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "records": args.records,
        "seed": SEED,
        "before": {"ref": args.before, "commit": before_sha, **t_before},
        "after": {"ref": "working tree", **t_after},
        "figures": figures,
        "cross_tabs": rows,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    path = write_results(SCRIPT, payload)
    print_summary(payload)
    print(f"wrote {path}")
    return 0


def print_summary(r: dict[str, Any]) -> None:
    print(f"{r['records']:,} records; before = {r['before']['commit'][:12]}, after = working tree")
    for key in r["figures"]["after"]:
        print(f"  {key:58s} before {r['figures']['before'][key]:>8g}   after {r['figures']['after'][key]:>8g}")
    print("  cross-tab (synthetic vs official, mean TVD of the conditionals; Cramér's V official / before / after)")
    for row in r["cross_tabs"]:
        print(
            f"  {row['joint']:50s} {row['tvd_before']:.4f} -> {row['tvd_after']:.4f}"
            f"   V {row['cramers_v_official']:.3f} / {row['cramers_v_before']:.3f} / {row['cramers_v_after']:.3f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
