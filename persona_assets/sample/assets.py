"""The ``sample`` group: synthetic residents per planning area, with blocking privacy, Great Expectations and
census-fidelity checks."""

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    MetadataValue,
    Output,
    asset,
)

from persona_assets.code_versions import code_version
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.model import vocab as V
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.core.model.fidelity import FIDELITY_ALPHA, area_marginals, compare
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.names import NameModel, privacy_report
from persona_assets.gx_checks import build_suite_check_result
from persona_assets.io_managers import SETTINGS_METADATA
from persona_assets.keys import census_key
from persona_assets.partitions import (
    AREA_BACKFILL_POLICY,
    build_partition_check_spec,
    concat_partitions,
    planning_area_partitions,
    split_by_area,
    yield_partition_check_results,
)
from persona_assets.record_types import RESIDENTS_COLUMN_SCHEMA, ResidentsDataFrame
from persona_assets.settings import DatasetSettings

_NAME_MODELS: dict[tuple[int, float], NameModel] = {}


def load_name_model(tokens: pd.DataFrame) -> NameModel:
    """One NameModel per token table per process (the 55 partition runs of `make run` share one process)."""
    key = (len(tokens), float(tokens["weight"].sum()))
    if key not in _NAME_MODELS:
        _NAME_MODELS[key] = NameModel(tokens)
    return _NAME_MODELS[key]


def count_age_sex(area_population: pd.DataFrame) -> np.ndarray:
    """The area's official residents aged 15+ as an [age group, sex] array (the fidelity check's base)."""
    w = np.zeros((len(V.AGE_GROUPS), len(V.SEXES)))
    if len(area_population):
        ag = area_population["age"].astype(int).map(lambda a: V.AGE_GROUPS.index(V.age_group_of(a)))
        sx = area_population["sex"].map(V.SEXES.index)
        np.add.at(w, (ag.to_numpy(), sx.to_numpy()), area_population["count"].astype(float).to_numpy())
    return w


