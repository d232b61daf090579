"""``build_narrative_report`` (the ``narrative_report`` asset's computation) timed side by side for two or more
checkouts of the project, at several dataset sizes, on the same inputs; and a check that every checkout's report
is the same (a digest of its figures, 3-grams, nouns and lengths).

Inputs, built once per size in this process: residents as the pipeline samples them from the bundled snapshot
(``_common.sample_snapshot_residents``) and, for each, the test server's canned answer
(``persona_assets.testing.llm_server.narrative_for``, the texts of ``bench_full_scale.py``'s 148,000-record run),
with 1 record in 40 ``failed`` as there. Each checkout builds the report in a fresh process (its own code on
``PYTHONPATH``, this checkout's virtual environment), the checkouts interleaved ``--repeat`` times; figures are
wall and CPU seconds and peak RSS, medians per checkout, and each other checkout's median wall time over the first's
(``ratio_wall_after/before``: below 1 is faster).

    git worktree add /tmp/before <commit>
    python benchmarks/bench_narrative_report.py --records 40000 148000 --checkout before=/tmp/before --checkout after=.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import machine_info, now_iso, sample_snapshot_residents, write_results

SCRIPT = "bench_narrative_report"

#: Run in the checkout under test: the report once over the inputs, then its figures as one JSON line.
CHILD = r"""
import hashlib, json, resource, sys, time
import pandas as pd
from persona_assets.core.narratives.report import build_narrative_report
folder = sys.argv[1]
residents = pd.read_parquet(f"{folder}/residents.parquet")
narratives = pd.read_parquet(f"{folder}/narratives.parquet")
wall, cpu = time.perf_counter(), time.process_time()
report = build_narrative_report(narratives, residents)
out = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
digest = hashlib.sha256(report.figures().to_csv(index=False).encode())
digest.update(json.dumps([report.trigrams, report.nouns, report.anchored_terms], default=str).encode())
for f in sorted(report.lengths):
    digest.update(report.lengths[f].tobytes())
out["digest"] = digest.hexdigest()[:16]
out["near_duplicate_record_share"] = report.summary["near_duplicate_record_share"]
print("RESULT " + json.dumps(out))
"""


def build_inputs(total: int, folder: Path) -> dict[str, Any]:
    """Residents of ``total`` records and a narratives table of the test server's answers, as Parquet files."""
    import pandas as pd

    from persona_assets.core.narratives.prompts import facts_of
    from persona_assets.core.schema import LLM_FIELDS
    from persona_assets.testing.llm_server import narrative_for

    residents = pd.concat(sample_snapshot_residents(total).values(), ignore_index=True)
    rows = []
    for i, r in enumerate(residents.to_dict("records")):
        ok = i % 40 != 0
        row: dict[str, Any] = {
            "uuid": str(r["uuid"]),
            "status": "ok" if ok else "failed",
            "attempts": 1 if i % 5 else 2,
            "prompt_version": "2026-12-10.1+compact.3",
            "model": "openai/test-server",
            "rejected_reasons": None if i % 5 else "name: persona",
            "failure_reasons": None if ok else "name: persona; sex: persona",
        }
        row.update(narrative_for(facts_of(r)) if ok else {f: None for f in LLM_FIELDS})
        rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    residents.to_parquet(folder / "residents.parquet", index=False)
    pd.DataFrame(rows).to_parquet(folder / "narratives.parquet", index=False)
    return {"residents": len(residents), "ok": sum(r["status"] == "ok" for r in rows)}


def git_commit(path: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def run_once(checkout: Path, folder: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)], cwd=checkout, env=env, capture_output=True, text=True, check=False
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"report in {checkout} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, nargs="+", default=[40_000, 148_000])
    ap.add_argument("--checkout", action="append", required=True, help="label=path, two or more")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--shared", default="", help="say the machine was shared (and with what)")
    ap.add_argument("--smoke", action="store_true", help="write bench_narrative_report_smoke.json (not a result)")
    args = ap.parse_args()
    checkouts = {}
    for item in args.checkout:
        label, _, path = item.partition("=")
        checkouts[label] = Path(path).resolve()
    sizes = []
    with tempfile.TemporaryDirectory(prefix="bench_narrative_report_") as tmp:
        for total in args.records:
            folder = Path(tmp) / str(total)
            inputs = build_inputs(total, folder)
            rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in checkouts}
            for _ in range(args.repeat):
                for label, path in checkouts.items():
                    rounds[label].append(run_once(path, folder))
                    print(total, label, rounds[label][-1], flush=True)
            per = {
                label: {
                    "commit": git_commit(path),
                    "wall_s_median": round(statistics.median(r["wall_s"] for r in rounds[label]), 2),
                    "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rounds[label]), 2),
                    "peak_rss_mib_max": max(r["peak_rss_mib"] for r in rounds[label]),
                    "rounds": rounds[label],
                }
                for label, path in checkouts.items()
            }
            first = next(iter(per))
            digests = {r["digest"] for rs in rounds.values() for r in rs}
            sizes.append(
                {
                    "records": total,
                    "inputs": inputs,
                    "checkouts": per,
                    "same_report_everywhere": len(digests) == 1,
                    **{
                        f"ratio_wall_{label}/{first}": round(wall / per[first]["wall_s_median"], 3)
                        for label, wall in ((k, v["wall_s_median"]) for k, v in per.items())
                        if label != first
                    },
                }
            )
    payload = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "machine_shared": args.shared or None,
        "repeat": args.repeat,
        "sizes": sizes,
    }
    path = write_results(SCRIPT + ("_smoke" if args.smoke else ""), payload)
    print(json.dumps({s["records"]: {k: v for k, v in s.items() if k.startswith("ratio")} for s in sizes}))
    print(f"wrote {path}")
    return 0 if all(s["same_report_everywhere"] for s in sizes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
