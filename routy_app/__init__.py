"""Routy Integrations: managed two-way connections between traffic sources and ad networks."""

__version__ = "0.1.0"
