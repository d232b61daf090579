"""Pure derivations from the census snapshot used by later stages."""

from __future__ import annotations

import pandas as pd

ADULT_AGE = 15


def summarise_planning_areas(respop: pd.DataFrame, ura: pd.DataFrame) -> pd.DataFrame:
    """One row per URA planning area: region, subzones, residents (all ages) and residents aged 15+."""
    ages = respop["age"].astype(int)
    pop = respop.assign(adult=ages >= ADULT_AGE)
    total = pop.groupby("planning_area")["count"].sum()
    adults = pop[pop["adult"]].groupby("planning_area")["count"].sum()
    out = ura[["planning_area", "planning_area_code", "region", "region_code"]].copy()
    out["subzones"] = ura["count"].astype("int64")
    out["residents"] = out["planning_area"].map(total).fillna(0).astype("int64")
    out["residents_15plus"] = out["planning_area"].map(adults).fillna(0).astype("int64")
    out["share_of_15plus"] = out["residents_15plus"] / out["residents_15plus"].sum()
    out["populated"] = out["residents_15plus"] > 0
    unknown = set(respop["planning_area"]) - set(ura["planning_area"])
    if unknown:
        raise ValueError(f"planning areas in the population table but not in URA MP2019: {sorted(unknown)}")
    return out.sort_values("planning_area").reset_index(drop=True)


def area_adult_population(respop: pd.DataFrame, ura: pd.DataFrame, planning_area: str) -> pd.DataFrame:
    """Residents aged 15+ of one planning area by subzone × single year of age × sex (official counts)."""
    region = ura.set_index("planning_area")["region"]
    if planning_area not in region.index:
        raise ValueError(f"unknown planning area {planning_area!r}")
    sub = respop[(respop["planning_area"] == planning_area) & (respop["age"].astype(int) >= ADULT_AGE)]
    out = pd.DataFrame(
        {
            "planning_area": sub["planning_area"].astype(str),
            "region": region[planning_area],
            "subzone": sub["subzone"].astype(str),
            "age": sub["age"].astype(int),
            "sex": sub["sex"].astype(str),
            "count": sub["count"].astype("int64"),
        }
    )
    return out.sort_values(["subzone", "age", "sex"]).reset_index(drop=True)
