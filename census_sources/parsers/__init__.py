"""Parsers for the publishers' raw files, one module per file family. Each returns a tidy DataFrame."""
