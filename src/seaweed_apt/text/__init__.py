"""Text in: the frozen caption encoder shared by curation (offline) and serving (per request),
the cleaning of captions and prompts before it, and `TextBatch`, the one type of encoded text
that the networks, samplers and losses take (`batch.py`)."""
