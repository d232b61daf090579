"""Helpers shared by the benchmark scripts: machine description, timing, JSON results."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

T = TypeVar("T")

_PACKAGES = ("numpy", "pandas", "torch", "pomegranate", "pgmpy", "dagster")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _total_memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "cpu_model": _cpu_model(),
        "memory_gib": _total_memory_gib(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in _PACKAGES},
    }


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """(result, seconds) of one call."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """(best seconds, all seconds) over ``repeats`` calls."""
    times = [timed(fn)[1] for _ in range(repeats)]
    return min(times), times


def write_results(script: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{script}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def busy_cpu_seconds() -> float:
    """CPU time spent by every process on the machine so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and its waited-for children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every ``every_s`` seconds until ``stop`` is set."""

    def __init__(self, every_s: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.every_s, self.stop, self.samples = every_s, threading.Event(), []

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stop.wait(self.every_s)


def lscpu() -> dict[str, Any]:
    """``lscpu``'s model name, CPU count and the SIMD flags llama.cpp uses (empty where there is no lscpu)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k: fields[k].strip() for k in ("Model name", "CPU(s)", "Thread(s) per core", "Flags") if k in fields} | {
        "Flags": " ".join(f for f in fields.get("Flags", "").split() if f.startswith(("avx", "fma", "f16c")))
    }


def sample_snapshot_residents(total: int, areas: tuple[str, ...] = ()) -> dict[str, Any]:
    """Residents as the pipeline samples them from the bundled census snapshot (the fitted network, the name model,
    ``total`` residents allocated over the planning areas, the default seed): a DataFrame per area of ``areas``
    (default: every populated area, in ``PLANNING_AREAS`` order)."""
    import pandas as pd

    import census_sources
    from persona_assets.core.census import area_adult_population, summarise_planning_areas
    from persona_assets.core.dataset_settings import DEFAULT_BASE_SEED
    from persona_assets.core.model.allocation import allocate_areas
    from persona_assets.core.model.network import fit_network
    from persona_assets.core.model.residents import sample_residents
    from persona_assets.core.model.tables import build_model_tables
    from persona_assets.core.names import ENGLISH_LABELS, NameModel, build_name_tokens
    from persona_assets.core.schema import PLANNING_AREAS

    frames = {n: census_sources.load_table(n) for n in census_sources.TABLES}
    net = fit_network(build_model_tables(frames))
    tokens = build_name_tokens(
        {"cea": frames["cea_name_tokens"]}, frames["chinese_surnames_2000"], pd.read_csv(ENGLISH_LABELS)
    )
    names = (NameModel(tokens), frames["cea_name_hashes"])
    respop, ura = frames["respop_2025"], frames["ura_planning_areas"]
    alloc = allocate_areas(summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], total)
    wanted = areas or tuple(a for a in PLANNING_AREAS if int(alloc.get(a, 0)) > 0)
    return {
        a: sample_residents(
            net, a, area_adult_population(respop, ura, a), int(alloc[a]), DEFAULT_BASE_SEED, names=names
        )
        for a in wanted
    }
