"""evaluation: quality and speed of the one-step generator against its teacher and baseline."""

from pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
