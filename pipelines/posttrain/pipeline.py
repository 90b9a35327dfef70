"""posttrain: teacher -> (teacher pairs) -> distilled one-step student -> APT one-step generator."""

from kedro.pipeline import Node, Pipeline

from pipelines.posttrain import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(nodes.draw_teacher_pairs,
             ["curated_clips", "teacher_model", "teacher_pairs_cache_dir",
              "params:posttrain.distill", "params:posttrain.apt", "params:ray"],
             ["teacher_pairs", "teacher_pairs_record"], name="draw_teacher_pairs", tags=["ray"]),
        Node(nodes.distill_generator,
             ["curated_clips", "teacher_model", "teacher_pairs", "posttrain_runs_dir",
              "distill_live_dir", "params:posttrain.distill", "params:ray"],
             ["distilled_model", "distill_metrics", "distill_history", "distill_loss_curve"],
             name="distill_generator", tags=["ray"]),
        Node(nodes.adversarially_post_train,
             ["curated_clips", "teacher_model", "distilled_model", "teacher_pairs",
              "posttrain_runs_dir", "apt_live_dir",
              "params:posttrain.apt", "params:ray"],
             ["apt_checkpoints", "apt_metrics", "apt_history", "apt_loss_curve"],
             name="adversarially_post_train", tags=["ray"]),
        Node(nodes.sample_one_step_grids,
             ["teacher_model", "distilled_model", "apt_checkpoints", "params:sampling"],
             ["posttrain_samples", "posttrain_speed"], name="sample_one_step_grids"),
    ])
