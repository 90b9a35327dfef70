"""Training loops written to Ray Train's contract; checkpoints; EMA; data by path."""
