"""Provider adapters: each speaks one provider's real HTTP API to configurable base URLs."""
