"""sg-personas: the Dagster code location (``persona_assets.definitions``) and its pure core."""
