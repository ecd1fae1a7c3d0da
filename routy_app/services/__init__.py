"""Plain async/sync Python business logic; never imports Reflex (the state classes call it)."""
