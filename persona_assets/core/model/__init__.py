"""The persona network: harmonised tables (IPF), structure, pomegranate fit, and the vectorised sampler."""
