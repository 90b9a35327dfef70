"""The frozen caption encoder shared by curation (offline) and serving (per request)."""
