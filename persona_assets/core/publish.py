"""Publication: the 38-field persona records, Hugging Face-compatible Parquet releases and the dataset card.

Pure Python over pandas and pyarrow (no Dagster imports). Three pieces:

- ``join_personas``: residents x narratives (inner join on ``uuid`` of the ``ok`` narratives) into the published
  record of SPEC section 3, with counts of what was excluded and why.
- ``write_release``: one release folder per publication in the Hugging Face layout
  (``<release>/<config>/train-00000-of-0000N.parquet`` + ``<release>/README.md``), published atomically: written
  into a temporary folder, fsynced, renamed into ``releases/<version>/``, then the symlink ``published`` is swapped
  to it with ``os.replace``. The newest ``keep`` releases are kept.
- ``dataset_card``: the card (``README.md``) with its YAML header (licence, configs, features, sizes), field table
  with the grounding of each field, value sets, sources with Singapore Open Data Licence attribution, modelled
  assumptions, narrative model, privacy and known limitations. Its inputs are the dataclass ``CardInputs``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from persona_assets.core.model import vocab as V
from persona_assets.core.model.derived import BIG_FIVE_LABELS, BIG_FIVE_TRAITS, DERIVED_ASSUMPTIONS, DIGITAL_LEVELS
from persona_assets.core.model.derived import STATUSES as NON_EMPLOYED_STATUSES
from persona_assets.core.names import NAME_COLUMNS
from persona_assets.core.narratives.prompts import ATTRIBUTE_FIELDS, PERSONA_FIELDS

# ------------------------------------------------------------------------------------------------ the record

#: Identity (6): uuid and the names.
IDENTITY_FIELDS: tuple[str, ...] = ("uuid", *NAME_COLUMNS)
#: Persona narratives (7) and attribute texts (6, two of them real lists): the LLM fields, as the prompts define
#: them.
NARRATIVE_FIELDS: tuple[str, ...] = PERSONA_FIELDS
LLM_FIELDS: tuple[str, ...] = NARRATIVE_FIELDS + ATTRIBUTE_FIELDS
#: Statistical context (19, PGM or derived).
STATISTICAL_FIELDS: tuple[str, ...] = (
    "sex",
    "age",
    "ethnicity",
    "religion",
    "marital_status",
    "language_at_home",
    "education_level",
    "labour_force_status",
    "occupation",
    "industry",
    "monthly_income_band",
    "planning_area",
    "subzone",
    "region",
    "dwelling_type",
    "digital_familiarity",
    "life_stage",
    "big_five",
    "country",
)
#: The 38 published fields, in publication order: identity, LLM texts, statistical context.
PERSONA_FIELDS_ORDER: tuple[str, ...] = IDENTITY_FIELDS + LLM_FIELDS + STATISTICAL_FIELDS
#: The ``residents`` config: every record of the sample, without narratives (identity + statistical context).
RESIDENT_FIELDS_ORDER: tuple[str, ...] = IDENTITY_FIELDS + STATISTICAL_FIELDS

LIST_FIELDS: tuple[str, ...] = ("skills_and_expertise_list", "hobbies_and_interests_list")
NULLABLE_FIELDS: tuple[str, ...] = ("middle_name", "preferred_english_name", "industry", "monthly_income_band")

if len(PERSONA_FIELDS_ORDER) != 38 or len(set(PERSONA_FIELDS_ORDER)) != 38:  # pragma: no cover
    raise RuntimeError("the published record must have 38 distinct fields (SPEC section 3)")

BIG_FIVE_TYPE = pa.struct(
    [pa.field(t, pa.struct([pa.field("t_score", pa.int64()), pa.field("label", pa.string())])) for t in BIG_FIVE_TRAITS]
)
#: Canonical Arrow types of the published fields (every other column is inferred, see ``arrow_schema``).
FIELD_TYPES: dict[str, pa.DataType] = {
    **{f: pa.string() for f in PERSONA_FIELDS_ORDER},
    "age": pa.int64(),
    "big_five": BIG_FIVE_TYPE,
    **{f: pa.list_(pa.string()) for f in LIST_FIELDS},
}

FIELD_DESCRIPTIONS: dict[str, str] = {
    "uuid": "Record identifier: UUIDv5 of (base seed, planning area, index), stable across re-runs.",
    "first_name": "Given name: for Chinese names the 1-3 given syllables (e.g. 'Wei Ming'); for Malay and Indian "
    "names the first given name; for Others an English given name.",
    "middle_name": "Further given names of Malay and Indian names (null if none, and for Chinese and Others).",
    "last_name": "Surname (Chinese, Others) or the father's name (Malay, Indian).",
    "full_name": "Full name by the convention of the ethnicity: surname first for Chinese ('Tan Wei Ming'), "
    "given 'bin'/'binte' father for Malay, given 's/o'/'d/o' father for Indian, given surname for Others.",
    "preferred_english_name": "English name used alongside a Chinese name (null if none, and for other names).",
    "persona": "Concise summary of the person.",
    "professional_persona": "Work life, or studies / retirement / home life for those not working.",
    "sports_persona": "Sport and physical activity.",
    "arts_persona": "Arts, music and culture as audience or practitioner.",
    "travel_persona": "Travel habits and places.",
    "culinary_persona": "Food, cooking and eating out.",
    "family_persona": "Family and household life.",
    "cultural_background": "Heritage conveyed through practice (language, festivals, faith), never by naming race.",
    "skills_and_expertise": "Skills and expertise, as prose.",
    "skills_and_expertise_list": "The same skills as a list of 3-8 short strings.",
    "hobbies_and_interests": "Hobbies and interests, as prose.",
    "hobbies_and_interests_list": "The same hobbies as a list of 3-8 short strings.",
    "career_goals_and_ambitions": "Career goals and ambitions (or life goals for those not working).",
    "sex": "Sex.",
    "age": "Age in completed years, 15 and over (90 means 90 and over, as in the official table).",
    "ethnicity": "Ethnic group (CMIO: Chinese, Malay, Indian, Others).",
    "religion": "Religion (Census 2020 categories).",
    "marital_status": "Marital status.",
    "language_at_home": "Language most frequently spoken at home (Census 2020 categories).",
    "education_level": "Highest qualification attained (MOM Labour Force groups).",
    "labour_force_status": "Employed, Unemployed or Outside Labour Force.",
    "occupation": "SSOC major group for the employed; a status for everyone else (Unemployed, Student, "
    "National Service, Retired, Homemaker, Not Working).",
    "industry": "Industry group as in MOM's tables (employed residents only; null otherwise).",
    "monthly_income_band": "Gross monthly income from work, GHS 2015 bands in 2015 SGD (employed only; null "
    "otherwise).",
    "planning_area": "URA Master Plan 2019 planning area of residence.",
    "subzone": "URA Master Plan 2019 subzone of residence.",
    "region": "URA Master Plan 2019 region of the planning area.",
    "dwelling_type": "Type of dwelling (Census / GHS categories).",
    "digital_familiarity": "Familiarity with digital tools, very low to very high.",
    "life_stage": "Life stage from age, marital status and occupation/status.",
    "big_five": "Big Five personality traits: per trait a T-score (20-80) and its label.",
    "country": "Country of residence (always Singapore).",
}

MODELLED_RULE_FIELDS: dict[str, str] = {
    "big_five": "modelled rule (NVIDIA recipe: T ~ N(50, 10), clipped to [20, 80]; independent of all fields)",
    "digital_familiarity": "modelled rule (age band, qualification); no official table",
    "life_stage": "modelled rule (age, marital status, occupation/status); no official table",
}
#: Grounding notes added to what the manifest says (``grounds`` per table).
GROUNDING_NOTES: dict[str, str] = {
    "uuid": "deterministic (seed, area, index)",
    "country": "constant",
    "occupation": "+ modelled rule for non-employed statuses",
    "first_name": "+ composition rules per ethnicity",
    "full_name": "+ composition rules; privacy gate against the register",
}

#: Official category order for the value sets (categories absent from the data are listed with 0 records).
CATEGORY_ORDER: dict[str, tuple[str, ...]] = {
    "sex": V.SEXES,
    "ethnicity": V.ETHNICITIES,
    "religion": V.RELIGIONS,
    "language_at_home": V.LANGUAGES,
    "marital_status": V.MARITAL,
    "labour_force_status": V.LABOUR_FORCE,
    "education_level": V.EDUCATION,
    "occupation": (*V.OCCUPATIONS, *NON_EMPLOYED_STATUSES),
    "industry": V.INDUSTRIES,
    "monthly_income_band": V.INCOME_BANDS,
    "dwelling_type": V.DWELLINGS,
    "digital_familiarity": DIGITAL_LEVELS,
}
CATEGORICAL_FIELDS: tuple[str, ...] = tuple(f for f in STATISTICAL_FIELDS if f not in ("age", "big_five"))

DEFAULT_LIMITATIONS: tuple[str, ...] = (
    "Records are independent individuals: there are no households, so family_persona is not consistent with any "
    "other record.",
    "There are no microdata: each conditional table is built from aggregate official tables, so associations "
    "not carried by the network's parents are absent (e.g. occupation is independent of qualification given "
    "area, age and sex; religion and home language are independent of age and sex given area and ethnicity).",
    "Sources differ in year and universe (Census 2020, GHS 2015, MOM 2023-2024, June 2025 population); where a "
    "national recent table meets an older area table the national one wins, so education, occupation and "
    "industry depart from the 2015 planning-area tables.",
    "Qualification by age and sex exists only for the employed: the non-employed take the employed's age profile "
    "with the overall mix of the table that covers them (outside the labour force, 25+: GHS 2015 non-students less "
    "the 2015 labour force; students 15-24: no table, the employed's at their age).",
    "monthly_income_band is in GHS 2015 bands and 2015 dollars, for the employed only.",
    "dwelling_type depends on planning area, qualification, occupation and religion; the household heads' tables "
    "are mapped to residents aged 25+ through the headship rate of each dwelling type; it does not depend on "
    "marital status or income beyond those (the heads' marital-status table and the households' income table are "
    "compared in the fit report, not fitted).",
    "Residents (citizens and permanent residents) aged 15+ only; non-residents are not represented.",
    "Names come from one register of adults in one trade: English-name prevalence is applied at every age, "
    "Chinese given syllables are unisex and mix romanisation systems, and names of the Others group come from "
    "register names the rules could not classify.",
    "Narratives are written by an LLM and checked by rules (name present, no contradiction of key fields, no "
    "race words); rule checks do not catch every factual slip or stereotype. Only a subset of residents may be "
    "narrated: the personas config holds the records whose narratives passed.",
    "big_five, digital_familiarity and life_stage are modelled rules, not statistics.",
)

NVIDIA_REFERENCE_URL = "https://huggingface.co/datasets/nvidia/Nemotron-Personas-Singapore"


# ------------------------------------------------------------------------------------------------ join


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, tuple, np.ndarray, dict)):
        return False
    return bool(pd.isna(v))


def _as_str_list(v: Any) -> list[str] | None:
    if _is_missing(v):
        return None
    if isinstance(v, str):
        raise ValueError(f"expected a list of strings, got a string {v[:40]!r}")
    return [str(x) for x in list(v)]


def _check_columns(df: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _check_unique(df: pd.DataFrame, what: str) -> None:
    dup = df["uuid"][df["uuid"].duplicated(keep=False)]
    if len(dup):
        sample = ", ".join(map(str, dup.drop_duplicates().head(5)))
        raise ValueError(f"{what}: {dup.nunique()} duplicated uuid(s) ({len(dup)} rows), e.g. {sample}")
    if df["uuid"].isna().any():
        raise ValueError(f"{what}: {int(df['uuid'].isna().sum())} row(s) without uuid")


def join_personas(
    residents: pd.DataFrame, narratives: pd.DataFrame, top_reasons: int = 10
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The published 38-field records: residents inner-joined on ``uuid`` with their ``ok`` narratives.

    Records whose narrative ``failed`` are excluded and counted (with their most frequent reasons); residents that
    were not narrated are counted as ``not_narrated``. Raises ``ValueError`` when a narrative's uuid has no
    resident, a uuid is duplicated on either side, a narrative's planning area differs from its resident's, a
    status is neither ``ok`` nor ``failed``, or an ``ok`` narrative lacks a text.
    Rows keep the residents' order.
    """
    _check_columns(residents, RESIDENT_FIELDS_ORDER, "residents")
    _check_columns(narratives, ("uuid", "status", *LLM_FIELDS), "narratives")
    _check_unique(residents, "residents")
    _check_unique(narratives, "narratives")

    known = set(residents["uuid"])
    orphans = narratives.loc[~narratives["uuid"].isin(known), "uuid"]
    if len(orphans):
        sample = ", ".join(map(str, orphans.head(5)))
        raise ValueError(f"narratives: {len(orphans)} uuid(s) have no resident, e.g. {sample}")

    status = narratives["status"]
    bad = sorted(set(status.dropna().astype(str)) - {"ok", "failed"}) + (["<null>"] if status.isna().any() else [])
    if bad:
        raise ValueError(f"narratives: unknown status value(s) {bad} (expected 'ok' or 'failed')")

    if "planning_area" in narratives.columns:
        area_of = residents.set_index("uuid")["planning_area"]
        mismatch = narratives["planning_area"].to_numpy() != area_of.loc[narratives["uuid"]].to_numpy()
        if mismatch.any():
            u = narratives.loc[mismatch, "uuid"].iloc[0]
            raise ValueError(
                f"narratives: {int(mismatch.sum())} record(s) whose planning_area differs from the resident's, e.g. {u}"
            )

    ok = narratives.loc[status == "ok", ["uuid", *LLM_FIELDS]]
    failed = narratives.loc[status == "failed"]
    for f in LLM_FIELDS:
        empty = ok[f].map(_is_missing) | ok[f].map(lambda v: isinstance(v, str) and not v.strip())
        if empty.any():
            raise ValueError(
                f"narratives: {int(empty.sum())} ok record(s) with an empty {f}, e.g. {ok['uuid'][empty].iloc[0]}"
            )

    reasons: Counter[str] = Counter()
    if "failure_reasons" in failed.columns:
        for rs in failed["failure_reasons"]:
            reasons.update(_as_str_list(rs) or ["<no reason recorded>"])
    elif len(failed):
        reasons["<no reason recorded>"] = len(failed)

    ok = ok.copy()
    for f in LIST_FIELDS:
        ok[f] = ok[f].map(_as_str_list)
    out = residents.loc[:, list(RESIDENT_FIELDS_ORDER)].merge(ok, on="uuid", how="inner", validate="one_to_one")
    out = out.loc[:, list(PERSONA_FIELDS_ORDER)].reset_index(drop=True)

    counts: dict[str, Any] = {
        "residents": len(residents),
        "narrated": len(narratives),
        "not_narrated": len(residents) - len(narratives),
        "ok": len(ok),
        "failed_excluded": len(failed),
        "published": len(out),
        "ok_rate": round(len(ok) / len(narratives), 6) if len(narratives) else None,
        "failed_by_reason": dict(reasons.most_common(top_reasons)),
    }
    return out, counts


