"""seaweed-apt: raw videos to a served one-step video generator (APT, arXiv 2501.08316)."""
