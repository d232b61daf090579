"""How a run executes its steps, chosen per deployment by ``$SG_PERSONAS_EXECUTOR`` (read when the definitions load,
in the code server, every run worker and every Celery worker alike):

- ``in_process`` (default): every step in the run's own process. A run worker already costs a process start and
  an import of the code location; a process per step (the ``multiprocess`` executor) would pay that again for each
  of the ~35 steps of the census run, for no parallelism on 2 cores (runs already run side by side: dagster.yaml).
- ``multiprocess``: Dagster's default, a process per step (``execution: config: multiprocess: max_concurrent``).
- ``celery``: ``dagster-celery``'s executor. Steps become Celery tasks on the broker
  ``$SG_PERSONAS_CELERY_BROKER`` (e.g. ``redis://host:6379/0``), results on ``$SG_PERSONAS_CELERY_BACKEND``
  (default: the broker); workers started with ``dagster-celery worker start -A dagster_celery.app`` (or
  ``celery -A dagster_celery.app worker``) anywhere that can import this code location and reach the instance and
  the storage root run them. Run config ``execution: config: queue: <name>`` routes a run's steps to the workers
  listening on that queue (``-q <name>``; default ``dagster``).
"""

import os

from dagster import ExecutorDefinition, Field, in_process_executor, multiprocess_executor

EXECUTOR_ENV = "SG_PERSONAS_EXECUTOR"
CELERY_BROKER_ENV = "SG_PERSONAS_CELERY_BROKER"
CELERY_BACKEND_ENV = "SG_PERSONAS_CELERY_BACKEND"
EXECUTORS = ("in_process", "multiprocess", "celery")


def celery_executor() -> ExecutorDefinition:
    """dagster-celery's executor with its broker and result backend from the environment and a per-run queue."""
    from dagster_celery import celery_executor as base

    broker = os.environ.get(CELERY_BROKER_ENV)
    if not broker:
        raise ValueError(f"{EXECUTOR_ENV}=celery needs ${CELERY_BROKER_ENV} (e.g. redis://127.0.0.1:6379/0)")
    backend = os.environ.get(CELERY_BACKEND_ENV) or broker

    def configure(config: dict) -> dict:
        return {"broker": broker, "backend": backend, "config_source": {"task_default_queue": config["queue"]}}

    return base.configured(
        configure,
        config_schema={"queue": Field(str, default_value="dagster", description="Celery queue of the run's steps")},
        name="celery",
    )


def select_executor() -> ExecutorDefinition:
    name = os.environ.get(EXECUTOR_ENV) or "in_process"
    if name == "in_process":
        return in_process_executor
    if name == "multiprocess":
        return multiprocess_executor
    if name == "celery":
        return celery_executor()
    raise ValueError(f"${EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)}, not {name!r}")
