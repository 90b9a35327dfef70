"""APT post-training (APT_METHOD.md §2-3): generator, multi-depth discriminator, losses."""
