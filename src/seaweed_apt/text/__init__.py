"""Text in: the frozen caption encoder shared by curation (offline) and serving (per request),
and the cleaning of captions and prompts before it."""
