"""Narratives: prompts, validation, the engine, the litellm client and the embedded local model."""

import os

# litellm reads these at import: use the bundled price map (no download) and keep its logging quiet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")
# llama.cpp's OpenMP threads read this when the library loads: idle threads must sleep, not spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
