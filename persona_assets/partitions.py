"""The 55 planning-area partitions, defined once from the snapshot's URA Master Plan 2019 list."""

from dagster import StaticPartitionsDefinition

from census_sources import load_table


def planning_area_names() -> list[str]:
    names = sorted(load_table("ura_planning_areas")["planning_area"])
    if len(names) != 55:
        raise ValueError(f"URA MP2019 lists 55 planning areas; the snapshot has {len(names)}")
    return names


PLANNING_AREAS: list[str] = planning_area_names()

planning_area_partitions = StaticPartitionsDefinition(PLANNING_AREAS)
