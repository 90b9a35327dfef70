"""Figures and media for people to look at: loss curves, sample grids, contact sheets."""
