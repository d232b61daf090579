"""Persona narratives: versioned prompts, validation against the record, a durable call cache, and an async
engine with bounded concurrency, retries and resampling. Provider-agnostic: the engine takes any async client."""
