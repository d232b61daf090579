"""Seeds per (base seed, planning area, stage): one area re-run alone reproduces its records exactly."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np

#: Namespace for record UUIDs (uuid5 of "<base seed>/<area>/<index>").
RECORD_NAMESPACE = uuid.UUID("6f1c3a52-8d1e-4b57-9a3e-2f5d8c0b7e41")


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def rng_for(base_seed: int, area: str, stage: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([base_seed, _stable_int(area), _stable_int(stage)]))


def record_uuid(base_seed: int, area: str, index: int) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{base_seed}/{area}/{index}"))