def residents_release_frame(residents: pd.DataFrame) -> pd.DataFrame:
    """The ``residents`` config: every sampled record, identity + statistical fields in publication order."""
    _check_columns(residents, RESIDENT_FIELDS_ORDER, "residents")
    return residents.loc[:, list(RESIDENT_FIELDS_ORDER)].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ Arrow schema


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
    values = [v for v in s.tolist() if not _is_missing(v)]
    if not values:
        return pa.string()
    values = [list(v) if isinstance(v, (np.ndarray, tuple)) else v for v in values]
    return _normalise_type(pa.array(values).type)


def arrow_schema(df: pd.DataFrame) -> pa.Schema:
    """The Parquet schema of a config: canonical types for the published fields (``FIELD_TYPES``: strings,
    ``age`` int64, list<string> lists, ``big_five`` struct), inferred and normalised types for any other column.
    Every field is nullable."""
    return pa.schema([pa.field(str(c), FIELD_TYPES.get(str(c)) or _infer_type(df[c])) for c in df.columns])


def _column_values(s: pd.Series, t: pa.DataType) -> Any:
    if pa.types.is_list(t):
        return [None if _is_missing(v) else list(v) for v in s.tolist()]
    if pa.types.is_struct(t):
        return [None if _is_missing(v) else v for v in s.tolist()]
    return s


