"""Dagster types of the record, derived from the record schema (``core/schema.py``): the dagster-pandas type
that checks every ``residents`` output, and the column schemas the UI shows for the residents and personas."""

import warnings

from dagster import TableColumn, TableColumnConstraints, TableSchema
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type

from persona_assets.core.schema import FIELDS, RECORD_FIELDS, RESIDENT_COLUMNS, Field

warnings.filterwarnings("ignore", message=".*is currently in beta", module="dagster_pandas")
warnings.filterwarnings("ignore", message=".*create_dagster_pandas_dataframe_type.*is currently in beta")


def build_pandas_column(f: Field) -> PandasColumn:
    """The dagster-pandas column check of one field: value set, range, nullability and uniqueness."""
    if f.values:
        return PandasColumn.categorical_column(
            f.name, set(f.values), non_nullable=not f.nullable, ignore_missing_vals=f.nullable
        )
    if f.kind == "integer":
        bounds = {k: v for k, v in (("min_value", f.min_value), ("max_value", f.max_value)) if v is not None}
        return PandasColumn.integer_column(f.name, non_nullable=not f.nullable, **bounds)
    if f.kind == "string":
        return PandasColumn.string_column(f.name, non_nullable=not f.nullable, unique=f.unique)
    return PandasColumn.exists(f.name, non_nullable=not f.nullable)


ResidentsDataFrame = create_dagster_pandas_dataframe_type(
    name="ResidentsDataFrame",
    description="Synthetic residents aged 15+ of one planning area (statistical fields of the record).",
    columns=[build_pandas_column(FIELDS[name]) for name in RESIDENT_COLUMNS],
)


def build_column_schema(columns: tuple[str, ...]) -> TableSchema:
    """The ``dagster/column_schema`` of a table of record fields: types, descriptions, nullability."""
    return TableSchema(
        columns=[
            TableColumn(
                name,
                str(FIELDS[name].arrow_type),
                description=FIELDS[name].description,
                constraints=TableColumnConstraints(nullable=FIELDS[name].nullable, unique=FIELDS[name].unique),
            )
            for name in columns
        ]
    )


RESIDENTS_COLUMN_SCHEMA = build_column_schema(RESIDENT_COLUMNS)
PERSONAS_COLUMN_SCHEMA = build_column_schema(RECORD_FIELDS)
