"""The same seed gives the same residents, byte for byte: partitions sampled now against recorded digests
(``tests/golden/residents_partitions.json``), both as canonical JSON and as the Parquet bytes the warehouse writes
(the partition file differs only by the settings entry in its footer metadata, which is stripped here). The digests
were computed on commit c873492 for the refactor of issue 14, and recomputed for the network of issue 15 (the
records change on purpose there); the names changed once more, deliberately, when Indian names began to follow
religion (issue 13): ``non_name_sha256`` digests the other columns alone, which that change leaves as they were.
After an intended model change, ``UPDATE_GOLDEN=1`` rewrites them."""

import hashlib
import io
import json
import os
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

GOLDEN_PATH = Path(__file__).parent / "golden" / "residents_partitions.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text())


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


def _update_golden(golden: dict, df: pd.DataFrame, settings: dict, tmp_path: Path) -> None:
    """Rewrite this partition's entry (an intended change of the records: review the diff)."""
    path = storage.write_parquet_atomic(df, tmp_path / "golden.parquet", {SETTINGS_KEY: encode_settings(settings)})
    table = pq.read_table(path)
    meta = {k: v for k, v in table.schema.metadata.items() if k != SETTINGS_KEY.encode()}
    golden.update(
        rows=len(df),
        canonical_sha256=canonical_digest(df),
        non_name_sha256=canonical_digest(df.drop(columns=list(NAME_FIELDS))),
        parquet_sha256=_parquet_sha(table.replace_schema_metadata(meta)),
    )
    GOLDEN.update(pyarrow=pa.__version__, pandas=pd.__version__)
    GOLDEN_PATH.write_text(json.dumps(GOLDEN, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize(
    "golden", GOLDEN["partitions"], ids=lambda g: f"{g['planning_area']}-{g['total_records']}-{g['base_seed']}"
)
def test_partition_bytes_match_the_recorded_digests(golden, network, census_frames, names, tmp_path):
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    area = golden["planning_area"]
    alloc = allocate_areas(
        summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], golden["total_records"]
    )
    df = sample_residents(
        network, area, area_adult_population(respop, ura, area), int(alloc[area]), golden["base_seed"], names=names
    )
    settings = {"total_records": golden["total_records"], "base_seed": golden["base_seed"]}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        _update_golden(golden, df, settings, tmp_path)
    assert len(df) == golden["rows"]
    assert canonical_digest(df.drop(columns=list(NAME_FIELDS))) == golden["non_name_sha256"]
    assert canonical_digest(df) == golden["canonical_sha256"]
    path = storage.write_parquet_atomic(df, tmp_path / "p.parquet", {SETTINGS_KEY: encode_settings(settings)})
    assert canonical_digest(pd.read_parquet(path)) == golden["canonical_sha256"]
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    assert json.loads(meta.pop(SETTINGS_KEY.encode())) == settings
    if pa.__version__ != GOLDEN["pyarrow"]:
        pytest.skip(f"Parquet bytes were recorded with pyarrow {GOLDEN['pyarrow']}, this is {pa.__version__}")
    assert _parquet_sha(table.replace_schema_metadata(meta)) == golden["parquet_sha256"]
