"""Asset keys and groups that more than one stage refers to (stages never import each other's modules)."""

from dagster import AssetKey

#: The census group: one asset per official table under the key prefix ``census``.
CENSUS_GROUP = CENSUS_PREFIX = "census"


def census_key(name: str) -> AssetKey:
    """The key of a census asset, e.g. ``census_key("respop_2025")`` = ``census/respop_2025``."""
    return AssetKey([CENSUS_PREFIX, name])
