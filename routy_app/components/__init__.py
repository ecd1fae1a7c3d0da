"""Reusable UI pieces: layout shell, provider card, status badge."""
