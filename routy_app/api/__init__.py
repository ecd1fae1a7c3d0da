"""HTTP routes served beside the Reflex UI on the same port (OAuth callbacks, ingest, health)."""
