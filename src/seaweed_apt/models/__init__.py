"""Network modules only: no I/O, no distributed setup, no optimiser."""
