"""Publication, pure Python over pandas and pyarrow (no Dagster imports), one module per concern:

- ``join``: residents x narratives into the published record (SPEC section 3) and the counts of what was left out;
- ``arrow``: frames as Arrow tables with the record schema's types (``core/schema.py``);
- ``release``: the atomic Hugging Face-layout release writer (``releases/<version>/`` and the ``published`` link);
- ``card``: the dataset card (``README.md`` with its YAML header).
"""
