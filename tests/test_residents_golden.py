"""The same seed gives the same residents, byte for byte: partitions sampled now against recorded digests
(``tests/golden/residents_partitions.json``), both as canonical JSON and as the Parquet bytes the warehouse writes
(the partition file differs only by the settings entry in its footer metadata, which is stripped here). The
fields other than the names still have the digests of commit c873492 (before the refactor of issue 14); the
names changed once, deliberately, when Indian names began to follow religion (issue 13)."""

import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _helpers import canonical_digest

from persona_assets.core import storage
from persona_assets.core.census import area_adult_population, summarise_planning_areas
from persona_assets.core.dataset_settings import SETTINGS_KEY, encode_settings
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.names import ENGLISH_LABELS, NameModel, build_name_tokens
from persona_assets.core.schema import NAME_FIELDS

GOLDEN = json.loads((Path(__file__).parent / "golden" / "residents_partitions.json").read_text())


@pytest.fixture(scope="module")
def names(census_frames):
    tokens = build_name_tokens(
        {"cea": census_frames["cea_name_tokens"]}, census_frames["chinese_surnames_2000"], pd.read_csv(ENGLISH_LABELS)
    )
    return NameModel(tokens), census_frames["cea_name_hashes"]


def _parquet_sha(table: pa.Table) -> str:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return hashlib.sha256(buf.getvalue()).hexdigest()


@pytest.mark.parametrize(
    "golden", GOLDEN["partitions"], ids=lambda g: f"{g['planning_area']}-{g['total_records']}-{g['base_seed']}"
)
def test_partition_bytes_match_the_commit_before_the_refactor(golden, network, census_frames, names, tmp_path):
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    area = golden["planning_area"]
    alloc = allocate_areas(
        summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], golden["total_records"]
    )
    df = sample_residents(
        network, area, area_adult_population(respop, ura, area), int(alloc[area]), golden["base_seed"], names=names
    )
    assert len(df) == golden["rows"]
    assert canonical_digest(df.drop(columns=list(NAME_FIELDS))) == golden["non_name_sha256"]  # as at c873492
    assert canonical_digest(df) == golden["canonical_sha256"]

    settings = {"total_records": golden["total_records"], "base_seed": golden["base_seed"]}
    path = storage.write_parquet_atomic(df, tmp_path / "p.parquet", {SETTINGS_KEY: encode_settings(settings)})
    assert canonical_digest(pd.read_parquet(path)) == golden["canonical_sha256"]
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    assert json.loads(meta.pop(SETTINGS_KEY.encode())) == settings
    if pa.__version__ != GOLDEN["pyarrow"]:
        pytest.skip(f"Parquet bytes were recorded with pyarrow {GOLDEN['pyarrow']}, this is {pa.__version__}")
    assert _parquet_sha(table.replace_schema_metadata(meta)) == golden["parquet_sha256"]
