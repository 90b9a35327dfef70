"""Raw video sources, curation into clips, splits and shards."""
