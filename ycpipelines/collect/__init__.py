"""归集 Collect: source connectors and the raw assets."""
