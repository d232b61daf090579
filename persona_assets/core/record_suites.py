"""The Great Expectations suites of the record, generated from the record schema (``core/schema.py``).

``expectations/residents.json``, ``narratives.json`` and ``personas_dataset.json`` are written by this module,
not by hand: column sets, required fields, value sets, ranges, types and text bounds all come from the schema,
so a field or category added there reaches the gates. The files stay committed (GX reads them as data, and a
reviewer reads them as the gates); ``tests/test_record_schema.py`` fails when a committed file differs from what
this module generates. Regenerate after a schema change:

    python -m persona_assets.core.record_suites          # rewrite the three files
    python -m persona_assets.core.record_suites --check  # exit 1 if a committed file is out of date
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from persona_assets.core import schema as S
from persona_assets.core.paths import EXPECTATIONS_DIR
from persona_assets.core.quality import (
    MIN_OK_RATE,
    NARRATIVE_CHECK_COLUMNS,
    OK_RATE_Z,
    PERSONA_CHECK_COLUMNS,
    compute_min_ok_share,
)

#: The ok-rate gate's threshold at three sample sizes, as the suite's ``why`` shows it (computed, not copied).
_OK_RATE_EXAMPLES = (
    f"{math.ceil(compute_min_ok_share(8) * 8)} of 8, {compute_min_ok_share(100):.0%} of 100, "
    f"{compute_min_ok_share(148_000):.1%} of 148,000"
)
#: Python types the published columns hold, as GX's ``expect_column_values_to_be_of_type`` names them.
PANDAS_TYPES = {"string": "str", "integer": "int64", "string_list": "list", "big_five": "dict"}
TYPE_WHY = {
    "string": "published type (nulls allowed only in nullable fields)",
    "integer": "published type",
    "string_list": "a real list (SPEC section 3)",
    "big_five": "T-scores and labels per trait",
}


def _expect(kind: str, why: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": f"expect_{kind}", "kwargs": kwargs, "meta": {"why": why}}


def _not_null(fields: tuple[str, ...], why: str) -> list[dict[str, Any]]:
    return [_expect("column_values_to_not_be_null", why, column=f) for f in fields if not S.FIELDS[f].nullable]


def build_residents_suite() -> dict[str, Any]:
    """The residents table: run per partition by ``residents`` and over every partition by
    ``personas_candidate``."""
    exp = [
        _expect(
            "table_columns_to_match_set",
            f"the statistical record: {len(S.RESIDENT_COLUMNS)} fields",
            column_set=list(S.RESIDENT_COLUMNS),
            exact_match=True,
        ),
        _expect("column_values_to_not_be_null", "every record has an id", column="uuid"),
        _expect("column_values_to_be_unique", "ids are unique", column="uuid"),
        _expect(
            "column_values_to_match_regex",
            "ids are UUIDs (deterministic from seed, area, index)",
            column="uuid",
            regex=S.UUID_PATTERN,
        ),
        *_not_null(tuple(f for f in S.RESIDENT_COLUMNS if f != "uuid"), "required field of the record"),
    ]
    for name in S.RESIDENT_COLUMNS:
        f = S.FIELDS[name]
        if f.min_value is not None or f.max_value is not None:
            exp.append(
                _expect(
                    "column_values_to_be_between",
                    f"residents aged {f.min_value}+ (the official table's last age is {f.max_value}, meaning "
                    f"{f.max_value} and over)",
                    column=name,
                    min_value=f.min_value,
                    max_value=f.max_value,
                )
            )
    for name in S.RESIDENT_COLUMNS:
        f = S.FIELDS[name]
        if f.values and name != "planning_area":
            exp.append(
                _expect(
                    "column_values_to_be_in_set",
                    "the official tables' categories (nulls allowed only where the field is nullable)",
                    column=name,
                    value_set=list(f.values),
                )
            )
    areas = {"$PARAMETER": "expected_areas"}
    exp += [
        _expect(
            "column_values_to_be_in_set",
            "planning areas are the partitions' keys",
            column="planning_area",
            value_set=areas,
        ),
        _expect(
            "column_distinct_values_to_equal_set",
            "per partition: planning_area is the partition key; over the dataset: every populated area is present",
            column="planning_area",
            value_set=areas,
        ),
    ]
    return {
        "name": "residents",
        "expectations": exp,
        "meta": {
            "generated_by": "python -m persona_assets.core.record_suites (from persona_assets/core/schema.py)",
            "parameters": {
                "expected_areas": "per partition: [partition key] (empty for an area without residents); over all "
                "partitions: the populated planning areas"
            },
        },
        "notes": "Residents (statistical fields). Run per partition by the residents asset and over all partitions "
        "by personas_candidate.",
    }


def build_narratives_suite() -> dict[str, Any]:
    """The narratives table (ok and failed rows) with the ``check__*`` columns of ``quality.add_narrative_checks``."""
    exp = [
        _expect("column_values_to_not_be_null", "every chosen resident has a row", column="uuid"),
        _expect("column_values_to_be_unique", "one row per resident", column="uuid"),
        _expect(
            "column_values_to_be_in_set", "every record ends ok or failed", column="status", value_set=["ok", "failed"]
        ),
        _expect(
            "column_values_to_be_in_set",
            f"ok-rate gate: refused when the sample shows the model's ok-rate below {MIN_OK_RATE:.0%} (one-sided "
            f"95% Wilson upper bound, z = {OK_RATE_Z}); min_ok_share = {MIN_OK_RATE} - z * sqrt({MIN_OK_RATE} * "
            f"{1 - MIN_OK_RATE:.1f} / n) for n records ({_OK_RATE_EXAMPLES})",
            column="status",
            value_set=["ok"],
            mostly={"$PARAMETER": "min_ok_share"},
        ),
        _expect(
            "column_values_to_be_in_set",
            "a failed record always says why",
            column="check__failed_without_reason",
            value_set=[False],
        ),
    ]
    chars = f"{S.MIN_TEXT_CHARS}-{S.MAX_TEXT_CHARS} characters"
    for column, which in (("check__min_text_chars", "shortest"), ("check__max_text_chars", "longest")):
        exp.append(
            _expect(
                "column_values_to_be_between",
                f"texts of ok records: {chars} ({which} text)",
                column=column,
                min_value=S.MIN_TEXT_CHARS,
                max_value=S.MAX_TEXT_CHARS,
            )
        )
    for f in S.LIST_FIELDS:
        exp.append(
            _expect(
                "column_values_to_be_between",
                f"lists of ok records: {S.MIN_LIST_ITEMS} to {S.MAX_LIST_ITEMS} items",
                column=f"check__{f}_items",
                min_value=S.MIN_LIST_ITEMS,
                max_value=S.MAX_LIST_ITEMS,
            )
        )
    exp.append(
        _expect(
            "column_values_to_be_in_set",
            "list fields of ok records are lists of non-empty strings",
            column="check__lists_valid",
            value_set=[True],
        )
    )
    exp += [_expect("column_values_to_be_unique", "no two records share a text", column=f) for f in S.TEXT_FIELDS]
    return {
        "name": "narratives",
        "expectations": exp,
        "meta": {
            "generated_by": "python -m persona_assets.core.record_suites (from persona_assets/core/schema.py)",
            "derived_columns": f"{', '.join(NARRATIVE_CHECK_COLUMNS)}: computed by "
            "persona_assets.core.quality.add_narrative_checks from each row",
            "parameters": {
                "min_ok_share": "the least ok share the table's n records may show: "
                "persona_assets.core.quality.compute_min_ok_share(n)"
            },
        },
        "notes": "Narratives of the chosen residents (ok and failed rows).",
    }


def build_personas_suite() -> dict[str, Any]:
    """The published ``personas`` config with the ``check__*`` columns of ``quality.add_persona_checks``."""
    published = S.RECORD_FIELDS
    exp = [
        _expect(
            "table_columns_to_match_set",
            f"the {len(S.FIELDS)} published fields (plus the check__ columns of this frame)",
            column_set=[*published, *PERSONA_CHECK_COLUMNS],
            exact_match=True,
        ),
        _expect(
            "table_row_count_to_be_between",
            "at least one record per populated area is expected when narratives ran; never more than the residents",
            min_value={"$PARAMETER": "min_rows"},
            max_value={"$PARAMETER": "max_rows"},
        ),
        _expect("column_values_to_be_unique", "ids are unique", column="uuid"),
        _expect(
            "column_values_to_be_in_set",
            "published records come from populated planning areas",
            column="planning_area",
            value_set={"$PARAMETER": "populated_areas"},
        ),
        _expect(
            "column_values_to_be_in_set",
            "privacy: no full name equals a full name in the CEA register",
            column="check__register_full_name",
            value_set=[False],
        ),
        _expect(
            "column_values_to_be_in_set",
            "no secret-looking strings (API keys, tokens, private keys) in any field",
            column="check__secret_like",
            value_set=[False],
        ),
        _expect(
            "column_values_to_be_in_set",
            "every list field is a list of strings",
            column="check__lists_valid",
            value_set=[True],
        ),
    ]
    for f in published:
        kind = S.FIELDS[f].kind
        exp.append(_expect("column_values_to_be_of_type", TYPE_WHY[kind], column=f, type_=PANDAS_TYPES[kind]))
    exp += _not_null(published, "required in every published record")
    return {
        "name": "personas_dataset",
        "expectations": exp,
        "meta": {
            "generated_by": "python -m persona_assets.core.record_suites (from persona_assets/core/schema.py)",
            "parameters": {
                "min_rows": "1 when narratives ran",
                "max_rows": "residents in the sample",
                "populated_areas": "planning areas with residents aged 15+",
            },
            "derived_columns": f"{', '.join(PERSONA_CHECK_COLUMNS)}: computed by "
            "persona_assets.core.quality.add_persona_checks",
        },
        "notes": f"The published personas configuration ({len(S.FIELDS)} fields) plus check__ columns.",
    }


#: Suite name -> builder.
RECORD_SUITES = {
    "residents": build_residents_suite,
    "narratives": build_narratives_suite,
    "personas_dataset": build_personas_suite,
}


def render_suite(suite: dict[str, Any]) -> str:
    """The file text of a suite (stable: the committed files are compared with it byte for byte)."""
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def find_stale_suites(base: Path = EXPECTATIONS_DIR) -> list[str]:
    """Names of the record suites whose file under ``base`` differs from what the schema generates."""
    stale = []
    for name, build in RECORD_SUITES.items():
        path = base / f"{name}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render_suite(build()):
            stale.append(name)
    return stale


def write_record_suites(base: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write the three record suites under ``base``; return their paths."""
    paths = []
    for name, build in RECORD_SUITES.items():
        path = base / f"{name}.json"
        path.write_text(render_suite(build()), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only report suites that are out of date (exit 1)")
    ap.add_argument("--out", type=Path, default=EXPECTATIONS_DIR, help="folder of the suites (default expectations/)")
    args = ap.parse_args(argv)
    if args.check:
        stale = find_stale_suites(args.out)
        for name in stale:
            print(f"{args.out / name}.json is out of date: run python -m persona_assets.core.record_suites")
        return 1 if stale else 0
    for path in write_record_suites(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
