"""`make dev` first marks runs failed that a stopped session left STARTED (their run worker is gone), so they no
longer hold a slot of the run queue; runs whose worker is alive are left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, job, op
from dagster._core.events import DagsterEvent
from dagster._core.instance.ref import InstanceRef

from persona_assets.orphaned_runs import fail_orphaned_runs, process_alive_since

ROOT = Path(__file__).resolve().parents[1]


@op
def _noop() -> None:
    pass


@job
def _tiny_job() -> None:
    _noop()


def _started_run(instance: DagsterInstance, pid: int) -> str:
    """A run whose RUN_START was logged by process ``pid`` and that never finished."""
    run = instance.create_run_for_job(_tiny_job)
    event = DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name, pid=pid)
    instance.report_dagster_event(event, run_id=run.run_id)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
    return run.run_id


def test_only_runs_whose_worker_is_gone_are_failed(tmp_path: Path) -> None:
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    gone, alive = _started_run(instance, pid=111), _started_run(instance, pid=222)
    done = _tiny_job.execute_in_process(instance=instance).run_id

    assert fail_orphaned_runs(instance, alive=lambda pid, since: pid == 222) == [gone]
    assert instance.get_run_by_id(gone).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == DagsterRunStatus.STARTED
    assert instance.get_run_by_id(done).status == DagsterRunStatus.SUCCESS
    messages = [e.message or "" for e in instance.all_logs(gone)]
    assert any("run worker (pid 111) is gone" in m for m in messages)
    assert fail_orphaned_runs(instance, alive=lambda pid, since: pid == 222) == []  # idempotent


def test_process_alive_since() -> None:
    now = time.time()
    assert process_alive_since(os.getpid(), now)
    assert not process_alive_since(os.getpid(), now - 10 * 86400)  # this pid was not running then: reused
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive_since(child.pid, now)


def test_a_killed_run_worker_leaves_a_run_that_is_then_failed(tmp_path: Path) -> None:
    """The real case: the process executing a run dies without a word (SIGKILL here; the code server going
    away on Ctrl-C in `make dev`), the run stays STARTED; the clean-up marks it failed."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    (tmp_path / "slow_job.py").write_text(
        textwrap.dedent(
            """
            import time
            from dagster import DagsterInstance, job, op

            @op
            def wait():
                time.sleep(120)

            @job
            def slow():
                wait()

            slow.execute_in_process(instance=DagsterInstance.get())
            """
        )
    )
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    worker = subprocess.Popen([sys.executable, str(tmp_path / "slow_job.py")], env=env, cwd=tmp_path)
    try:
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        deadline = time.time() + 120
        while not instance.get_runs() or instance.get_runs()[0].status != DagsterRunStatus.STARTED:
            assert time.time() < deadline and worker.poll() is None, "the run did not start"
            time.sleep(0.2)
        run_id = instance.get_runs()[0].run_id
        assert fail_orphaned_runs(instance) == []  # its worker is alive: untouched
    finally:
        worker.kill()
        worker.wait()
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED  # what Ctrl-C leaves behind
    assert fail_orphaned_runs(instance) == [run_id]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
