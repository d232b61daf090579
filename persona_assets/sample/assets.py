"""The ``sample`` group: synthetic residents per planning area, with a blocking census-fidelity check."""

import warnings

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    Config,
    MetadataValue,
    Output,
    asset,
)
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type

from persona_assets.census.assets import census_key
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.model import vocab as V
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.core.model.derived import DIGITAL_LEVELS, STATUSES
from persona_assets.core.model.fidelity import area_marginals, compare
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.names import NameModel, privacy_report
from persona_assets.gx_checks import suite_check_result
from persona_assets.model.assets import network_code_version
from persona_assets.partitions import PLANNING_AREAS, planning_area_partitions

DEFAULT_TOTAL = 148_000
DEFAULT_SEED = 20251125

warnings.filterwarnings("ignore", message=".*is currently in beta", module="dagster_pandas")
warnings.filterwarnings("ignore", message=".*create_dagster_pandas_dataframe_type.*is currently in beta")
ResidentsDataFrame = create_dagster_pandas_dataframe_type(
    name="ResidentsDataFrame",
    description="Synthetic residents aged 15+ of one planning area (statistical fields of the record).",
    columns=[
        PandasColumn.string_column("uuid", non_nullable=True, unique=True),
        PandasColumn.string_column("first_name", non_nullable=True),
        PandasColumn.string_column("middle_name"),
        PandasColumn.string_column("last_name", non_nullable=True),
        PandasColumn.string_column("full_name", non_nullable=True),
        PandasColumn.string_column("preferred_english_name"),
        PandasColumn.categorical_column("planning_area", set(PLANNING_AREAS), non_nullable=True),
        PandasColumn.string_column("subzone", non_nullable=True),
        PandasColumn.categorical_column("region", {"Central", "East", "North", "North-East", "West"}),
        PandasColumn.integer_column("age", min_value=15, max_value=90, non_nullable=True),
        PandasColumn.categorical_column("sex", set(V.SEXES), non_nullable=True),
        PandasColumn.categorical_column("ethnicity", set(V.ETHNICITIES), non_nullable=True),
        PandasColumn.categorical_column("religion", set(V.RELIGIONS), non_nullable=True),
        PandasColumn.categorical_column("language_at_home", set(V.LANGUAGES), non_nullable=True),
        PandasColumn.categorical_column("marital_status", set(V.MARITAL), non_nullable=True),
        PandasColumn.categorical_column("education_level", set(V.EDUCATION), non_nullable=True),
        PandasColumn.categorical_column("labour_force_status", set(V.LABOUR_FORCE), non_nullable=True),
        PandasColumn.categorical_column("occupation", {*V.OCCUPATIONS, *STATUSES}, non_nullable=True),
        PandasColumn.categorical_column("industry", set(V.INDUSTRIES), ignore_missing_vals=True),
        PandasColumn.categorical_column("monthly_income_band", set(V.INCOME_BANDS), ignore_missing_vals=True),
        PandasColumn.categorical_column("dwelling_type", set(V.DWELLINGS), non_nullable=True),
        PandasColumn.categorical_column("digital_familiarity", set(DIGITAL_LEVELS), non_nullable=True),
        PandasColumn.string_column("life_stage", non_nullable=True),
        PandasColumn.exists("big_five", non_nullable=True),
        PandasColumn.categorical_column("country", {"Singapore"}, non_nullable=True),
    ],
)


_NAME_MODELS: dict[tuple[int, float], NameModel] = {}


def name_model(tokens: pd.DataFrame) -> NameModel:
    """One NameModel per token table per process (the 55 partition runs of `make run` share one process)."""
    key = (len(tokens), float(tokens["weight"].sum()))
    if key not in _NAME_MODELS:
        _NAME_MODELS[key] = NameModel(tokens)
    return _NAME_MODELS[key]


def residents_code_version() -> str:
    """The network's version plus the code that turns draws into records (allocation, sampler, derived fields,
    names): a change to any of them marks every partition stale in the UI."""
    import hashlib
    from pathlib import Path

    core = Path(__file__).resolve().parents[1] / "core"
    files = ["model/allocation.py", "model/sampler.py", "model/derived.py", "model/residents.py", "names.py"]
    digest = hashlib.sha256(network_code_version().encode())
    for f in files:
        digest.update((core / f).read_bytes())
    return digest.hexdigest()[:16]


class ResidentsConfig(Config):
    """Per-run knobs. Use the same values for every partition of one dataset."""

    total_records: int = DEFAULT_TOTAL
    base_seed: int = DEFAULT_SEED


