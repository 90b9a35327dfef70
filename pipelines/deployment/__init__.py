"""deployment: the selected generator registered, gated, served and smoke-tested."""

from pipelines.deployment.pipeline import create_pipeline

__all__ = ["create_pipeline"]
