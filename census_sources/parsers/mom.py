"""MOM labour tables assembled from Table Builder exports (one reference year)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceLocation, SourceTableError, located
from census_sources.parsers.common import INDUSTRY, OCCUPATION, SEX, TOTAL, age_group, map_label
from census_sources.parsers.tablebuilder import TBRow, TBTable, blocks, leaves, read_tablebuilder

THOUSAND = 100  # a figure published to 0.1 thousand is rounded to 100 persons

_AGED = re.compile(r"Aged\s+(.+?)\s*$", re.IGNORECASE)


LABELS = "Data Series"  # the column of a Table Builder export that holds every row label (and so every key)


def _where(table: TBTable, keys: tuple[str, ...]):
    at = located(table.path, dict.fromkeys(keys, LABELS))

    def where(r: TBRow) -> SourceLocation:
        return at(r.line, table.year)

    return where


def _block_age(label: str, path: Path, line: int) -> str:
    if label.startswith("All "):
        return TOTAL
    m = _AGED.search(label)
    age = age_group(m.group(1)) if m else None
    if age is None:
        raise SourceTableError(path, f"cannot read an age group from block header {label!r}", row=line)
    return age


def occupation_age(path: Path, sex: str, year: str) -> pd.DataFrame:
    """M182171/81/91: employed residents by occupation × age group (one sex per file)."""
    table = read_tablebuilder(path, year=year)
    where = _where(table, ("sex", "age_group", "occupation"))
    records = []
    for head, rows in blocks(table):
        age = _block_age(head.label, path, head.line)
        records.append(
            {
                "sex": sex,
                "age_group": age,
                "occupation": TOTAL,
                "count": head.value,
                "flag": head.flag,
                WHERE: where(head),
            }
        )
        for r in rows:
            occ = map_label(OCCUPATION, r.label, file=path, row=r.line, column=LABELS, what="occupation")
            records.append(
                {"sex": sex, "age_group": age, "occupation": occ, "count": r.value, "flag": r.flag, WHERE: where(r)}
            )
    return pd.DataFrame.from_records(records)


def industry_age(path: Path, sex: str, year: str) -> pd.DataFrame:
    """M182141/51: employed residents by industry × age group (one sex per file); Services sub-total dropped."""
    table = read_tablebuilder(path, year=year)
    where = _where(table, ("sex", "age_group", "industry"))
    records = []
    for head, rows in blocks(table):
        age = _block_age(head.label, path, head.line)
        records.append(
            {
                "sex": sex,
                "age_group": age,
                "industry": TOTAL,
                "count": head.value,
                "flag": head.flag,
                WHERE: where(head),
            }
        )
        for r in leaves(rows, path, THOUSAND):
            ind = map_label(INDUSTRY, r.label, file=path, row=r.line, column=LABELS, what="industry")
            records.append(
                {"sex": sex, "age_group": age, "industry": ind, "count": r.value, "flag": r.flag, WHERE: where(r)}
            )
    return pd.DataFrame.from_records(records)


def industry_occupation(path: Path, year: str) -> pd.DataFrame:
    """M182081: employed residents by occupation (blocks) × industry (rows)."""
    table = read_tablebuilder(path, year=year)
    where = _where(table, ("occupation", "industry"))
    records = []
    for head, rows in blocks(table):
        occ = (
            TOTAL
            if head.label.startswith("All Occupation")
            else map_label(OCCUPATION, head.label, file=path, row=head.line, column=LABELS, what="occupation")
        )
        records.append(
            {"occupation": occ, "industry": TOTAL, "count": head.value, "flag": head.flag, WHERE: where(head)}
        )
        for r in leaves(rows, path, THOUSAND):
            ind = map_label(INDUSTRY, r.label, file=path, row=r.line, column=LABELS, what="industry")
            records.append({"occupation": occ, "industry": ind, "count": r.value, "flag": r.flag, WHERE: where(r)})
    return pd.DataFrame.from_records(records)


HQA_LF = {
    "below secondary": "Below Secondary",
    "secondary": "Secondary",
    "post-secondary (non-tertiary)": "Post-Secondary (Non-Tertiary)",
    "diploma & professional qualification": "Diploma & Professional Qualification",
    "degree": "Degree",
}


def labour_force_hqa(path: Path, year: str) -> pd.DataFrame:
    """M182271: resident labour force by highest qualification attained × sex."""
    table = read_tablebuilder(path, year=year)
    where = _where(table, ("sex", "education"))
    records = []
    for head, rows in blocks(table):
        first = head.label.split()[0].lower()
        sex = {"total": TOTAL, "male": "Male", "female": "Female"}.get(first)
        if sex is None:
            raise SourceTableError(path, f"unexpected block {head.label!r}", row=head.line)
        records.append({"sex": sex, "education": TOTAL, "count": head.value, WHERE: where(head)})
        for r in rows:
            hqa = map_label(HQA_LF, r.label, file=path, row=r.line, column=LABELS, what="qualification")
            records.append({"sex": sex, "education": hqa, "count": r.value, WHERE: where(r)})
    return pd.DataFrame.from_records(records)


def median_income(path: Path, year: str) -> pd.DataFrame:
    """M920131: median gross monthly income from employment (incl. employer CPF), full-time employed residents,
    by occupation × sex, dollars."""
    table = read_tablebuilder(path, year=year, scale=1)
    where = _where(table, ("occupation", "sex"))
    records = []
    for r in table.rows:
        occ_label, _, sex_label = r.label.rpartition(" - ")
        occ = map_label(OCCUPATION, occ_label, file=path, row=r.line, column=LABELS, what="occupation")
        sex = map_label(SEX, sex_label, file=path, row=r.line, column=LABELS, what="sex")
        records.append({"occupation": occ, "sex": sex, "value": r.value, "flag": r.flag, WHERE: where(r)})
    return pd.DataFrame.from_records(records)
