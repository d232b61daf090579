"""A real Redis broker and real Celery workers on one machine, for the scale-out tests.

``with redis_server() as redis:`` starts Debian's ``redis-server`` on 127.0.0.1 with a free port (no persistence,
no other interface) and stops it on exit; ``redis.url(db)`` is a broker, result backend or call-cache URL.
``with celery_worker(name, queues, env, config) as worker:`` starts ``dagster-celery worker start -A
dagster_celery.app`` (the worker command Dagster documents) in a session of its own, with one task at a time
(``--pool solo``), waits until it answers a ping on the broker, and stops the whole group on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from persona_assets.core.paths import REPO_ROOT
from persona_assets.testing.dagster_dev import free_port, stop_process_group


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def redis_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def redis_server(startup_timeout_s: float = 20.0) -> Iterator[RedisServer]:
    import redis

    binary = redis_binary()
    if binary is None:
        raise FileNotFoundError("redis-server not found (Debian: apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = RedisServer(port, proc)
    try:
        client = redis.Redis.from_url(server.url())
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.1)
        client.close()
        yield server
    finally:
        stop_process_group(proc, grace_s=5)


def write_celery_config(path: Path, broker: str, backend: str) -> Path:
    """The worker's config YAML (the executor's config block): broker and result backend."""
    path.write_text(f"execution:\n  config:\n    broker: {broker}\n    backend: {backend}\n", encoding="utf-8")
    return path


@dataclass
class CeleryWorker:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def celery_worker(
    name: str,
    queues: Sequence[str],
    env: Mapping[str, str],
    config: Path,
    log_path: Path,
    broker: str,
    startup_timeout_s: float = 120.0,
) -> Iterator[CeleryWorker]:
    """One Celery worker process (see the module docstring); its hostname is ``<name>@<host>``."""
    from celery import Celery

    bin_dir = Path(sys.executable).parent  # dagster-celery runs `celery` from PATH
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    dagster_celery = bin_dir / "dagster-celery"
    cmd = [str(dagster_celery), "worker", "start", "-A", "dagster_celery.app", "-y", str(config), "-n", name]
    for q in queues:
        cmd += ["-q", q]
    cmd += ["-l", "WARNING", "--", "--pool", "solo", "--concurrency", "1"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = CeleryWorker(name, proc, log_path)
    app = Celery(broker=broker)
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not any(name in host for reply in (app.control.ping(timeout=1.0) or []) for host in reply):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker {name} did not come up:\n{worker.log_tail()}")
            time.sleep(0.5)
        yield worker
    finally:
        app.close()
        stop_process_group(proc, grace_s=10)