def to_arrow(df: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """``df`` as an Arrow table with ``schema`` (default ``arrow_schema(df)``), naming the column of any bad cell.

    No pandas metadata is attached: the bytes depend on the data only, which keeps the content hash stable."""
    schema = schema or arrow_schema(df)
    arrays = []
    for fld in schema:
        try:
            arrays.append(pa.array(_column_values(df[fld.name], fld.type), type=fld.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise ValueError(f"column {fld.name!r} does not fit the type {fld.type}: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=schema)


# ------------------------------------------------------------------------------------------------ release

RELEASES = "releases"
PUBLISHED = "published"
LOCK_FILE = ".publish.lock"
_RELEASE_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-z]+$")
_CONFIG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
ROW_GROUP_ROWS = 10_000
COMPRESSION = "zstd"


@dataclass(frozen=True)
class ShardInfo:
    config: str
    path: str  # relative to the release folder, e.g. "personas/train-00000-of-00001.parquet"
    rows: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    path: Path  # root/releases/<version>
    published: Path  # root/published (symlink to releases/<version>)
    content_hash: str  # sha256 over the release's files (paths + their sha256)
    files: tuple[ShardInfo, ...]
    card_sha256: str
    pruned: tuple[str, ...] = ()
    migrated_legacy: str | None = None  # name under releases/ of a former real 'published' directory

    @property
    def rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.config] = out.get(f.config, 0) + f.rows
        return out

    def to_metadata(self) -> dict[str, Any]:
        """A JSON-able summary (for asset metadata and ``release.json``)."""
        return {
            "version": self.version,
            "path": str(self.path),
            "published": str(self.published),
            "content_hash": self.content_hash,
            "rows": self.rows,
            "files": [f.__dict__ for f in self.files],
            "card_sha256": self.card_sha256,
            "pruned": list(self.pruned),
            "migrated_legacy": self.migrated_legacy,
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(t: datetime) -> str:
    return f"{t:%Y%m%dT%H%M%S}.{t.microsecond:06d}Z"


def _next_stamp(root: Path) -> str:
    """Now, or just after the newest existing release if the clock is behind it (names must sort by age)."""
    now = _utcnow()
    existing = list_releases(root)
    if existing:
        last = datetime.strptime(existing[-1][:23], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        if now <= last:
            now = last + timedelta(microseconds=1)
    return _stamp(now)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write one shard and fsync it (module-level so tests can inject a failure)."""
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)
        fh.flush()
        os.fsync(fh.fileno())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _publish_lock(root: Path) -> Iterator[None]:
    """One publisher at a time per root (an exclusive ``flock``; released when the process dies)."""
    with open(root / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def live_release(root: Path) -> str | None:
    """Name of the release ``root/published`` points to (None if there is no symlink)."""
    link = Path(root) / PUBLISHED
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def list_releases(root: Path) -> list[str]:
    """Release folder names under ``root/releases``, oldest first (names start with a sortable UTC stamp)."""
    rel = Path(root) / RELEASES
    if not rel.is_dir():
        return []
    return sorted(p.name for p in rel.iterdir() if p.is_dir() and not p.is_symlink() and _RELEASE_RE.match(p.name))


def _shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, math.ceil(rows / rows_per_shard))


def _write_config(table: pa.Table, folder: Path, config: str, rows_per_shard: int) -> list[ShardInfo]:
    folder.mkdir()
    n = _shard_count(table.num_rows, rows_per_shard)
    shards = []
    for i in range(n):
        part = table.slice(i * rows_per_shard, rows_per_shard)
        name = f"train-{i:05d}-of-{n:05d}.parquet"
        path = folder / name
        _write_parquet(part, path)
        shards.append(ShardInfo(config, f"{config}/{name}", part.num_rows, _sha256(path), path.stat().st_size))
    _fsync_dir(folder)
    return shards


def _prune(root: Path, keep: int, live: str) -> tuple[str, ...]:
    releases = list_releases(root)
    newest = set(releases[-keep:])
    doomed = [r for r in releases if r not in newest and r != live]
    for name in doomed:
        shutil.rmtree(root / RELEASES / name, ignore_errors=True)
    if doomed:
        _fsync_dir(root / RELEASES)
    return tuple(doomed)


def _clean_stale_temps(root: Path) -> None:
    """Temporary folders and links left by a publisher that died (we hold the lock, so none is in use)."""
    for p in (root / RELEASES).iterdir():
        if ".tmp-" in p.name and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(f".{PUBLISHED}.tmp-*"):
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)


def write_release(
    configs: Mapping[str, pd.DataFrame],
    card_markdown: str,
    root: Path,
    rows_per_shard: int = 50_000,
    keep: int = 3,
) -> ReleaseInfo:
    """Publish ``configs`` (config name -> frame) and the card as a new release under ``root``, atomically.

    Layout: ``root/releases/<version>/<config>/train-0000i-of-0000N.parquet``, ``<version>/README.md`` (the card)
    and ``<version>/release.json`` (files, rows, sha256); ``root/published`` is a relative symlink to
    ``releases/<version>``. ``<version>`` is ``<UTC stamp>-<first 8 hex of the content hash>``.

    Steps: write and fsync everything in ``releases/<stamp>.tmp-<pid>/`` (the content hash, hence the version,
    is known only once the files are written), rename it to ``releases/<version>/``, create a symlink at a
    temporary name and ``os.replace`` it onto ``published`` (atomic: a reader sees the old release or the new
    one, never a mix). Any failure before the swap removes what this call wrote and leaves the live release
    untouched. After the swap, releases beyond the newest ``keep`` are deleted (never the live one).
    A ``published`` that is a real directory (older layout) is moved into ``releases/`` just before the swap.
    Publishers on the same root are serialised by a lock file (``root/.publish.lock``).
    """
    if not configs:
        raise ValueError("write_release needs at least one config")
    for name in configs:
        if not _CONFIG_RE.match(name):
            raise ValueError(f"config name {name!r} is not a safe folder name")
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    root = Path(root)
    link = root / PUBLISHED
    if link.exists() and not link.is_symlink() and not link.is_dir():
        raise ValueError(f"{link} exists and is neither a symlink nor a directory; refusing to replace it")
    tables = {name: to_arrow(df) for name, df in configs.items()}  # type errors surface before any write

    root.mkdir(parents=True, exist_ok=True)
    (root / RELEASES).mkdir(exist_ok=True)
    with _publish_lock(root):
        _clean_stale_temps(root)
        stamp = _next_stamp(root)
        tmp = root / RELEASES / f"{stamp}.tmp-{os.getpid()}"
        tmp_link = root / f".{PUBLISHED}.tmp-{os.getpid()}"
        final: Path | None = None
        migrated: str | None = None
        swapped = False
        try:
            tmp.mkdir()
            shards: list[ShardInfo] = []
            for name, table in tables.items():
                shards += _write_config(table, tmp / name, name, rows_per_shard)
            _write_text(tmp / "README.md", card_markdown)
            card_sha = _sha256(tmp / "README.md")
            listing = sorted([(s.path, s.sha256) for s in shards] + [("README.md", card_sha)])
            content_hash = hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in listing).encode()).hexdigest()
            version = f"{stamp}-{content_hash[:8]}"
            _write_text(
                tmp / "release.json",
                json.dumps(
                    {
                        "version": version,
                        "content_hash": content_hash,
                        "files": [s.__dict__ for s in shards],
                        "card_sha256": card_sha,
                    },
                    indent=1,
                ),
            )
            _fsync_dir(tmp)
            final = root / RELEASES / version
            if final.exists():
                raise FileExistsError(f"release {final} already exists")
            os.rename(tmp, final)
            _fsync_dir(root / RELEASES)

            if link.is_dir() and not link.is_symlink():
                mtime = datetime.fromtimestamp(link.stat().st_mtime, UTC)
                migrated = f"{_stamp(mtime)}-legacy"
                os.rename(link, root / RELEASES / migrated)
            tmp_link.unlink(missing_ok=True)
            os.symlink(f"{RELEASES}/{version}", tmp_link)
            os.replace(tmp_link, link)
            swapped = True
            _fsync_dir(root)
        except BaseException:
            if not swapped:
                shutil.rmtree(tmp, ignore_errors=True)
                if migrated is not None and not os.path.lexists(link):
                    os.rename(root / RELEASES / migrated, link)  # put the older layout back as it was
                if final is not None and final.exists() and live_release(root) != final.name:
                    shutil.rmtree(final, ignore_errors=True)
                with contextlib.suppress(OSError):
                    tmp_link.unlink(missing_ok=True)
            raise
        try:
            pruned = _prune(root, keep, live=version)
        except OSError:  # the release is live; an old one that could not be deleted is retried next time
            pruned = ()
    return ReleaseInfo(
        version=version,
        path=final,
        published=link,
        content_hash=content_hash,
        files=tuple(shards),
        card_sha256=card_sha,
        pruned=pruned,
        migrated_legacy=migrated,
    )


# ------------------------------------------------------------------------------------------------ dataset card


@dataclass
class CardInputs:
    """Everything the dataset card says that is not computed from the data itself.

    ``configs`` are the frames as published (config name -> frame): features, sizes and value sets come from
    them. ``manifest`` is the census snapshot manifest (default: ``census_sources.load_manifest()``).
    """

    configs: Mapping[str, pd.DataFrame]
    assumptions: Sequence[str]  # modelled assumptions of the network (e.g. ``default_assumptions()``)
    narrative_model: str
    narrative_model_licence: str
    prompt_version: str
    narrative_ok_rate: float | None = None
    join_counts: Mapping[str, Any] | None = None  # the counts returned by ``join_personas``
    default_config: str = "personas"
    pretty_name: str = "SG Personas: synthetic Singapore personas grounded in official statistics"
    license: str = "cc-by-4.0"
    manifest: Mapping[str, Any] | None = None
    network_structure: Sequence[tuple[str, Sequence[str]]] | None = None  # default: the network's STRUCTURE
    limitations: Sequence[str] = ()  # added to DEFAULT_LIMITATIONS
    include_default_limitations: bool = True
    register_names: int | None = None  # names in the CEA register the name tokens come from
    register_full_name_matches: int | None = None  # synthetic full names equal to a register name form (gate: 0)
    register_near_misses: int | None = None  # same tokens in another order
    seed: int | None = None
    total_records: int | None = None
    code_version: str | None = None  # e.g. a git commit
    homepage: str | None = None
    fidelity_markdown: str | None = None  # optional section, e.g. national TVD per field
    max_values: int = 40  # value sets longer than this are cut (with a count of the rest)
    extra_tags: Sequence[str] = ()


def default_assumptions() -> list[str]:
    """The network's assumptions per node (``tables.ASSUMPTIONS``) and the derived-field rules."""
    from persona_assets.core.model.tables import ASSUMPTIONS

    return [f"{node}: {text}" for node, texts in ASSUMPTIONS.items() for text in texts] + list(DERIVED_ASSUMPTIONS)


def _load_manifest() -> Mapping[str, Any]:
    from census_sources import load_manifest

    return load_manifest()


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "10M<n<100M"


_DTYPE_NAMES = {"string": "string", "int64": "int64", "double": "float64", "bool": "bool", "float": "float32"}


def _dtype_name(t: pa.DataType) -> str:
    return _DTYPE_NAMES.get(str(t), str(t))


def _feature_yaml(name: str, t: pa.DataType) -> dict[str, Any]:
    """One feature in the Hugging Face ``dataset_info.features`` YAML form."""
    if pa.types.is_struct(t):
        return {"name": name, "struct": [_feature_yaml(f.name, f.type) for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_type
        if pa.types.is_struct(inner):
            return {"name": name, "list": [_feature_yaml(f.name, f.type) for f in inner]}
        return {"name": name, "list": _dtype_name(inner)}
    return {"name": name, "dtype": _dtype_name(t)}


def type_label(t: pa.DataType) -> str:
    """A short readable type: ``string``, ``int64``, ``list<string>``, ``struct<…>``."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{type_label(t.value_type)}>"
    if pa.types.is_struct(t):
        children = [type_label(f.type) for f in t]
        if len(t) > 2 and len(set(children)) == 1:
            return f"struct<{', '.join(f.name for f in t)}: each {children[0]}>"
        return "struct<" + ", ".join(f"{f.name}: {c}" for f, c in zip(t, children, strict=True)) + ">"
    return _dtype_name(t)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _line(text: Any) -> str:
    return " ".join(str(text).split())


def grounding_by_field(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """Snapshot tables grounding each field (the manifest's ``grounds``, i.e. SPEC section 4)."""
    out: dict[str, list[str]] = {}
    for name, entry in sorted(manifest.get("tables", {}).items()):
        for f in entry.get("grounds", ()):
            out.setdefault(f, []).append(name)
    return out


def _grounding(f: str, grounded: Mapping[str, list[str]], model: str) -> str:
    if f in LLM_FIELDS:
        return f"LLM ({model})"
    if f in MODELLED_RULE_FIELDS:
        return MODELLED_RULE_FIELDS[f]
    tables = ", ".join(f"`{t}`" for t in grounded.get(f, ()))
    note = GROUNDING_NOTES.get(f, "")
    return " ".join(x for x in (tables, note) if x) or "—"


def _value_source(configs: Mapping[str, pd.DataFrame], f: str) -> tuple[str, pd.DataFrame] | None:
    having = [(n, df) for n, df in configs.items() if f in df.columns]
    return max(having, key=lambda x: len(x[1])) if having else None


def _value_set_line(f: str, s: pd.Series, max_values: int) -> str:
    n = len(s)
    counts = s.dropna().astype(str).value_counts()
    nulls = int(s.isna().sum())
    order = list(CATEGORY_ORDER.get(f, ()))
    if order:
        keys: list[str | None] = [*order, *(c for c in counts.index if c not in order)]
    elif f in ("planning_area", "subzone", "region", "country"):
        keys = sorted(counts.index)
    else:
        keys = list(counts.index)
    if nulls:
        keys.append(None)
    items = []
    for k in keys[:max_values]:
        c = nulls if k is None else int(counts.get(k, 0))
        share = f"{100 * c / n:.1f}%" if n else "–"
        items.append(f"{'(null)' if k is None else _md(k)} ({share})")
    more = f" … and {len(keys) - max_values} more" if len(keys) > max_values else ""
    distinct = int(s.nunique(dropna=True))
    return f"- **{f}** ({distinct} value{'' if distinct == 1 else 's'}): " + " · ".join(items) + more


def _big_five_line(s: pd.Series) -> str:
    vals = [v for v in s.tolist() if isinstance(v, dict)]
    labels = " · ".join(f"{lab} ({lo}–{hi})" for lo, hi, lab in BIG_FIVE_LABELS)
    if not vals:
        return f"- **big_five**: traits {', '.join(BIG_FIVE_TRAITS)}; labels {labels}"
    scores = [v[t]["t_score"] for v in vals for t in BIG_FIVE_TRAITS if v.get(t)]
    return (
        f"- **big_five**: traits {', '.join(BIG_FIVE_TRAITS)}; each {{t_score: int64, label: string}}; "
        f"labels {labels}; observed T-scores {min(scores)}–{max(scores)}, mean {np.mean(scores):.1f}"
    )


def dataset_card(inputs: CardInputs) -> str:
    """The dataset card (``README.md``): YAML header + Markdown sections. Deterministic for given inputs."""
    configs = inputs.configs
    if inputs.default_config not in configs:
        raise ValueError(f"default config {inputs.default_config!r} is not among {list(configs)}")
    manifest = inputs.manifest if inputs.manifest is not None else _load_manifest()
    arrow = {name: to_arrow(df) for name, df in configs.items()}  # the types and sizes the release will have
    schemas = {name: t.schema for name, t in arrow.items()}
    ordered = [inputs.default_config] + [n for n in configs if n != inputs.default_config]
    largest = max(len(df) for df in configs.values())

    header = {
        "license": inputs.license,
        "language": ["en"],
        "pretty_name": inputs.pretty_name,
        "size_categories": [_size_category(largest)],
        "task_categories": ["text-generation"],
        "tags": ["synthetic", "personas", "singapore", "census", *inputs.extra_tags],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "configs": [
            {
                "config_name": n,
                **({"default": True} if n == inputs.default_config else {}),
                "data_files": [{"split": "train", "path": f"{n}/train-*.parquet"}],
            }
            for n in ordered
        ],
        "dataset_info": [
            {
                "config_name": n,
                "features": [_feature_yaml(f.name, f.type) for f in schemas[n]],
                "splits": [{"name": "train", "num_bytes": int(arrow[n].nbytes), "num_examples": len(configs[n])}],
                "dataset_size": int(arrow[n].nbytes),
            }
            for n in ordered
        ],
    }
    out: list[str] = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000).rstrip(), "---"]
    add = out.append

    add(f"\n# {inputs.pretty_name}\n")
    add("## Summary\n")
    add(
        "Synthetic residents of Singapore aged 15 and over, one record per person, in the shape of NVIDIA's "
        f"[Nemotron-Personas-Singapore]({NVIDIA_REFERENCE_URL}). Contextual fields are sampled from a Bayesian "
        "network fitted to official aggregate tables (SingStat, MOM, URA), names are drawn from name-token "
        "frequencies of a public register, and the persona texts are written by an LLM and checked against each "
        "record. Every statistical field traces to a named official table (see *Fields* and *Sources*); nothing "
        "describes a real person.\n"
    )
    add("| config | records | fields | content |")
    add("|---|---:|---:|---|")
    for n in ordered:
        what = {
            "personas": "the published persona records: identity, 13 LLM texts, 19 statistical fields",
            "residents": "every sampled resident: identity and statistical fields, without narratives",
        }.get(n, "")
        add(
            f"| `{n}`{' (default)' if n == inputs.default_config else ''} | {len(configs[n]):,} | "
            f"{len(schemas[n])} | {what} |"
        )
    if inputs.total_records or inputs.seed is not None or inputs.code_version:
        bits = []
        if inputs.total_records:
            bits.append(f"sample size {inputs.total_records:,}")
        if inputs.seed is not None:
            bits.append(f"base seed {inputs.seed}")
        if inputs.code_version:
            bits.append(f"code version `{inputs.code_version}`")
        add(
            f"\nReproducibility: {', '.join(bits)}; every record is reproducible from the seed, its planning area "
            "and its index."
        )
    if inputs.homepage:
        add(f"\nPipeline: {inputs.homepage}")

    add("\n## How to load\n")
    add("From a copy of this folder (or the Hub repository it is uploaded to):\n")
    add("```python")
    add("import pandas as pd")
    add(f'personas = pd.read_parquet("{inputs.default_config}")  # the folder of shards; lists load as arrays')
    add("")
    add("from datasets import load_dataset")
    add(f'ds = load_dataset("parquet", data_dir="{inputs.default_config}", split="train")')
    add(f'ds = load_dataset(".", "{inputs.default_config}", split="train")  # by config name, from this card')
    add("```\n")
    add(
        f"DuckDB: `SELECT * FROM '{inputs.default_config}/*.parquet'`; "
        f"Polars: `pl.read_parquet('{inputs.default_config}/*.parquet')`."
    )

    grounded = grounding_by_field(manifest)
    add("\n## Fields\n")
    add(
        "Types are the Parquet (Arrow) types. *Grounding* names the census snapshot tables (see *Sources*) a field "
        "is fitted to; *LLM* fields are generated; *modelled rule* fields follow documented rules, not a table. "
        f"*Null* is the share of null values in `{inputs.default_config}`.\n"
    )
    schema = schemas[inputs.default_config]
    df0 = configs[inputs.default_config]
    add("| # | field | type | null | description | grounding |")
    add("|---:|---|---|---:|---|---|")
    for i, f in enumerate(PERSONA_FIELDS_ORDER, 1):
        if f in df0.columns:
            t = type_label(schema.field(f).type)
            nulls = f"{100 * df0[f].map(_is_missing).mean():.1f}%" if len(df0) else "–"
        else:
            t, nulls = type_label(FIELD_TYPES[f]), "n/a"
        grounding = _grounding(f, grounded, inputs.narrative_model)
        add(f"| {i} | `{f}` | {_md(t)} | {nulls} | {_md(FIELD_DESCRIPTIONS[f])} | {_md(grounding)} |")
    extra = [c for c in df0.columns if c not in PERSONA_FIELDS_ORDER]
    for c in extra:
        add(f"| – | `{c}` | {_md(type_label(schema.field(str(c)).type))} | | (additional column) | |")

    add("\n## Value sets\n")
    add(
        "Categories follow the official tables (in their order where the model has one; categories with no "
        "record show 0.0%). Shares are of the config with the most records that has the field.\n"
    )
    for f in CATEGORICAL_FIELDS:
        src = _value_source(configs, f)
        if src is not None:
            add(_value_set_line(f, src[1][f], inputs.max_values))
    src = _value_source(configs, "age")
    if src is not None and len(src[1]):
        a = src[1]["age"]
        add(f"- **age**: {int(a.min())}–{int(a.max())} (median {float(a.median()):g}; 90 = 90 and over)")
    src = _value_source(configs, "big_five")
    if src is not None:
        add(_big_five_line(src[1]["big_five"]))

    add("\n## Sources and attribution\n")
    add(
        "Official statistics from the Department of Statistics Singapore (SingStat), the Ministry of Manpower "
        "(MOM), the Urban Redevelopment Authority (URA) and the Council for Estate Agencies (CEA), used under the "
        "[Singapore Open Data Licence v1.0](https://data.gov.sg/open-data-licence), which requires the "
        "attribution below. The pipeline reads a normalised snapshot of these tables (checksums in its "
        "`manifest.json`).\n"
    )
    add("| table | title | agency | reference | licence | grounds |")
    add("|---|---|---|---|---|---|")
    tables = manifest.get("tables", {})
    for name, e in sorted(tables.items()):
        title = f"[{_md(e.get('title', name))}]({e['url']})" if e.get("url") else _md(e.get("title", name))
        add(
            f"| `{name}` | {title} | {_md(e.get('agency', ''))} | {_md(e.get('reference', ''))} | "
            f"{_md(e.get('licence', ''))} | {_md(', '.join(e.get('grounds', ())))} |"
        )
    add("\nAttribution:\n")
    for name, e in sorted(tables.items()):
        line = e.get("attribution") or f"Contains information from {e.get('title', name)} ({e.get('agency', '')})."
        add(f"- {line}" + (f" <{e['url']}>" if e.get("url") else ""))

    add("\n## Modelled assumptions\n")
    add(
        "There are no microdata: every conditional table is a joint count array built from aggregate tables, "
        "harmonised by iterative proportional fitting and fitted as a Bayesian network. Each node is "
        "conditionally independent of its non-descendants given its parents:\n"
    )
    structure = inputs.network_structure
    if structure is None:
        from persona_assets.core.model.network import STRUCTURE

        structure = STRUCTURE
    for node, parents in structure:
        add(f"- `{node}` ← {', '.join(f'`{p}`' for p in parents) if parents else '(root)'}")
    add("\nAssumptions where no official cross-tab exists:\n")
    seen: set[str] = set()
    for a in [*inputs.assumptions, *DERIVED_ASSUMPTIONS]:
        if a not in seen:
            seen.add(a)
            add(f"- {_line(a)}")
    add(
        "\nModelled rules (no official table): `life_stage` and `digital_familiarity` as above; `big_five` per "
        "the recipe NVIDIA published for its persona pipeline (five T-scores ~ N(50, 10), clipped to [20, 80], "
        "labelled very low / low / average / high / very high)."
    )

    if inputs.fidelity_markdown:
        add("\n## Fidelity\n")
        add(inputs.fidelity_markdown.strip())

    add("\n## Narratives\n")
    rate = inputs.narrative_ok_rate
    if rate is None and inputs.join_counts:
        rate = inputs.join_counts.get("ok_rate")
    add(f"- Model: `{inputs.narrative_model}` (licence: {inputs.narrative_model_licence}), called through litellm.")
    add(f"- Prompt version: `{inputs.prompt_version}`.")
    if rate is not None:
        add(f"- Validation pass rate (ok / narrated): {100 * rate:.1f}%.")
    jc = inputs.join_counts or {}
    if jc:
        add(
            f"- Residents {jc.get('residents', 0):,}; narrated {jc.get('narrated', 0):,}; ok {jc.get('ok', 0):,}; "
            f"failed and excluded {jc.get('failed_excluded', 0):,}; published {jc.get('published', 0):,}."
        )
        if jc.get("failed_by_reason"):
            top = "; ".join(f"`{_md(k)}` × {v}" for k, v in jc["failed_by_reason"].items())
            add(f"- Most frequent failure reasons: {top}.")
    add(
        "- Guardrails: the person's name in each persona text; heritage conveyed through practice, never by naming "
        "race; age, sex, marital status, religion, occupation and planning area respected; each text stands "
        "alone. Every answer is validated against its record and resampled up to a limit; records that still "
        "fail are excluded from `personas` (they remain in `residents`)."
    )
    add(
        f"- The texts are model output: the model's licence ({inputs.narrative_model_licence}) and terms apply "
        "to them alongside this dataset's licence."
    )

    add("\n## Privacy\n")
    add(
        "Names are composed from name-token frequencies (surnames, given names, fathers' names, English names by "
        "inferred ethnicity and sex) of the public CEA Salesperson register and the Census 2000 top-20 Chinese "
        "surnames; no full name is copied. Every composed full name is checked against one-way digests of the "
        "register's name forms and redrawn if it matches.\n"
    )
    facts = []
    if inputs.register_names is not None:
        facts.append(f"register names: {inputs.register_names:,}")
    if inputs.register_full_name_matches is not None:
        facts.append(f"synthetic full names equal to a register name form: {inputs.register_full_name_matches:,}")
    if inputs.register_near_misses is not None:
        facts.append(f"near misses (same tokens, another order): {inputs.register_near_misses:,}")
    src = _value_source(configs, "full_name")
    if src is not None and len(src[1]):
        names = src[1]["full_name"]
        repeats = int(names.duplicated().sum())
        facts.append(
            f"unique full names in `{src[0]}`: {names.nunique():,} of {len(names):,} records "
            f"({repeats:,} records, {100 * repeats / len(names):.1f}%, repeat a full name held by another record)"
        )
    for fact in facts:
        add(f"- {fact}")
    add(
        "\nAll other fields are sampled from aggregate tables; no record corresponds to a real resident. Any "
        "resemblance of a synthetic name to a real person's is coincidental."
    )

    add("\n## Known limitations\n")
    limits = [*(DEFAULT_LIMITATIONS if inputs.include_default_limitations else ()), *inputs.limitations]
    for lim in dict.fromkeys(limits):
        add(f"- {_line(lim)}")

    add("\n## Licence\n")
    add(
        f"This dataset: {inputs.license.upper().replace('CC-BY', 'CC BY').replace('-4.0', ' 4.0')} "
        "(https://creativecommons.org/licenses/by/4.0/). It contains information from the official tables listed "
        "under *Sources* (Singapore Open Data Licence v1.0; keep their attribution when redistributing). The "
        "top-20 Chinese surname shares were transcribed from a CC BY-SA 4.0 page citing the Census 2000."
    )

    add("\n## Acknowledgement and citation\n")
    add(
        f"The design follows NVIDIA's [Nemotron-Personas-Singapore]({NVIDIA_REFERENCE_URL}) (record fields, "
        "Big Five recipe, narrative guardrails). This dataset is an independent rebuild from public Singapore "
        "statistics; it is not affiliated with or endorsed by NVIDIA.\n"
    )
    add("```bibtex")
    add("@misc{nvidia_nemotron_personas_singapore,")
    add("  title        = {Nemotron-Personas-Singapore},")
    add("  author       = {{NVIDIA}},")
    add(f"  howpublished = {{\\url{{{NVIDIA_REFERENCE_URL}}}}}")
    add("}")
    add("```")
    return "\n".join(out) + "\n"


def parse_card_header(card_markdown: str) -> dict[str, Any]:
    """The YAML header of a card (between the first two ``---`` lines)."""
    if not card_markdown.startswith("---\n"):
        raise ValueError("card has no YAML header")
    end = card_markdown.index("\n---\n", 4)
    return yaml.safe_load(card_markdown[4:end])


__all__ = [
    "ATTRIBUTE_FIELDS",
    "DEFAULT_LIMITATIONS",
    "FIELD_TYPES",
    "IDENTITY_FIELDS",
    "LIST_FIELDS",
    "LLM_FIELDS",
    "NARRATIVE_FIELDS",
    "PERSONA_FIELDS_ORDER",
    "RESIDENT_FIELDS_ORDER",
    "STATISTICAL_FIELDS",
    "CardInputs",
    "ReleaseInfo",
    "ShardInfo",
    "arrow_schema",
    "dataset_card",
    "default_assumptions",
    "grounding_by_field",
    "join_personas",
    "list_releases",
    "live_release",
    "parse_card_header",
    "residents_release_frame",
    "to_arrow",
    "write_release",
]
