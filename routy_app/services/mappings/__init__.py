"""Conversion Mappings: which Routy event types are pushed to which provider action.

A mapping is (integration, Routy event type) -> provider action, plus what the provider's mapping spec
asks for besides (`MappingSpec.extra`: Google's event source, Meta's standard event). Only enabled
mappings are pushed. `rules` checks them (the provider's own check included), `crud` holds the audited
commands and the list, `live` what needs the provider's account.
"""

from __future__ import annotations

from routy_app.services.mappings.crud import add_mapping, delete_mapping, list_mappings, set_enabled, update_mapping
from routy_app.services.mappings.live import available_actions, flag_missing, save_mapping
from routy_app.services.mappings.rules import SKIPPED_DISABLED, MappingProblem, MappingView, spec_for, validate_mapping

__all__ = [
    "SKIPPED_DISABLED",
    "MappingProblem",
    "MappingView",
    "add_mapping",
    "available_actions",
    "delete_mapping",
    "flag_missing",
    "list_mappings",
    "save_mapping",
    "set_enabled",
    "spec_for",
    "update_mapping",
    "validate_mapping",
]
