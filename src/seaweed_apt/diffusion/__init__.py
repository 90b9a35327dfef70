"""The rectified-flow process, separate from the network: schedules, losses, samplers."""
