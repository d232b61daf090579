"""The code location: one entry point for ``dagster dev``, ``workspace.yaml`` and ``pyproject.toml``.

Every resource is bound here, once: the dataset settings (data root, storage root, total records, base seed,
narrative budget; set per run in the Launchpad or run config, ``resources: {dataset: {config: …}}``) and, on top of
them, the IO managers; the census snapshot; the name sources; the LLM (from ``SG_PERSONAS_LLM_*``). The executor
of every run (in-process by default, Celery to scale out) comes from ``$SG_PERSONAS_EXECUTOR`` (``executors.py``)."""

from dagster import AssetSelection, Definitions, define_asset_job

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.census.checks import census_checks
from persona_assets.executors import select_executor
from persona_assets.io_managers import NetworkIOManager, WarehouseIOManager
from persona_assets.model.assets import fit_report, persona_network
from persona_assets.names.assets import NameSources, name_report, name_tokens
from persona_assets.narratives.assets import narrative_report, persona_narratives
from persona_assets.narratives.plan import narration_plan
from persona_assets.narratives.resources import llm_from_env
from persona_assets.partitions import planning_area_partitions
from persona_assets.publish.assets import personas_candidate, personas_dataset
from persona_assets.resources import CensusSnapshot
from persona_assets.sample.assets import residents
from persona_assets.settings import DatasetSettings

census_tables_job = define_asset_job(
    "census_tables_job",
    selection=AssetSelection.groups("census") - AssetSelection.assets(area_population),
    description="Load and gate every official table of the snapshot; summarise the planning areas.",
)

area_population_job = define_asset_job(
    "area_population_job",
    selection=AssetSelection.assets(area_population),
    partitions_def=planning_area_partitions,
    description="Official 15+ population of one planning area (one partition per URA planning area).",
)

model_job = define_asset_job(
    "model_job",
    selection=AssetSelection.assets(persona_network, name_tokens),
    description="Harmonise the official tables and fit the persona network; build the name-token pools.",
)

sample_job = define_asset_job(
    "sample_job",
    selection=AssetSelection.assets(area_population, residents),
    partitions_def=planning_area_partitions,
    description="One planning area: its official 15+ population and its synthetic residents.",
)

narratives_job = define_asset_job(
    "narratives_job",
    selection=AssetSelection.assets(persona_narratives),
    partitions_def=planning_area_partitions,
    description="One planning area: persona narratives for its chosen residents through the configured LLM.",
)

report_job = define_asset_job(
    "report_job",
    selection=AssetSelection.assets(fit_report, name_report, narrative_report),
    description="Census-fidelity, names and narrative-quality reports over every partition.",
)

publish_job = define_asset_job(
    "publish_job",
    selection=AssetSelection.assets(personas_candidate, personas_dataset),
    description="Gate the whole dataset (blocking Great Expectations suites, Data Docs) and publish the release.",
)

dataset = DatasetSettings.configure_at_launch()

#: Every asset of the code location, in pipeline order (the full-scale driver runs the same list).
ASSETS = [
    *census_assets,
    planning_areas,
    area_population,
    persona_network,
    name_tokens,
    residents,
    persona_narratives,
    narration_plan,
    narrative_report,
    fit_report,
    name_report,
    personas_candidate,
    personas_dataset,
]

defs = Definitions(
    assets=ASSETS,
    asset_checks=census_checks,
    jobs=[census_tables_job, area_population_job, model_job, sample_job, narratives_job, report_job, publish_job],
    resources={
        "dataset": dataset,
        "io_manager": WarehouseIOManager(settings=dataset),
        "network_io_manager": NetworkIOManager(settings=dataset),
        "census_snapshot": CensusSnapshot(),
        "name_sources": NameSources(),
        "llm": llm_from_env(),
    },
    executor=select_executor(),
)
