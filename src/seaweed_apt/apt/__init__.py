"""APT post-training (docs/method.md §2-3): generator, multi-depth discriminator, losses."""
