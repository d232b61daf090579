"""The embedded inference server: llama.cpp's own ``llama-server`` on 127.0.0.1, reached through litellm's
OpenAI-compatible provider (``openai/<name>`` with ``api_base=http://127.0.0.1:PORT/v1``), so the offline default
takes the same code path as vLLM, NIM or any hosted endpoint.

Lifecycle (one server shared by every run of a ``make run`` or a backfill, and no orphan after a SIGKILL):

- A small **supervisor** process (``python -m persona_assets.core.narratives.llama_server supervise DIR``) owns
  ``llama-server``: the server is its child, started with ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so it dies with
  the supervisor whatever kills it. The supervisor records itself in ``DIR/state.json`` (its pid, the server's pid,
  port, model SHA-256, slots, threads, context) and restarts a server that dies while it is in use.
- Clients take a **lease**: a shared ``flock`` on ``DIR/lease.lock``, held as long as the lease is open. The kernel
  drops the lock when the holder exits, however it exits (SIGKILL included). The supervisor polls for an exclusive
  lock: when it gets one, no lease is held; after ``linger_s`` with none it stops the server (still holding the
  exclusive lock, so no client can lease a server that is going away) and exits.
- ``DIR`` is ``<data>/run/llama-server/<key>``, where the key is a digest of the binary, the weights' SHA-256 and
  the server settings: a lease reuses a healthy server of exactly this configuration or starts one; a different
  configuration gets a server of its own.

``LocalServerClient`` is the engine's client for the embedded model: it takes its lease on the first call (an
unchanged re-run, all cache hits, never starts the server) and releases it on ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from persona_assets.core.narratives.client import NO_KEY, LiteLLMClient
from persona_assets.core.narratives.engine import Completion
from persona_assets.core.narratives.local_model import LocalModel, ensure_weights, local_model
from persona_assets.core.paths import default_data_root

BINARY_ENV = "SG_PERSONAS_LLAMA_SERVER"
#: the llama.cpp source the binary is built from (``scripts/build_llama_server.sh``): part of the server's key
SOURCE_PACKAGE = "llama-cpp-python==0.3.36"
DEFAULT_SLOTS = 4
#: prompt (~1,500 tokens: system prompt, worked example, facts) + answer (max_tokens 900) + room, per slot
DEFAULT_CTX_PER_SLOT = 2560
DEFAULT_LINGER_S = 15.0
PR_SET_PDEATHSIG = 1


class LlamaServerError(RuntimeError):
    """The embedded server cannot be started (binary missing, weights corrupt, it failed to load)."""


def find_binary() -> Path:
    """``$SG_PERSONAS_LLAMA_SERVER``, else ``llama-server`` next to this interpreter (``.venv/bin``), else on PATH."""
    import shutil

    candidates = [
        os.environ.get(BINARY_ENV),
        str(Path(sys.prefix) / "bin" / "llama-server"),
        shutil.which("llama-server"),
    ]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    raise LlamaServerError(
        "llama-server not found (looked at $SG_PERSONAS_LLAMA_SERVER, <venv>/bin/llama-server and PATH); build it "
        "with `make install` or `scripts/build_llama_server.sh .venv`"
    )


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class ServerConfig:
    """What a server is started with. ``threads`` 0: one per usable CPU."""

    model: str  # a LOCAL_MODELS name
    slots: int = DEFAULT_SLOTS
    threads: int = 0
    ctx_per_slot: int = DEFAULT_CTX_PER_SLOT

    def resolved_threads(self) -> int:
        return self.threads if self.threads > 0 else usable_cpus()

    def key(self, binary: Path, spec: LocalModel) -> str:
        payload = json.dumps(
            [SOURCE_PACKAGE, str(binary), spec.sha256, self.slots, self.resolved_threads(), self.ctx_per_slot]
        )
        return f"{spec.name}-{self.slots}x{self.resolved_threads()}-{hashlib.sha256(payload.encode()).hexdigest()[:10]}"


def server_command(binary: Path, weights: Path, port: int, cfg: ServerConfig) -> list[str]:
    """The ``llama-server`` command line: loopback only, ``slots`` parallel sequences with continuous batching and
    ``ctx_per_slot`` tokens each (the context is split evenly between the slots), ``threads`` for generation and
    prompt processing, Prometheus metrics on (the benchmark reads them), no web UI, warnings and errors only."""
    threads = str(cfg.resolved_threads())
    return [
        str(binary),
        "--model", str(weights),
        "--alias", cfg.model,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--threads", threads,
        "--threads-batch", threads,
        "--parallel", str(cfg.slots),
        "--ctx-size", str(cfg.slots * cfg.ctx_per_slot),
        "--no-kv-unified",
        "--cont-batching",
        "--metrics",
        "--no-webui",
        "--log-verbosity", "2",
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout_s: float = 2.0) -> tuple[int, Any]:
    """(HTTP status, parsed body or None); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def healthy(base_url: str) -> bool:
    return get_json(base_url.removesuffix("/v1") + "/health")[0] == 200


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class ServerProcess:
    """One ``llama-server`` child of this process (dies with it: ``PR_SET_PDEATHSIG``). The supervisor runs one;
    the benchmark and tests that need a server of their own use it directly."""

    def __init__(self, cfg: ServerConfig, weights: Path, binary: Path | None = None, log: Path | None = None) -> None:
        self.cfg, self.weights = cfg, weights
        self.binary = binary or find_binary()
        self.log = log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, port: int = 0, timeout_s: float = 300.0) -> ServerProcess:
        """Start on ``port`` (0: a free one) and wait until ``/health`` answers 200."""
        self.port = port or free_port()
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                server_command(self.binary, self.weights, self.port, self.cfg),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the supervisor is single-threaded
                env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LlamaServerError(f"llama-server exited with {self.proc.returncode} while loading: {self.tail()}")
            if healthy(self.base_url):
                return self
            time.sleep(0.2)
        self.stop()
        raise LlamaServerError(f"llama-server did not become healthy within {timeout_s:.0f} s: {self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 2000) -> str:
        if not self.log or not self.log.exists():
            return "(no log)"
        return self.log.read_bytes()[-n:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> ServerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------------------------ the supervisor


def state_root() -> Path:
    return default_data_root() / "run" / "llama-server"


def read_state(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / "state.json").read_text()))
    except (OSError, ValueError):
        return None


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    tmp = folder / f".state.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, folder / "state.json")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def supervise(folder: Path) -> int:
    """The supervisor's main loop (see the module docstring). ``folder/config.json`` holds its settings."""
    conf = json.loads((folder / "config.json").read_text())
    cfg = ServerConfig(**conf["server"])
    linger_s = float(conf["linger_s"])
    server = ServerProcess(cfg, Path(conf["weights"]), Path(conf["binary"]), folder / "server.log")
    lease_fd = os.open(folder / "lease.lock", os.O_RDWR | os.O_CREAT, 0o644)
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state = {
        "pid": os.getpid(),
        "status": "starting",
        **asdict(cfg),
        "threads": cfg.resolved_threads(),
        "sha256": conf["sha256"],
        "binary": conf["binary"],
        "linger_s": linger_s,
        "started": time.time(),
        "restarts": 0,
    }
    _write_state(folder, state)
    try:
        server.start(timeout_s=float(conf.get("start_timeout_s", 300)))
    except LlamaServerError as exc:
        _write_state(folder, {**state, "status": "failed", "error": str(exc)})
        return 1
    state.update(status="ready", port=server.port, base_url=server.base_url, server_pid=server.proc.pid)  # type: ignore[union-attr]
    _write_state(folder, state)
    idle_since: float | None = None
    try:
        while not stopping:
            time.sleep(0.25)
            try:
                fcntl.flock(lease_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a lease is held
                idle_since = None
                if not server.alive():  # died in use (killed, crashed): the same port again, so clients carry on
                    if state["restarts"] >= 5:
                        break
                    state.update(status="restarting", restarts=state["restarts"] + 1)
                    _write_state(folder, state)
                    try:
                        server.start(port=server.port, timeout_s=float(conf.get("start_timeout_s", 300)))
                    except LlamaServerError as exc:
                        _write_state(folder, {**state, "status": "failed", "error": str(exc)})
                        return 1
                    state.update(status="ready", server_pid=server.proc.pid)  # type: ignore[union-attr]
                    _write_state(folder, state)
                continue
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= linger_s:
                break  # keep the exclusive lock: no lease can be taken on a server that is going away
            fcntl.flock(lease_fd, fcntl.LOCK_UN)
    finally:  # on SIGTERM/SIGINT too: clients then see connection errors (retried, then failed with a reason)
        with contextlib.suppress(OSError):
            (folder / "state.json").unlink()
        server.stop()
        os.close(lease_fd)
    return 0


# ------------------------------------------------------------------------------------------------ leases


class Lease:
    """A held lease on a running server (``base_url``); ``release()`` (or the context manager) gives it back."""

    def __init__(self, fd: int, folder: Path, state: dict[str, Any]) -> None:
        self._fd: int | None = fd
        self.folder = folder
        self.state = state

    @property
    def base_url(self) -> str:
        return str(self.state["base_url"])

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops the shared lock
            self._fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def acquire(
    cfg: ServerConfig,
    linger_s: float = DEFAULT_LINGER_S,
    root: Path | None = None,
    start_timeout_s: float = 300.0,
) -> Lease:
    """A lease on a healthy server of ``cfg``: the running one, or a new supervisor (weights verified first)."""
    spec = local_model(cfg.model)
    binary = find_binary()
    folder = (root or state_root()) / cfg.key(binary, spec)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lease.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a supervisor is stopping (it holds the exclusive lock)
        with open(folder / "start.lock", "a+") as start:
            fcntl.flock(start, fcntl.LOCK_EX)  # one starter at a time; the others then find its server
            state = read_state(folder)
            if state and state.get("status") == "ready" and pid_alive(int(state["pid"])) and healthy(state["base_url"]):
                return Lease(fd, folder, state)
            if state and state.get("status") in ("starting", "restarting") and pid_alive(int(state["pid"])):
                return Lease(fd, folder, _wait_ready(folder, int(state["pid"]), start_timeout_s))
            return Lease(fd, folder, _start_supervisor(folder, cfg, spec, binary, linger_s, start_timeout_s))
    except BaseException:
        os.close(fd)
        raise


def _start_supervisor(
    folder: Path, cfg: ServerConfig, spec: LocalModel, binary: Path, linger_s: float, start_timeout_s: float
) -> dict[str, Any]:
    weights = ensure_weights(spec)
    with contextlib.suppress(OSError):
        (folder / "state.json").unlink()  # a stale record (its supervisor is gone)
    (folder / "config.json").write_text(
        json.dumps(
            {
                "server": asdict(cfg),
                "weights": str(weights),
                "sha256": spec.sha256,
                "binary": str(binary),
                "linger_s": linger_s,
                "start_timeout_s": start_timeout_s,
            },
            indent=1,
        )
    )
    with open(folder / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "persona_assets.core.narratives.llama_server", "supervise", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this run (shared with later runs), not its terminal's Ctrl-C
            cwd=str(Path(__file__).resolve().parents[3]),
        )
    return _wait_ready(folder, proc.pid, start_timeout_s, proc)


def _wait_ready(
    folder: Path, pid: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s + 10
    while time.monotonic() < deadline:
        state = read_state(folder)
        if state and state.get("pid") == pid:
            if state.get("status") == "ready":
                return state
            if state.get("status") == "failed":
                raise LlamaServerError(state.get("error", "the embedded server failed to start"))
        exited = proc.poll() is not None if proc is not None else not pid_alive(pid)
        if exited:
            log = (folder / "supervisor.log").read_bytes()[-2000:].decode("utf-8", "replace")
            raise LlamaServerError(f"the llama-server supervisor exited before the server was ready: {log}")
        time.sleep(0.1)
    raise LlamaServerError(f"the embedded server was not ready within {timeout_s:.0f} s ({folder})")


# ------------------------------------------------------------------------------------------------ the client


class LocalServerClient:
    """The engine's client for the embedded model: litellm's ``openai/<name>`` against the leased server. The lease
    is taken on the first call (in a thread: starting a server takes seconds) and held until :meth:`close`."""

    def __init__(
        self,
        cfg: ServerConfig,
        linger_s: float = DEFAULT_LINGER_S,
        request_timeout_s: float = 300.0,
        root: Path | None = None,
    ) -> None:
        self.cfg, self.linger_s, self.request_timeout_s, self.root = cfg, linger_s, request_timeout_s, root
        self.lease: Lease | None = None
        self._inner: LiteLLMClient | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"LocalServerClient(model={self.cfg.model!r}, slots={self.cfg.slots})"

    def connect(self) -> LiteLLMClient:
        if self._inner is None:
            self.lease = acquire(self.cfg, self.linger_s, self.root)
            self._inner = LiteLLMClient(f"openai/{self.cfg.model}", self.lease.base_url, NO_KEY, self.request_timeout_s)
        return self._inner

    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        if self._inner is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._inner is None:
                    await asyncio.to_thread(self.connect)
        assert self._inner is not None
        return await self._inner.complete(messages, params)

    def close(self) -> None:
        if self.lease is not None:
            self.lease.release()
        self.lease, self._inner, self._lock = None, None, None

    def __enter__(self) -> LocalServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """``supervise DIR`` (started by :func:`acquire`), or ``status`` (the servers running under the data dir)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["supervise"] and len(args) == 2:
        return supervise(Path(args[1]))
    if args[:1] == ["status"]:
        for folder in sorted(state_root().glob("*")) if state_root().exists() else []:
            print(folder.name, json.dumps(read_state(folder)))
        return 0
    print("usage: python -m persona_assets.core.narratives.llama_server supervise DIR | status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
