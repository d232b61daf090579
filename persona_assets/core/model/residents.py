"""Sample the residents of one planning area: allocated official cells + network draws + derived fields."""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_assets.core.model.allocation import allocate_cells
from persona_assets.core.model.derived import add_derived_fields
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.model.sampler import decode, sample_area_codes
from persona_assets.core.model.seeds import record_uuid, rng_for
from persona_assets.core.names import NameModel, compose_names
from persona_assets.core.schema import NAME_FIELDS, RESIDENT_COLUMNS


def empty_residents() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in RESIDENT_COLUMNS})
    return df.astype({"age": "int64"})


def sample_residents(
    net: PersonaNetwork,
    area: str,
    area_population: pd.DataFrame,
    n: int,
    base_seed: int,
    names: tuple[NameModel, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``n`` synthetic residents of ``area``; identical output for identical inputs (seeded per area/stage).

    ``names`` = (name model, register hashes) fills the identity fields; without it they stay empty.
    """
    if n == 0:
        return empty_residents()
    cells = allocate_cells(area_population[["subzone", "age", "sex", "count"]], n, rng_for(base_seed, area, "cells"))
    base, codes = sample_area_codes(net, area, cells, rng_for(base_seed, area, "residents"))
    records = pd.concat([base, decode(net, codes)], axis=1)
    records.insert(0, "planning_area", area)
    records = add_derived_fields(records, net.regions[area], rng_for(base_seed, area, "big_five"))
    records.insert(0, "uuid", [record_uuid(base_seed, area, i) for i in range(len(records))])
    records["age"] = records["age"].astype(np.int64)
    if names is not None:
        model, hashes = names
        composed, _ = compose_names(
            model,
            records["ethnicity"].to_numpy(),
            records["sex"].to_numpy(),
            rng_for(base_seed, area, "names"),
            hashes,
            records["religion"].to_numpy(),
        )
        for col in NAME_FIELDS:
            records[col] = composed[col].to_numpy()
    else:
        for col in NAME_FIELDS:
            records[col] = None
    return records.loc[:, list(RESIDENT_COLUMNS)]
