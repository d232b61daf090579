"""The dataset card (``README.md``): a YAML header (licence, configs, features, sizes) and sections for the fields
(type, null share, description and grounding of each, from the record schema ``core/schema.py``), value sets,
sources with the Singapore Open Data Licence attribution, modelled assumptions, reproducibility (seed, settings,
code versions), narratives, privacy and known limitations. Its inputs are the dataclass ``CardInputs``."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from persona_assets.core.model.derived import BIG_FIVE_LABELS, BIG_FIVE_TRAITS, DERIVED_ASSUMPTIONS
from persona_assets.core.publish.arrow import convert_to_arrow, format_type, is_missing, name_dtype
from persona_assets.core.schema import CONTEXT_FIELDS, FIELDS, MAX_AGE, RECORD_FIELDS

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
#: Context fields whose values the card lists with their shares.
CATEGORICAL_FIELDS: tuple[str, ...] = tuple(f for f in CONTEXT_FIELDS if FIELDS[f].kind == "string")


@dataclass
class CardInputs:
    """Everything the dataset card says that is not computed from the data itself.

    ``configs`` are the frames as published (config name -> frame): features, sizes and value sets come from
    them. ``manifest`` is the census snapshot manifest (default: ``census_sources.load_manifest()``).
    ``dataset_settings`` are the settings every partition was made with (base seed, total records, narrative
    budget); ``code_versions`` the content digests of the code that made them (asset -> version).
    """

    configs: Mapping[str, pd.DataFrame]
    assumptions: Sequence[str]  # modelled assumptions of the network (e.g. ``collect_assumptions()``)
    narrative_model: str
    narrative_model_licence: str
    prompt_version: str
    narrative_ok_rate: float | None = None
    join_counts: Mapping[str, Any] | None = None  # the counts returned by ``join.count_join``
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
    dataset_settings: Mapping[str, Any] = field(default_factory=dict)
    code_versions: Mapping[str, str] = field(default_factory=dict)
    homepage: str | None = None
    fidelity_markdown: str | None = None  # optional section, e.g. national TVD per field
    narrative_quality_markdown: str | None = None  # the narrative report's summary (``report.summarise_for_card``)
    max_values: int = 40  # value sets longer than this are cut (with a count of the rest)
    extra_tags: Sequence[str] = ()


def collect_assumptions() -> list[str]:
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


def _feature_yaml(name: str, t: pa.DataType) -> dict[str, Any]:
    """One feature in the Hugging Face ``dataset_info.features`` YAML form."""
    if pa.types.is_struct(t):
        return {"name": name, "struct": [_feature_yaml(f.name, f.type) for f in t]}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_type
        if pa.types.is_struct(inner):
            return {"name": name, "list": [_feature_yaml(f.name, f.type) for f in inner]}
        return {"name": name, "list": name_dtype(inner)}
    return {"name": name, "dtype": name_dtype(t)}


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _line(text: Any) -> str:
    return " ".join(str(text).split())


def describe_grounding(name: str, model: str) -> str:
    """What a field rests on: its snapshot tables and rule (``core/schema.py``), or the LLM that wrote it."""
    f = FIELDS[name]
    if f.is_llm:
        return f"LLM ({model})"
    tables = ", ".join(f"`{t}`" for t in f.grounding)
    return " ".join(x for x in (tables, f.rule) if x) or "—"


def _value_source(configs: Mapping[str, pd.DataFrame], f: str) -> tuple[str, pd.DataFrame] | None:
    having = [(n, df) for n, df in configs.items() if f in df.columns]
    return max(having, key=lambda x: len(x[1])) if having else None


def _value_set_line(f: str, s: pd.Series, max_values: int) -> str:
    n = len(s)
    counts = s.dropna().astype(str).value_counts()
    nulls = int(s.isna().sum())
    order = list(FIELDS[f].values)
    keys: list[str | None] = [*order, *sorted(c for c in counts.index if c not in order)]
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


def _render_header(inputs: CardInputs, ordered: list[str], arrow: Mapping[str, pa.Table]) -> list[str]:
    largest = max(len(df) for df in inputs.configs.values())
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
                "features": [_feature_yaml(f.name, f.type) for f in arrow[n].schema],
                "splits": [
                    {"name": "train", "num_bytes": int(arrow[n].nbytes), "num_examples": len(inputs.configs[n])}
                ],
                "dataset_size": int(arrow[n].nbytes),
            }
            for n in ordered
        ],
    }
    return ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000).rstrip(), "---"]


def _render_summary(inputs: CardInputs, ordered: list[str], arrow: Mapping[str, pa.Table]) -> list[str]:
    out = [
        f"\n# {inputs.pretty_name}\n",
        "## Summary\n",
        "Synthetic residents of Singapore aged 15 and over, one record per person, in the shape of NVIDIA's "
        f"[Nemotron-Personas-Singapore]({NVIDIA_REFERENCE_URL}). Contextual fields are sampled from a Bayesian "
        "network fitted to official aggregate tables (SingStat, MOM, URA), names are drawn from name-token "
        "frequencies of a public register, and the persona texts are written by an LLM and checked against each "
        "record. Every statistical field traces to a named official table (see *Fields* and *Sources*); nothing "
        "describes a real person.\n",
        "| config | records | fields | content |",
        "|---|---:|---:|---|",
    ]
    for n in ordered:
        what = {
            "personas": "the published persona records: identity, 13 LLM texts, 19 statistical fields",
            "residents": "every sampled resident: identity and statistical fields, without narratives",
        }.get(n, "")
        default = " (default)" if n == inputs.default_config else ""
        out.append(f"| `{n}`{default} | {len(inputs.configs[n]):,} | {len(arrow[n].schema)} | {what} |")
    if inputs.homepage:
        out.append(f"\nPipeline: {inputs.homepage}")
    return out


def _render_loading(default: str) -> list[str]:
    return [
        "\n## How to load\n",
        "From a copy of this folder (or the Hub repository it is uploaded to):\n",
        "```python",
        "import pandas as pd",
        f'personas = pd.read_parquet("{default}")  # the folder of shards; lists load as arrays',
        "",
        "from datasets import load_dataset",
        f'ds = load_dataset("parquet", data_dir="{default}", split="train")',
        f'ds = load_dataset(".", "{default}", split="train")  # by config name, from this card',
        "```\n",
        f"DuckDB: `SELECT * FROM '{default}/*.parquet'`; Polars: `pl.read_parquet('{default}/*.parquet')`.",
    ]


def _render_fields(inputs: CardInputs, schema: pa.Schema) -> list[str]:
    df0 = inputs.configs[inputs.default_config]
    out = [
        "\n## Fields\n",
        "Types are the Parquet (Arrow) types. *Grounding* names the census snapshot tables (see *Sources*) a field "
        "is fitted to; *LLM* fields are generated; *modelled rule* fields follow documented rules, not a table. "
        f"*Null* is the share of null values in `{inputs.default_config}`.\n",
        "| # | field | type | null | description | grounding |",
        "|---:|---|---|---:|---|---|",
    ]
    for i, f in enumerate(RECORD_FIELDS, 1):
        if f in df0.columns:
            t = format_type(schema.field(f).type)
            nulls = f"{100 * df0[f].map(is_missing).mean():.1f}%" if len(df0) else "–"
        else:
            t, nulls = format_type(FIELDS[f].arrow_type), "n/a"
        grounding = describe_grounding(f, inputs.narrative_model)
        out.append(f"| {i} | `{f}` | {_md(t)} | {nulls} | {_md(FIELDS[f].description)} | {_md(grounding)} |")
    for c in [c for c in df0.columns if c not in FIELDS]:
        out.append(f"| – | `{c}` | {_md(format_type(schema.field(str(c)).type))} | | (additional column) | |")
    return out


def _render_value_sets(inputs: CardInputs) -> list[str]:
    configs = inputs.configs
    out = [
        "\n## Value sets\n",
        "Categories follow the official tables (in their order where the model has one; categories with no "
        "record show 0.0%). Shares are of the config with the most records that has the field.\n",
    ]
    for f in CATEGORICAL_FIELDS:
        src = _value_source(configs, f)
        if src is not None:
            out.append(_value_set_line(f, src[1][f], inputs.max_values))
    src = _value_source(configs, "age")
    if src is not None and len(src[1]):
        a = src[1]["age"]
        out.append(
            f"- **age**: {int(a.min())}–{int(a.max())} (median {float(a.median()):g}; {MAX_AGE} = {MAX_AGE} and over)"
        )
    src = _value_source(configs, "big_five")
    if src is not None:
        out.append(_big_five_line(src[1]["big_five"]))
    return out


def _render_sources(manifest: Mapping[str, Any]) -> list[str]:
    out = [
        "\n## Sources and attribution\n",
        "Official statistics from the Department of Statistics Singapore (SingStat), the Ministry of Manpower "
        "(MOM), the Urban Redevelopment Authority (URA) and the Council for Estate Agencies (CEA), used under the "
        "[Singapore Open Data Licence v1.0](https://data.gov.sg/open-data-licence), which requires the "
        "attribution below. The pipeline reads a normalised snapshot of these tables (checksums in its "
        "`manifest.json`).\n",
        "| table | title | agency | reference | licence | grounds |",
        "|---|---|---|---|---|---|",
    ]
    tables = manifest.get("tables", {})
    for name, e in sorted(tables.items()):
        title = f"[{_md(e.get('title', name))}]({e['url']})" if e.get("url") else _md(e.get("title", name))
        out.append(
            f"| `{name}` | {title} | {_md(e.get('agency', ''))} | {_md(e.get('reference', ''))} | "
            f"{_md(e.get('licence', ''))} | {_md(', '.join(e.get('grounds', ())))} |"
        )
    out.append("\nAttribution:\n")
    for name, e in sorted(tables.items()):
        line = e.get("attribution") or f"Contains information from {e.get('title', name)} ({e.get('agency', '')})."
        out.append(f"- {line}" + (f" <{e['url']}>" if e.get("url") else ""))
    return out


def _render_assumptions(inputs: CardInputs) -> list[str]:
    out = [
        "\n## Modelled assumptions\n",
        "There are no microdata: every conditional table is a joint count array built from aggregate tables, "
        "harmonised by iterative proportional fitting and fitted as a Bayesian network. Each node is "
        "conditionally independent of its non-descendants given its parents:\n",
    ]
    structure = inputs.network_structure
    if structure is None:
        from persona_assets.core.model.network import STRUCTURE

        structure = STRUCTURE
    for node, parents in structure:
        out.append(f"- `{node}` ← {', '.join(f'`{p}`' for p in parents) if parents else '(root)'}")
    out.append("\nAssumptions where no official cross-tab exists:\n")
    out += [f"- {_line(a)}" for a in dict.fromkeys([*inputs.assumptions, *DERIVED_ASSUMPTIONS])]
    out.append(
        "\nModelled rules (no official table): `life_stage` and `digital_familiarity` as above; `big_five` per "
        "the recipe NVIDIA published for its persona pipeline (five T-scores ~ N(50, 10), clipped to [20, 80], "
        "labelled very low / low / average / high / very high)."
    )
    return out


def _render_reproducibility(inputs: CardInputs) -> list[str]:
    settings = inputs.dataset_settings
    if not settings and not inputs.code_versions:
        return []
    out = ["\n## Reproducibility\n"]
    if settings:
        out.append(
            "Every partition of this release was made with the same settings (publication refuses a mix): "
            + ", ".join(f"`{k}` = {v!r}" for k, v in sorted(settings.items()))
            + ". Seeds derive from the base seed, the planning area and the stage, so every record is reproducible "
            "from the base seed, its planning area and its index."
        )
        args = {"total_records": "--total-records", "base_seed": "--seed", "records_per_partition": "--narratives"}
        cmd = " ".join(f"{flag} {shlex.quote(str(settings[k]))}" for k, flag in args.items() if k in settings)
        out.append(f"\nTo rebuild it at the pipeline's commit: `python -m persona_assets.run {cmd}`.")
    if inputs.code_versions:
        out.append(
            "\nCode versions (digests of the code and spec files each asset depends on; the Dagster UI marks a "
            "partition stale when its code changes):\n"
        )
        out += [f"- `{k}`: `{v}`" for k, v in sorted(inputs.code_versions.items())]
    return out


def _render_narratives(inputs: CardInputs) -> list[str]:
    rate = inputs.narrative_ok_rate
    if rate is None and inputs.join_counts:
        rate = inputs.join_counts.get("ok_rate")
    out = [
        "\n## Narratives\n",
        f"- Model: `{inputs.narrative_model}` (licence: {inputs.narrative_model_licence}), called through litellm.",
        f"- Prompt version: `{inputs.prompt_version}`.",
    ]
    if rate is not None:
        out.append(f"- Validation pass rate (ok / narrated): {100 * rate:.1f}%.")
    jc = inputs.join_counts or {}
    if jc:
        out.append(
            f"- Residents {jc.get('residents', 0):,}; narrated {jc.get('narrated', 0):,}; ok {jc.get('ok', 0):,}; "
            f"failed and excluded {jc.get('failed_excluded', 0):,}; published {jc.get('published', 0):,}."
        )
        if jc.get("failed_by_reason"):
            top = "; ".join(f"`{_md(k)}` × {v}" for k, v in jc["failed_by_reason"].items())
            out.append(f"- Most frequent failure reasons: {top}.")
    if inputs.narrative_quality_markdown:
        out.append(inputs.narrative_quality_markdown.strip())
    out += [
        "- Guardrails: the person's name in each persona text; heritage conveyed through practice, never by naming "
        "race; age, sex, marital status, religion, education, occupation, dwelling and planning area respected; "
        "life events possible at the person's age; each text stands alone. Every answer is validated against its "
        "record (including rules against professions claimed in leisure texts, travel to Singapore, invented or "
        "misspelt places) and repaired or resampled up to a limit; records that still fail are excluded from "
        "`personas` (they remain in `residents`).",
        f"- The texts are model output: the model's licence ({inputs.narrative_model_licence}) and terms apply "
        "to them alongside this dataset's licence.",
    ]
    return out


def _render_privacy(inputs: CardInputs) -> list[str]:
    out = [
        "\n## Privacy\n",
        "Names are composed from name-token frequencies (surnames, given names, fathers' names, English names by "
        "inferred ethnicity and sex) of the public CEA Salesperson register and the Census 2000 top-20 Chinese "
        "surnames; no full name is copied. Every composed full name is checked against one-way digests of the "
        "register's name forms and redrawn if it matches.\n",
    ]
    if inputs.register_names is not None:
        out.append(f"- register names: {inputs.register_names:,}")
    if inputs.register_full_name_matches is not None:
        out.append(f"- synthetic full names equal to a register name form: {inputs.register_full_name_matches:,}")
    if inputs.register_near_misses is not None:
        out.append(f"- near misses (same tokens, another order): {inputs.register_near_misses:,}")
    src = _value_source(inputs.configs, "full_name")
    if src is not None and len(src[1]):
        names = src[1]["full_name"]
        repeats = int(names.duplicated().sum())
        out.append(
            f"- unique full names in `{src[0]}`: {names.nunique():,} of {len(names):,} records "
            f"({repeats:,} records, {100 * repeats / len(names):.1f}%, repeat a full name held by another record)"
        )
    out.append(
        "\nAll other fields are sampled from aggregate tables; no record corresponds to a real resident. Any "
        "resemblance of a synthetic name to a real person's is coincidental."
    )
    return out


def _render_closing(inputs: CardInputs) -> list[str]:
    limits = [*(DEFAULT_LIMITATIONS if inputs.include_default_limitations else ()), *inputs.limitations]
    licence = inputs.license.upper().replace("CC-BY", "CC BY").replace("-4.0", " 4.0")
    return [
        "\n## Known limitations\n",
        *(f"- {_line(lim)}" for lim in dict.fromkeys(limits)),
        "\n## Licence\n",
        f"This dataset: {licence} (https://creativecommons.org/licenses/by/4.0/). It contains information from the "
        "official tables listed under *Sources* (Singapore Open Data Licence v1.0; keep their attribution when "
        "redistributing). The top-20 Chinese surname shares were transcribed from a CC BY-SA 4.0 page citing the "
        "Census 2000.",
        "\n## Acknowledgement and citation\n",
        f"The design follows NVIDIA's [Nemotron-Personas-Singapore]({NVIDIA_REFERENCE_URL}) (record fields, "
        "Big Five recipe, narrative guardrails). This dataset is an independent rebuild from public Singapore "
        "statistics; it is not affiliated with or endorsed by NVIDIA.\n",
        "```bibtex",
        "@misc{nvidia_nemotron_personas_singapore,",
        "  title        = {Nemotron-Personas-Singapore},",
        "  author       = {{NVIDIA}},",
        f"  howpublished = {{\\url{{{NVIDIA_REFERENCE_URL}}}}}",
        "}",
        "```",
    ]


def render_dataset_card(inputs: CardInputs) -> str:
    """The dataset card (``README.md``): YAML header + Markdown sections. Deterministic for given inputs."""
    if inputs.default_config not in inputs.configs:
        raise ValueError(f"default config {inputs.default_config!r} is not among {list(inputs.configs)}")
    manifest = inputs.manifest if inputs.manifest is not None else _load_manifest()
    arrow = {name: convert_to_arrow(df) for name, df in inputs.configs.items()}  # the types the release will have
    ordered = [inputs.default_config] + [n for n in inputs.configs if n != inputs.default_config]
    out = [
        *_render_header(inputs, ordered, arrow),
        *_render_summary(inputs, ordered, arrow),
        *_render_loading(inputs.default_config),
        *_render_fields(inputs, arrow[inputs.default_config].schema),
        *_render_value_sets(inputs),
        *_render_sources(manifest),
        *_render_assumptions(inputs),
        *_render_reproducibility(inputs),
    ]
    if inputs.fidelity_markdown:
        out += ["\n## Fidelity\n", inputs.fidelity_markdown.strip()]
    out += [*_render_narratives(inputs), *_render_privacy(inputs), *_render_closing(inputs)]
    return "\n".join(out) + "\n"


def parse_card_header(card_markdown: str) -> dict[str, Any]:
    """The YAML header of a card (between the first two ``---`` lines)."""
    if not card_markdown.startswith("---\n"):
        raise ValueError("card has no YAML header")
    end = card_markdown.index("\n---\n", 4)
    return yaml.safe_load(card_markdown[4:end])
