"""Page functions: thin layout bound to state."""
