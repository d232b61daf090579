"""The 55 planning-area partitions, defined once from the snapshot's URA Master Plan 2019 list (the record
schema's ``planning_area`` value set), and the checks evaluated per partition."""

import warnings

from dagster import AssetCheckSpec, PreviewWarning, StaticPartitionsDefinition

from persona_assets.core.schema import PLANNING_AREAS as _AREAS

PLANNING_AREAS: list[str] = list(_AREAS)

planning_area_partitions = StaticPartitionsDefinition(PLANNING_AREAS)


def build_partition_check_spec(name: str, asset: str, *, blocking: bool, description: str) -> AssetCheckSpec:
    """A check evaluated per planning area: its results carry their partition, so the UI's check history lists
    which area each result is about (a check without partitions on a partitioned asset shows "Partition —").
    Partitioned checks are a Dagster preview feature (1.13); its warning is expected and silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(
            name, asset=asset, blocking=blocking, description=description, partitions_def=planning_area_partitions
        )
