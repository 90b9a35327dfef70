from pipelines.posttrain.pipeline import create_pipeline

__all__ = ["create_pipeline"]
