"""The ``names`` group: name tokens from every configured name source, and the names report."""

from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, ConfigurableResource, MetadataValue, Output, asset

from persona_assets.code_versions import code_version
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.names import ENGLISH_LABELS, build_name_tokens, diversity_report, privacy_report
from persona_assets.core.paths import REPO_ROOT
from persona_assets.keys import census_key

SOURCE_COLUMNS = ("position", "ethnicity", "sex", "token", "count")

#: NVIDIA's published counts for Nemotron-Personas-Singapore (dataset card), for comparison.
NVIDIA_UNIQUE = {"first": 8_992, "middle": 4_182, "last": 4_894}


class NameSources(ConfigurableResource):
    """Extra name sources beside the CEA register: CSV files with the columns ``position, ethnicity, sex, token,
    count`` (the shape ``census_sources/snapshot/cea_name_tokens.csv`` has), e.g. tokens from NLB name authority
    records. Paths are relative to the repository unless absolute."""

    extra_files: list[str] = []

    def load(self) -> dict[str, pd.DataFrame]:
        out = {}
        for f in self.extra_files:
            path = Path(f) if Path(f).is_absolute() else REPO_ROOT / f
            df = pd.read_csv(path, dtype={"token": str})
            missing = set(SOURCE_COLUMNS) - set(df.columns)
            if missing:
                raise ValueError(f"{path}: name source lacks columns {sorted(missing)}")
            if (df["count"] < 0).any() or df["count"].isna().any():
                raise ValueError(f"{path}: counts must be present and non-negative")
            out[path.stem] = df.loc[:, list(SOURCE_COLUMNS)]
        return out


@asset(
    group_name="names",
    ins={
        "cea": AssetIn(key=census_key("cea_name_tokens")),
        "surnames": AssetIn(key=census_key("chinese_surnames_2000")),
    },
    metadata={"schema": "names"},
    code_version=code_version("name_tokens"),
    kinds={"pandas", "duckdb"},
    owners=["team:names"],
    description="Name-token frequencies by position (surname, given, father, English), inferred ethnicity and sex, "
    "from the CEA Salesperson register (token counts only) and any extra configured source; Chinese surnames "
    "reweighted to the Census 2000 top-20 shares; English names labelled by sex (hand-made annotation).",
)
def name_tokens(
    context: AssetExecutionContext, name_sources: NameSources, cea: pd.DataFrame, surnames: pd.DataFrame
) -> Output[pd.DataFrame]:
    sources = {"cea": cea, **name_sources.load()}
    labels = pd.read_csv(ENGLISH_LABELS)
    tokens = build_name_tokens(sources, surnames, labels)
    rules = cea[cea["position"] == "rule"].groupby(["token", "ethnicity", "sex"], as_index=False)["count"].sum()
    en = tokens[tokens["position"] == "english"]
    labelled_share = float(en.loc[en["weight"] > 0, "count"].sum() / en["count"].sum()) if len(en) else 0.0
    pools = tokens[tokens["weight"] > 0].groupby(["position", "ethnicity", "sex"]).size().reset_index(name="tokens")
    return Output(
        tokens,
        metadata={
            "sources": ", ".join(sources),
            "names_by_rule": MetadataValue.md(frame_to_markdown(rules, 20)),
            "english_name_occurrences_labelled": round(labelled_share, 4),
            "pool_sizes": MetadataValue.md(frame_to_markdown(pools, 40)),
            "privacy": "token counts only; no registered full name is stored or logged",
        },
    )


@asset(
    group_name="names",
    ins={"residents": AssetIn(key="residents"), "hashes": AssetIn(key=census_key("cea_name_hashes"))},
    metadata={"schema": "names"},
    code_version=code_version("name_report"),
    kinds={"pandas"},
    owners=["team:names"],
    description="Names of the whole sample: unique first, middle and last names, duplicate full names (compared "
    "with NVIDIA's published counts), and the privacy check against the CEA register.",
)
def name_report(context: AssetExecutionContext, residents: pd.DataFrame, hashes: pd.DataFrame) -> Output[pd.DataFrame]:
    diversity = diversity_report(residents)
    privacy = privacy_report(residents["full_name"], hashes, residents["preferred_english_name"])
    rows = [
        {
            "measure": "unique first names",
            "sg_personas": diversity["unique_first_names"],
            "nvidia": NVIDIA_UNIQUE["first"],
        },
        {
            "measure": "unique middle names",
            "sg_personas": diversity["unique_middle_names"],
            "nvidia": NVIDIA_UNIQUE["middle"],
        },
        {
            "measure": "unique last names",
            "sg_personas": diversity["unique_last_names"],
            "nvidia": NVIDIA_UNIQUE["last"],
        },
        {"measure": "unique full names", "sg_personas": diversity["unique_full_names"], "nvidia": None},
        {"measure": "records", "sg_personas": diversity["records"], "nvidia": 148_000},
    ]
    table = pd.DataFrame(rows)
    return Output(
        table,
        metadata={
            "diversity": MetadataValue.md(frame_to_markdown(table, 10)),
            "duplicate_full_name_share": diversity["duplicate_full_name_share"],
            "register_full_name_matches": privacy["register_full_name_matches"],
            "near_misses_same_tokens_other_order": privacy["near_misses_same_tokens_other_order"],
            "records_with_preferred_english_name": diversity["records_with_preferred_english_name"],
        },
    )
