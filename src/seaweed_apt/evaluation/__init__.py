"""Quality and speed measurements of generated videos against held-out real clips."""
