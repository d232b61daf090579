"""The call cache shared by the workers of a distributed run: finished LLM calls in Redis.

The default cache (``engine.CallCache``) is a SQLite file under the data root: one machine (its processes share
it). A distributed run needs a cache every worker reads and writes, so that a partition re-run on another worker
still makes zero calls: a server database. Redis is the choice here: a Celery deployment already runs one (the
broker; use another database number), every finished call is committed and visible to all workers at once (a
killed worker loses none), and it does not depend on how a backfill groups partitions into runs. Enable
persistence on it (``appendonly yes``) if the cache must outlive a Redis restart.

Same contract as ``CallCache``: ``get(key)`` returns the ``Completion`` or None, ``put(key, model, completion)``
stores it (replacing), ``len()`` counts the calls, ``close()``. Values are JSON with every ``Completion`` field, the
model, the prompt version and the time, under ``<prefix><key>``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from persona_assets.core.narratives.engine import Completion
from persona_assets.core.narratives.prompts import COMPACT

KEY_PREFIX = "sg_personas:llm_calls:"


def is_redis_url(location: str | None) -> bool:
    return bool(location) and str(location).startswith(("redis://", "rediss://", "unix://"))


class RedisCallCache:
    """Finished calls in Redis (``redis://host:port/db``)."""

    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        import redis  # only where a Redis cache is configured

        self._client = redis.Redis.from_url(url, socket_timeout=60, socket_connect_timeout=10)
        self._client.ping()  # an unreachable cache fails the run here, not after the first paid call
        self._prefix = prefix
        self._fields = {f.name for f in dataclasses.fields(Completion)}

    def get(self, key: str) -> Completion | None:
        raw = self._client.get(self._prefix + key)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return Completion(**{k: v for k, v in data.items() if k in self._fields})

    def put(self, key: str, model: str, completion: Completion, prompt_version: str = COMPACT.prompt_version) -> None:
        """The same signature as ``CallCache.put``: the prompt version is the profile's (part of the key too)."""
        value = {
            **dataclasses.asdict(completion),
            "model": model,
            "prompt_version": prompt_version,
            "created": time.time(),
        }
        self._client.set(self._prefix + key, json.dumps(value, ensure_ascii=False))

    def __len__(self) -> int:
        return sum(1 for _ in self._client.scan_iter(match=self._prefix + "*", count=1000))

    def close(self) -> None:
        self._client.close()
