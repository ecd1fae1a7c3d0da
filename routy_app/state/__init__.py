"""Reflex state classes, one per feature; they only call services and hold display-ready values."""
