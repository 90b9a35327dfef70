"""evaluation: evaluator -> APT checkpoints measured on validation prompts -> the served one
chosen there -> it and the reference systems measured once on test prompts -> its speed-up over
the teacher, timed side by side -> the report."""

from kedro.pipeline import Node, Pipeline

from pipelines.evaluation import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(nodes.train_evaluator,
             ["curated_clips", "evaluation_cache_dir", "params:evaluation"],
             ["evaluator_model", "evaluator_record"], name="train_evaluator"),
        Node(nodes.measure_validation,
             ["curated_clips", "teacher_model", "distilled_model", "apt_checkpoints",
              "evaluator_model", "evaluation_cache_dir", "params:evaluation", "params:ray"],
             "validation_systems", name="measure_validation", tags=["ray"]),
        Node(nodes.select_apt_checkpoint,
             ["validation_systems", "apt_checkpoints", "params:evaluation"],
             ["apt_best_model", "apt_selection"], name="select_apt_checkpoint"),
        Node(nodes.measure_systems,
             ["curated_clips", "teacher_model", "distilled_model", "apt_best_model",
              "apt_selection", "evaluator_model", "evaluation_cache_dir", "params:evaluation",
              "params:ray"],
             ["evaluation_systems", "evaluation_clips"], name="measure_systems", tags=["ray"]),
        Node(nodes.time_served_against_teacher,
             ["curated_clips", "teacher_model", "apt_best_model", "params:evaluation"],
             "evaluation_speed", name="time_served_against_teacher"),
        Node(nodes.report_evaluation,
             ["evaluation_systems", "evaluation_clips", "validation_systems", "apt_selection",
              "evaluation_speed", "evaluator_record",
              "pretrain_history", "distill_history", "apt_history", "teacher_model",
              "distilled_model", "apt_checkpoints", "curated_clips", "params:evaluation",
              "params:sampling"],
             ["evaluation_metrics", "evaluation_report"], name="report_evaluation"),
    ])