def area_age_sex(area_population: pd.DataFrame) -> np.ndarray:
    w = np.zeros((len(V.AGE_GROUPS), len(V.SEXES)))
    if len(area_population):
        ag = area_population["age"].astype(int).map(lambda a: V.AGE_GROUPS.index(V.age_group_of(a)))
        sx = area_population["sex"].map(V.SEXES.index)
        np.add.at(w, (ag.to_numpy(), sx.to_numpy()), area_population["count"].astype(float).to_numpy())
    return w


@asset(
    group_name="sample",
    partitions_def=planning_area_partitions,
    ins={
        "network": AssetIn(key="persona_network"),
        "planning_areas": AssetIn(key=census_key("planning_areas")),
        "area_population": AssetIn(key=census_key("area_population")),
        "name_tokens": AssetIn(key="name_tokens"),
        "register_hashes": AssetIn(key=census_key("cea_name_hashes")),
    },
    dagster_type=ResidentsDataFrame,
    check_specs=[
        AssetCheckSpec(
            "residents_privacy",
            asset="residents",
            blocking=True,
            description="No full name equals a full name in the CEA register (case- and spacing-insensitive); "
            "near misses (same tokens, other order) are counted.",
        ),
        AssetCheckSpec(
            "residents_gx_suite",
            asset="residents",
            blocking=True,
            description="Great Expectations suite expectations/residents.json: the 25 fields, non-null required "
            "fields, unique UUIDs, age range, the official categories, planning_area equal to the partition key.",
        ),
        AssetCheckSpec(
            "residents_fidelity",
            asset="residents",
            blocking=True,
            description="Per grounded field, the partition's shares against the area's census-grounded shares: "
            "total variation distance within a tolerance derived from the sample size.",
        ),
    ],
    code_version=residents_code_version(),
    metadata={"schema": "sample"},
    kinds={"pandas", "duckdb"},
    owners=["team:model"],
    description="Synthetic residents aged 15+ of one planning area: records ∝ official 15+ population (largest "
    "remainder over a configurable total, default 148,000); subzone × age × sex by controlled rounding of the "
    "official June 2025 counts; other fields drawn from the persona network; derived fields by documented rules. "
    "Seeds derive from (base seed, area, stage): one area re-run alone reproduces its records exactly.",
)
def residents(
    context: AssetExecutionContext,
    config: ResidentsConfig,
    network: PersonaNetwork,
    planning_areas: pd.DataFrame,
    area_population: pd.DataFrame,
    name_tokens: pd.DataFrame,
    register_hashes: pd.DataFrame,
):
    area = context.partition_key
    alloc = allocate_areas(planning_areas.set_index("planning_area")["residents_15plus"], config.total_records)
    n = int(alloc[area])
    records = sample_residents(
        network, area, area_population, n, config.base_seed, names=(name_model(name_tokens), register_hashes)
    )
    note = (
        f"{area} has no residents aged 15+ in the official table: empty partition"
        if n == 0
        else f"{n} records ({n / config.total_records:.2%} of {config.total_records:,})"
    )
    yield Output(
        records,
        metadata={
            "dagster/row_count": len(records),
            "records": n,
            "base_seed": config.base_seed,
            "total_records": config.total_records,
            "note": note,
            "preview": MetadataValue.md(frame_to_markdown(records.drop(columns=["big_five"]).head(5), 5)),
        },
    )
    yield suite_check_result(
        "residents_gx_suite", [run_suite(records, "residents", parameters={"expected_areas": [area] if n else []})]
    )
    privacy = privacy_report(records["full_name"], register_hashes, records["preferred_english_name"])
    yield AssetCheckResult(
        check_name="residents_privacy",
        passed=privacy["register_full_name_matches"] == 0,
        severity=AssetCheckSeverity.ERROR,
        description=f"{privacy['register_full_name_matches']} register full names reproduced; "
        f"{privacy['near_misses_same_tokens_other_order']} near misses",
        metadata=privacy,
    )
    if n == 0:
        yield AssetCheckResult(
            check_name="residents_fidelity", passed=True, metadata={"note": "empty partition: nothing to compare"}
        )
        return
    expected = area_marginals(network, area, area_age_sex(area_population))
    table = compare(records, expected, network)
    passed = bool(table["passed"].all())
    worst = table.sort_values("tvd", ascending=False).iloc[0]
    yield AssetCheckResult(
        check_name="residents_fidelity",
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=f"max TVD {worst['tvd']:.4f} ({worst['field']}, tolerance {worst['tolerance']:.4f})",
        metadata={
            "tvd_by_field": MetadataValue.md(frame_to_markdown(table, 20)),
            "max_tvd": float(table["tvd"].max()),
            "records": n,
        },
    )
