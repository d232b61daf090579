"""An estimate before a big narration run: from the partitions narrated so far (each ``persona_narratives``
materialisation records its records, calls, cache hits, prompt and completion tokens and wall time), project the
calls, tokens, wall time and cost of a budget of records.

The projection is linear in records, at the rates measured: tokens per record, calls per record and records per
second of one partition run (runs whose calls were partly served from the cache count only their share of fresh
calls). Cost uses litellm's price map (``litellm.cost_per_token``); a model it does not map (a self-hosted or test
endpoint) has no price, and the embedded local model costs nothing but machine time. Modelled assumptions, named
in the asset's metadata: the budget's records cost what the measured ones did (same prompts, model, validation and
repair rate), and partitions run one at a time at the measured rate.

Pure Python (no Dagster); the asset is ``persona_assets/narratives/plan.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from persona_assets.core.dataset_settings import NarrativeBudget
from persona_assets.core.model.allocation import allocate_areas

#: Models served on this machine: their cost is machine time, not a price per token.
FREE_PREFIXES = ("local/", "inprocess/")
ASSUMPTIONS = (
    "assumption: a budgeted record costs what the measured records cost (same prompts, model, validation and "
    "repair rate); tokens, calls and time scale linearly with records",
    "assumption: partition runs go one at a time at the measured records/second (concurrent runs on a provider "
    "with spare capacity go faster)",
)


@dataclass(frozen=True)
class Measured:
    """One ``persona_narratives`` partition run, as its materialisation metadata records it."""

    partition: str
    model: str
    records: int
    calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float

    @property
    def fresh_share(self) -> float:
        """The share of its calls that went to the provider (the rest were served from the call cache)."""
        total = self.calls + self.cache_hits
        return self.calls / total if total else 0.0


def read_measured(partition: str, metadata: Mapping[str, Any]) -> Measured | None:
    """A run from its metadata values (plain values, not Dagster's wrappers); None when it made no calls."""

    def number(key: str) -> float:
        value = metadata.get(key, 0)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

    if number("calls") <= 0 or number("records") <= 0:
        return None
    llm = metadata.get("llm")
    return Measured(
        partition=partition,
        model=str(llm.get("model", "")) if isinstance(llm, Mapping) else "",
        records=int(number("records")),
        calls=int(number("calls")),
        cache_hits=int(number("cache_hits")),
        prompt_tokens=int(number("prompt_tokens")),
        completion_tokens=int(number("completion_tokens")),
        wall_s=number("wall_s"),
    )


def merge_run_partitions(partitions: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """The metadata of one run from its partitions' materialisations (``(partition, values)``): a backfill run of
    several partitions records the engine's figures (calls, tokens, wall time) once for the run on every partition,
    and each partition's own ``records``; the run narrated the sum of them. One partition is returned as it is."""
    if len(partitions) == 1:
        return partitions[0][0], dict(partitions[0][1])
    values = dict(partitions[0][1])
    values["records"] = sum(int(v.get("records", 0) or 0) for _, v in partitions)
    return f"{len(partitions)} partitions", values


@dataclass(frozen=True)
class Rates:
    """Per-record rates over the measured runs."""

    runs: int
    records: float  # fresh records: each run's records times its fresh share
    calls_per_record: float
    prompt_tokens_per_record: float
    completion_tokens_per_record: float
    records_per_s: float
    models: tuple[str, ...]

    @property
    def tokens_per_s(self) -> float:
        return self.records_per_s * (self.prompt_tokens_per_record + self.completion_tokens_per_record)


def measure_rates(runs: Iterable[Measured]) -> Rates | None:
    """The rates over ``runs`` (None without any run that made calls)."""
    runs = [r for r in runs if r.calls > 0 and r.records > 0]
    if not runs:
        return None
    records = sum(r.records * r.fresh_share for r in runs)
    wall = sum(r.wall_s for r in runs)
    return Rates(
        runs=len(runs),
        records=records,
        calls_per_record=sum(r.calls for r in runs) / records,
        prompt_tokens_per_record=sum(r.prompt_tokens for r in runs) / records,
        completion_tokens_per_record=sum(r.completion_tokens for r in runs) / records,
        records_per_s=records / wall if wall > 0 else 0.0,
        models=tuple(sorted({r.model for r in runs})),
    )


def count_budget(planning_areas: pd.DataFrame, total_records: int, budget: NarrativeBudget) -> int:
    """Records that get narratives: the budget's residents of each area's allocation (None: all of them)."""
    population = planning_areas.set_index("planning_area")["residents_15plus"]
    alloc, wanted = allocate_areas(population, total_records), budget.allocate(population)
    return int(sum(int(n) if wanted[a] is None else min(int(n), wanted[a]) for a, n in alloc.items()))


def price_tokens(model: str, prompt_tokens: float, completion_tokens: float) -> float | None:
    """USD for the tokens at litellm's price map; 0 for the embedded model; None for a model litellm does not
    price (a self-hosted endpoint, a test server)."""
    if model.startswith(FREE_PREFIXES):
        return 0.0
    import litellm

    litellm.suppress_debug_info = True
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=round(prompt_tokens), completion_tokens=round(completion_tokens)
        )
    except Exception:  # noqa: BLE001 - litellm raises several classes for "not in the price map"
        return None
    return float(prompt_cost) + float(completion_cost)


def project(rates: Rates, budgets: Mapping[str, int], models: Iterable[str]) -> pd.DataFrame:
    """One row per budget and model priced: records, calls, tokens, hours at the measured rate, USD."""
    rows = []
    for label, records in budgets.items():
        prompt = records * rates.prompt_tokens_per_record
        completion = records * rates.completion_tokens_per_record
        for model in models:
            cost = price_tokens(model, prompt, completion)
            rows.append(
                {
                    "budget": label,
                    "records": int(records),
                    "model": model,
                    "calls": round(records * rates.calls_per_record),
                    "prompt_tokens": round(prompt),
                    "completion_tokens": round(completion),
                    "wall_hours": round(records / rates.records_per_s / 3600, 3) if rates.records_per_s else None,
                    "cost_usd": None if cost is None else round(cost, 2),
                }
            )
    return pd.DataFrame(rows)
