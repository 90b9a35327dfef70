"""pretrain: curated shards -> rectified-flow teacher on Ray Train -> sample grid."""

from kedro.pipeline import Node, Pipeline

from pipelines.pretrain import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(nodes.pretrain_teacher,
             ["curated_clips", "pretrain_runs_dir", "pretrain_live_dir", "params:pretrain",
              "params:ray", "params:sampling", "params:text_encoder"],
             ["teacher_model", "pretrain_metrics", "pretrain_history", "pretrain_loss_curve"],
             name="pretrain_teacher", tags=["ray"]),
        Node(nodes.sample_teacher_grid,
             ["teacher_model", "params:sampling"],
             "teacher_samples", name="sample_teacher_grid"),
    ])
