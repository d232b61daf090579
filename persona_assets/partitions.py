"""The 55 planning-area partitions, defined once from the snapshot's URA Master Plan 2019 list (the record
schema's ``planning_area`` value set)."""

from dagster import StaticPartitionsDefinition

from persona_assets.core.schema import PLANNING_AREAS as _AREAS

PLANNING_AREAS: list[str] = list(_AREAS)

planning_area_partitions = StaticPartitionsDefinition(PLANNING_AREAS)
