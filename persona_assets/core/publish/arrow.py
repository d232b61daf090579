"""Frames as Arrow tables: the record schema's types for the published fields (strings, ``age`` int64, lists of
strings, the ``big_five`` struct), inferred and normalised types for any other column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from persona_assets.core.schema import FIELDS


def is_missing(v: Any) -> bool:
    """Whether a cell is null (lists, arrays and dicts never are)."""
    if v is None:
        return True
    if isinstance(v, (list, tuple, np.ndarray, dict)):
        return False
    return bool(pd.isna(v))


def _normalise_type(t: pa.DataType) -> pa.DataType:
    """Published types: int64 for every integer, string for (large) strings and all-null, lists of strings."""
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_null(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_normalise_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normalise_type(f.type)) for f in t])
    return t


def _infer_type(s: pd.Series) -> pa.DataType:
    if pd.api.types.is_bool_dtype(s.dtype):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(s.dtype):
        return pa.int64()
    if pd.api.types.is_float_dtype(s.dtype):
        return pa.float64()
    values = [v for v in s.tolist() if not is_missing(v)]
    if not values:
        return pa.string()
    values = [list(v) if isinstance(v, (np.ndarray, tuple)) else v for v in values]
    return _normalise_type(pa.array(values).type)


def build_arrow_schema(df: pd.DataFrame) -> pa.Schema:
    """The Parquet schema of a config: the record schema's type for each published field, an inferred and
    normalised type for any other column. Every field is nullable."""
    return pa.schema(
        [pa.field(str(c), FIELDS[c].arrow_type if c in FIELDS else _infer_type(df[c])) for c in df.columns]
    )


def _column_values(s: pd.Series, t: pa.DataType) -> Any:
    if pa.types.is_list(t):
        return [None if is_missing(v) else list(v) for v in s.tolist()]
    if pa.types.is_struct(t):
        return [None if is_missing(v) else v for v in s.tolist()]
    return s


def convert_to_arrow(df: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """``df`` as an Arrow table with ``schema`` (default ``build_arrow_schema(df)``), naming the column of any bad
    cell. No pandas metadata is attached: the bytes depend on the data only, which keeps the content hash stable."""
    schema = schema or build_arrow_schema(df)
    arrays = []
    for fld in schema:
        try:
            arrays.append(pa.array(_column_values(df[fld.name], fld.type), type=fld.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise ValueError(f"column {fld.name!r} does not fit the type {fld.type}: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=schema)


_DTYPE_NAMES = {"string": "string", "int64": "int64", "double": "float64", "bool": "bool", "float": "float32"}


def name_dtype(t: pa.DataType) -> str:
    """The Hugging Face ``dtype`` name of a scalar Arrow type."""
    return _DTYPE_NAMES.get(str(t), str(t))


def format_type(t: pa.DataType) -> str:
    """A short readable type: ``string``, ``int64``, ``list<string>``, ``struct<…>``."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{format_type(t.value_type)}>"
    if pa.types.is_struct(t):
        children = [format_type(f.type) for f in t]
        if len(t) > 2 and len(set(children)) == 1:
            return f"struct<{', '.join(f.name for f in t)}: each {children[0]}>"
        return "struct<" + ", ".join(f"{f.name}: {c}" for f, c in zip(t, children, strict=True)) + ">"
    return name_dtype(t)