@asset(
    group_name="sample",
    partitions_def=planning_area_partitions,
    backfill_policy=AREA_BACKFILL_POLICY,
    ins={
        "network": AssetIn(key="persona_network"),
        "planning_areas": AssetIn(key=census_key("planning_areas")),
        "area_population": AssetIn(key=census_key("area_population")),
        "name_tokens": AssetIn(key="name_tokens"),
        "register_hashes": AssetIn(key=census_key("cea_name_hashes")),
    },
    dagster_type=ResidentsDataFrame,
    check_specs=[
        build_partition_check_spec(
            "residents_privacy",
            "residents",
            blocking=True,
            description="No full name equals a full name in the CEA register (case- and spacing-insensitive); "
            "near misses (same tokens, other order) are counted.",
        ),
        build_partition_check_spec(
            "residents_gx_suite",
            "residents",
            blocking=True,
            description="Great Expectations suite expectations/residents.json (generated from the record schema): "
            "the 25 fields, non-null required fields, unique UUIDs, age range, the official categories, "
            "planning_area equal to the partition key.",
        ),
        build_partition_check_spec(
            "residents_fidelity",
            "residents",
            blocking=True,
            description="Per grounded field and category, the partition's count against the area's "
            "census-grounded model share: exact two-sided binomial tests, Bonferroni-corrected over every "
            f"category of the partition (family-wise false-alarm rate {FIDELITY_ALPHA:g} at every sample size); "
            "fails on any category outside its bounds or any record in a category the model rules out.",
        ),
    ],
    code_version=code_version("residents"),
    metadata={"schema": "sample", "dagster/column_schema": RESIDENTS_COLUMN_SCHEMA},
    kinds={"pandas", "duckdb"},
    owners=["team:sample"],
    description="Synthetic residents aged 15+ of one planning area: records ∝ official 15+ population (largest "
    "remainder over the dataset's total_records, default 148,000); subzone × age × sex by controlled rounding of "
    "the official June 2025 counts; other fields drawn from the persona network; derived fields by documented "
    "rules. Seeds derive from (base seed, area, stage): one area re-run alone reproduces its records exactly. "
    "Each partition records the settings it was made with (metadata and its Parquet file).",
)
def residents(
    context: AssetExecutionContext,
    dataset: DatasetSettings,
    network: PersonaNetwork,
    planning_areas: pd.DataFrame,
    area_population: pd.DataFrame,
    name_tokens: pd.DataFrame,
    register_hashes: pd.DataFrame,
):
    areas = context.partition_keys  # one, or several when a backfill policy groups partitions into one run
    total, seed = dataset.total_records, dataset.base_seed
    alloc = allocate_areas(planning_areas.set_index("planning_area")["residents_15plus"], total)
    names = (load_name_model(name_tokens), register_hashes)
    population = split_by_area(area_population, areas)
    by_area = {area: sample_residents(network, area, population[area], int(alloc[area]), seed, names) for area in areas}
    records = concat_partitions(list(by_area.values()))
    for area, frame in by_area.items():
        n = len(frame)
        note = (
            f"{area} has no residents aged 15+ in the official table: empty partition"
            if n == 0
            else f"{n} records ({n / total:.2%} of {total:,})"
        )
        preview = MetadataValue.md(frame_to_markdown(frame.drop(columns=["big_five"]).head(5), 5))
        metadata = {"dagster/row_count": n, "records": n, "note": note, "preview": preview}
        context.add_asset_metadata(metadata, partition_key=area)
    yield Output(
        records,
        metadata={
            "base_seed": seed,
            "total_records": total,
            SETTINGS_METADATA: MetadataValue.json(dataset.residents_settings()),
        },
    )
    yield from yield_partition_check_results(
        context,
        {
            area: build_suite_check_result(
                "residents_gx_suite",
                [run_suite(frame, "residents", parameters={"expected_areas": [area] if len(frame) else []})],
                partition=area,
            )
            for area, frame in by_area.items()
        },
    )
    privacy = {}
    for area, frame in by_area.items():
        report = privacy_report(frame["full_name"], register_hashes, frame["preferred_english_name"])
        privacy[area] = AssetCheckResult(
            check_name="residents_privacy",
            passed=report["register_full_name_matches"] == 0,
            severity=AssetCheckSeverity.ERROR,
            description=f"{area}: {report['register_full_name_matches']} register full names reproduced; "
            f"{report['near_misses_same_tokens_other_order']} near misses",
            metadata={"partition": area, **report},
        )
    yield from yield_partition_check_results(context, privacy)
    fidelity = {}
    for area, frame in by_area.items():
        if len(frame) == 0:
            fidelity[area] = AssetCheckResult(
                check_name="residents_fidelity",
                passed=True,
                description=f"{area}: empty partition, nothing to compare",
                metadata={"partition": area, "note": "empty partition: nothing to compare"},
            )
        else:
            expected = area_marginals(network, area, count_age_sex(population[area]))
            fidelity[area] = build_fidelity_result(area, compare(frame, expected, network))
    yield from yield_partition_check_results(context, fidelity)


def build_fidelity_result(area: str, table: pd.DataFrame) -> AssetCheckResult:
    """The ``residents_fidelity`` result of one partition from its per-field test table (``compare``): the
    description names the area, its verdict and its least likely category."""
    failing = table[~table["passed"]]
    worst = table.sort_values("p_adjusted").iloc[0]
    verdict = (
        f"failed in {len(failing)} of {len(table)} fields ({', '.join(failing['field'])})"
        if len(failing)
        else f"all {len(table)} fields within their bounds"
    )
    return AssetCheckResult(
        check_name="residents_fidelity",
        passed=failing.empty,
        severity=AssetCheckSeverity.ERROR,
        description=f"{area}: {verdict}; least likely {worst['field']} = {worst['worst_category']}: "
        f"{worst['observed']} records, {worst['expected']:.1f} expected (adjusted p {worst['p_adjusted']:.3g}, "
        f"fails at {FIDELITY_ALPHA:g})",
        metadata={
            "partition": area,
            "tests_by_field": MetadataValue.md(frame_to_markdown(table, 20)),
            "min_p_adjusted": float(worst["p_adjusted"]),
            "alpha": FIDELITY_ALPHA,
            "records": int(table["n"].max()),
        },
    )
