"""deployment: register -> promotion gate -> Serve config -> deploy + smoke test."""

from kedro.pipeline import Node, Pipeline

from pipelines.deployment import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(nodes.register_candidate,
             ["apt_best_model", "evaluation_metrics", "dvc_lock", "parameters",
              "params:deployment"],
             "deployment_candidate", name="register_candidate"),
        Node(nodes.gate_candidate, ["deployment_candidate", "params:deployment"],
             "gate_decision", name="gate_candidate"),
        Node(nodes.write_serve_config, ["gate_decision", "params:deployment"], "serve_config",
             name="write_serve_config"),
        Node(nodes.deploy_endpoint, ["serve_config", "params:deployment"],
             ["deployment_record", "deployment_smoke_video"], name="deploy_endpoint"),
    ])
