"""Start and stop a live ``dagster dev`` (webserver, daemon, code server) on loopback, for end-to-end tests.

``with dagster_dev(home, env) as dev:`` writes ``<home>/dagster.yaml`` (the repository's template, telemetry
forced off), starts ``dagster dev -w workspace.yaml -h 127.0.0.1 -p <free port>`` from the repository root in a
new session (its own process group), waits until the webserver answers and the code location is ``LOADED``, and
yields a :class:`DagsterDev` (``url``, ``graphql()``, ``log_tail()``). On exit it sends SIGINT to the group (what
Ctrl-C does), then SIGTERM, then SIGKILL to whatever is left of the group and of the process tree it saw, and
waits, so no process is left behind. The combined stdout/stderr of every process goes to ``log_path``
(``<home>/dagster_dev.log`` by default) for failure messages.

A ``dagster dev`` backgrounded by a non-interactive shell ignores SIGINT, and then SIGTERM too (it inherits the
ignored SIGINT, and Dagster maps SIGTERM to the SIGINT handler; ``../shared/notes/STACK.md``). Here it is started
with ``start_new_session=True`` and with SIGINT at its default even where the test runner ignores it, and the
whole group is signalled, so the SIGINT path works (shutdown in about 2 s) and SIGKILL is only the last resort.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from persona_assets.core.paths import REPO_ROOT
from persona_assets.procfs import PROC, iter_processes

LOCATION_NAME = "sg_personas"

_WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterDevError(RuntimeError):
    """``dagster dev`` did not come up (or died); the message ends with the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def write_instance_yaml(dagster_home: Path | str, template: Path | str = REPO_ROOT / "dagster.yaml") -> Path:
    """``<dagster_home>/dagster.yaml``: the repository's template with telemetry forced off."""
    home = Path(dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {}
    if Path(template).exists():
        config = yaml.safe_load(Path(template).read_text()) or {}
    config["telemetry"] = {**(config.get("telemetry") or {}), "enabled": False}
    config.setdefault("nux", {"enabled": False})  # no onboarding dialog over the UI
    out = home / "dagster.yaml"
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


#: loopback only: never route through an HTTP(S)_PROXY from the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None, timeout_s: float = 60.0) -> dict:
    """POST a GraphQL query to ``<url>/graphql``; returns ``data`` and raises on transport or GraphQL errors."""
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    req = urllib.request.Request(
        url.rstrip("/") + "/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with _OPENER.open(req, timeout=timeout_s) as resp:
        payload = json.loads(resp.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {json.dumps(payload['errors'])[:4000]}")
    return payload["data"]


def no_proxy_for_loopback(env: Mapping[str, str]) -> dict[str, str]:
    """``NO_PROXY``/``no_proxy`` extended with the loopback names, so that no client proxies 127.0.0.1."""
    out = {}
    for var in ("NO_PROXY", "no_proxy"):
        names = [n for n in env.get(var, "").split(",") if n]
        out[var] = ",".join(names + [n for n in ("127.0.0.1", "localhost", "::1") if n not in names])
    return out


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class DagsterDev:
    """A running ``dagster dev``."""

    url: str
    port: int
    dagster_home: Path
    log_path: Path
    process: subprocess.Popen

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout_s: float = 60.0) -> dict:
        return graphql(self.url, query, variables, timeout_s)

    def log_tail(self, lines: int = 80) -> str:
        return _tail(self.log_path, lines)

    def alive(self) -> bool:
        return self.process.poll() is None


def _children_map() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (Linux); empty elsewhere."""
    out: dict[int, list[int]] = {}
    for entry, fields in iter_processes():
        if len(fields) > 1:
            out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree (children first-level first)."""
    tree, seen, todo = _children_map(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in seen:
                seen.append(child)
                todo.append(child)
    return seen


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still "exists" for kill(0): treat it as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
        return state[state.rfind(")") + 2 :].split()[0] != "Z"
    except OSError:
        return True


def _any_member(pgid: int) -> bool:
    """Whether a live (non-zombie) process of group ``pgid`` exists anywhere (scans /proc)."""
    if not PROC.is_dir():
        return True
    return any(len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z" for _, fields in iter_processes())


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with the pid, an
    identity that survives pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def stop_process_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGINT the group (what Ctrl-C does), then SIGTERM, then SIGKILL the group and every descendant seen
    (checked by start time, so a reused pid is never hit); reap the leader."""
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    known: dict[int, str | None] = {}

    def remember() -> None:
        if proc.poll() is None:
            for pid in descendants(proc.pid):
                known.setdefault(pid, _start_time(pid))

    def gone() -> bool:
        return proc.poll() is not None and not _any_member(pgid)

    remember()
    for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, grace_s / 2)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not gone():
            remember()
            time.sleep(0.25)
        if gone():
            break
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for pid, started in known.items():  # anything that left the group (a session of its own) but came from here
        if started is not None and _start_time(pid) == started and _exists(pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def wait_until_loaded(dev: DagsterDev, timeout_s: float, location: str = LOCATION_NAME) -> None:
    """Poll ``/server_info`` and then ``workspaceOrError`` until ``location`` is LOADED (raises on a load error)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not dev.alive():
            raise DagsterDevError(f"dagster dev exited with {dev.process.returncode}\n{dev.log_tail()}")
        try:
            with _OPENER.open(dev.url + "/server_info", timeout=5) as resp:
                json.loads(resp.read())
            data = dev.graphql(_WORKSPACE_QUERY, timeout_s=10)["workspaceOrError"]
            entries = {e["name"]: e for e in data.get("locationEntries", [])}
            entry = entries.get(location)
            if entry is not None:
                err = entry.get("locationOrLoadError") or {}
                if err.get("__typename") == "PythonError":
                    raise DagsterDevError(
                        f"code location {location!r} failed to load: {err.get('message')}\n{err.get('stack')}"
                    )
                if entry["loadStatus"] == "LOADED" and err.get("__typename") == "RepositoryLocation":
                    return
                last = f"location {location!r}: {entry['loadStatus']}"
            else:
                last = f"locations: {sorted(entries)}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, RuntimeError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(1.0)
    raise DagsterDevError(f"dagster dev not ready after {timeout_s:.0f} s ({last})\n{dev.log_tail()}")


@contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Spawn children with SIGINT at its default even where this process ignores it (a test runner started in
    the background by a non-interactive shell). An ignored SIGINT is inherited across exec, and Dagster then
    ignores SIGTERM too (it maps SIGTERM to the SIGINT handler), so the group could only be SIGKILLed. A Python
    handler, unlike SIG_IGN, is reset to the default on exec."""
    previous = None
    try:
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave it (stop_process_group still ends with SIGKILL)
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def dagster_dev(
    dagster_home: Path | str,
    env: Mapping[str, str] | None = None,
    *,
    repo_root: Path | str = REPO_ROOT,
    workspace: str = "workspace.yaml",
    port: int | None = None,
    startup_timeout_s: float = 240.0,
    log_path: Path | str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[DagsterDev]:
    """A live ``dagster dev`` on 127.0.0.1 for the duration of the block (see the module docstring).

    ``env`` is the complete environment of the processes (default: this process's); ``DAGSTER_HOME`` is set to
    ``dagster_home`` whatever it says.
    """
    home = Path(dagster_home).resolve()
    write_instance_yaml(home, Path(repo_root) / "dagster.yaml")
    port = port or free_port()
    log = Path(log_path) if log_path else home / "dagster_dev.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**(dict(env) if env is not None else dict(os.environ)), "DAGSTER_HOME": str(home)}
    full_env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(no_proxy_for_loopback(full_env))
    dagster_bin = Path(sys.executable).with_name("dagster")
    cmd = [
        str(dagster_bin) if dagster_bin.exists() else "dagster",
        "dev",
        "-w",
        workspace,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        *extra_args,
    ]
    with open(log, "ab") as log_file, _sigint_not_ignored():
        proc = subprocess.Popen(
            cmd,
            cwd=str(repo_root),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = DagsterDev(url=f"http://127.0.0.1:{port}", port=port, dagster_home=home, log_path=log, process=proc)
    try:
        wait_until_loaded(dev, startup_timeout_s)
        yield dev
    finally:
        stop_process_group(proc)
