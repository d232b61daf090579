"""The ``census`` group: one asset per normalised official table, plus the planning-area views later stages use.

The assets are thin: ``census_sources.load_table`` does the strict loading (a malformed file fails the asset
with its file, row and column named), the metadata carries each table's provenance.
"""

from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    Failure,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)

from census_sources import TABLES, SourceTableError, TableSpec, load_manifest
from persona_assets.code_versions import code_version
from persona_assets.core.census import area_adult_population, summarise_planning_areas
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.keys import CENSUS_GROUP, CENSUS_PREFIX, census_key
from persona_assets.partitions import planning_area_partitions
from persona_assets.resources import CensusSnapshot


def _schema(spec: TableSpec) -> TableSchema:
    cols = [TableColumn(k, "string", description="key") for k in spec.keys]
    cols.append(TableColumn(spec.value, "int64" if spec.integer else "float64", description=spec.unit))
    if spec.nullable:
        cols.append(TableColumn("flag", "string", description="'na' not available, 's' suppressed, '' figure"))
    return TableSchema(columns=cols)


def _agency_tag(agency: str) -> str:
    """Short tag value for an agency, e.g. 'Department of Statistics Singapore (SingStat)' -> 'SingStat'."""
    if "(" in agency:
        return agency[agency.index("(") + 1 : agency.index(")")]
    return "".join(w[0] for w in agency.split() if w[0].isupper())


def build_source_failure(exc: SourceTableError) -> Failure:
    return Failure(
        description=str(exc),
        metadata={
            "file": exc.file,
            "row": exc.row if exc.row is not None else -1,
            "column": exc.column or "",
            "reason": exc.reason,
        },
    )


def build_provenance_metadata(spec: TableSpec, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": spec.title,
        "agency": spec.agency,
        "reference": spec.reference,
        "url": MetadataValue.url(spec.url),
        "licence": spec.licence,
        "licence_url": MetadataValue.url(spec.licence_url),
        "attribution": spec.attribution,
        "universe": spec.universe,
        "unit": spec.unit,
        "grounds": ", ".join(spec.grounds) or "-",
        "quirks_handled": MetadataValue.md("\n".join(f"- {q}" for q in spec.quirks) or "-"),
        "snapshot_file": f"census_sources/snapshot/{spec.file_name}",
        "snapshot_sha256": entry["sha256"],
        "source_files": MetadataValue.json(entry.get("source_files", [])),
        "published_totals_reconciled": entry.get("reconciled_totals", 0),
    }


def build_census_asset(spec: TableSpec) -> AssetsDefinition:
    entry = load_manifest()["tables"][spec.name]

    @asset(
        name=spec.name,
        key_prefix=[CENSUS_PREFIX],
        group_name=CENSUS_GROUP,
        description=f"{spec.title} — {spec.agency}, {spec.reference}. {spec.universe}.",
        code_version=code_version(f"census/{spec.name}"),
        kinds={"pandas", "duckdb"},
        owners=["team:census"],
        tags={"agency": _agency_tag(spec.agency)},
        metadata={**build_provenance_metadata(spec, entry), "dagster/column_schema": _schema(spec)},
    )
    def _census_table(context: AssetExecutionContext, census_snapshot: CensusSnapshot) -> Output[pd.DataFrame]:
        try:
            df = census_snapshot.load(spec)
        except SourceTableError as exc:
            raise build_source_failure(exc) from exc
        context.log.info(f"loaded {spec.name}: {len(df)} rows from {census_snapshot.folder / spec.file_name}")
        return Output(
            df,
            metadata={
                "dagster/row_count": len(df),
                "snapshot_sha256": entry["sha256"],
                "preview": MetadataValue.md(frame_to_markdown(df, 10)),
            },
        )

    return _census_table


census_assets = [build_census_asset(spec) for spec in TABLES.values()]


@asset(
    key_prefix=[CENSUS_PREFIX],
    group_name=CENSUS_GROUP,
    ins={"respop": AssetIn(key=census_key("respop_2025")), "ura": AssetIn(key=census_key("ura_planning_areas"))},
    code_version=code_version("census/planning_areas"),
    description="The 55 URA MP2019 planning areas with region, subzone count and official residents (all ages and "
    "aged 15+, June 2025): the allocation base for the per-area sample.",
    kinds={"pandas", "duckdb"},
    owners=["team:census"],
)
def planning_areas(context: AssetExecutionContext, respop: pd.DataFrame, ura: pd.DataFrame) -> Output[pd.DataFrame]:
    out = summarise_planning_areas(respop, ura)
    empty = out.loc[~out["populated"], "planning_area"].tolist()
    return Output(
        out,
        metadata={
            "dagster/row_count": len(out),
            "populated_areas": int(out["populated"].sum()),
            "areas_without_residents": MetadataValue.json(empty),
            "residents_15plus": int(out["residents_15plus"].sum()),
            "preview": MetadataValue.md(frame_to_markdown(out, 55)),
        },
    )


@asset(
    key_prefix=[CENSUS_PREFIX],
    group_name=CENSUS_GROUP,
    partitions_def=planning_area_partitions,
    ins={"respop": AssetIn(key=census_key("respop_2025")), "ura": AssetIn(key=census_key("ura_planning_areas"))},
    code_version=code_version("census/area_population"),
    description="Official residents aged 15+ of one planning area by subzone × single year of age × sex "
    "(SingStat, June 2025). Areas with no residents give an empty partition, with a note.",
    kinds={"pandas", "duckdb"},
    owners=["team:census"],
)
def area_population(context: AssetExecutionContext, respop: pd.DataFrame, ura: pd.DataFrame) -> Output[pd.DataFrame]:
    area = context.partition_key
    out = area_adult_population(respop, ura, area)
    note = (
        f"{area} has no residents aged 15+ in the June 2025 table: empty partition"
        if out.empty
        else f"{int(out['count'].sum())} residents aged 15+ in {out['subzone'].nunique()} subzones"
    )
    return Output(
        out,
        metadata={"dagster/row_count": len(out), "residents_15plus": int(out["count"].sum()), "note": note},
    )
