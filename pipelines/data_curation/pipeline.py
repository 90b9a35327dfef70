"""data_curation: raw videos -> probed, decoded, cut, captioned, validated clip shards."""

from kedro.pipeline import Node, Pipeline

from pipelines.data_curation import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(nodes.probe_raw_videos, ["raw_videos", "params:curation", "params:ray"],
             "raw_video_probes", name="probe_raw_videos", tags=["ray"]),
        Node(nodes.cut_candidate_clips, ["raw_videos", "raw_video_probes", "params:curation",
                                         "params:ray", "candidate_clips_dir"],
             ["candidate_clips", "curation_rejects"], name="cut_candidate_clips", tags=["ray"]),
        Node(nodes.split_clips_by_source, ["candidate_clips", "params:split"], "split_clips",
             name="split_clips_by_source"),
        Node(nodes.embed_captions, ["split_clips", "params:text_encoder"],
             ["embedded_clips", "caption_table"], name="embed_captions"),
        Node(nodes.validate_clip_manifest,
             ["embedded_clips", "params:curation", "params:quality_gate"],
             ["gated_clips", "gate_rejects", "quality_gate_report", "gx_data_docs"],
             name="validate_clip_manifest"),
        Node(nodes.enforce_quality_gate, ["gated_clips", "quality_gate_report", "quarantine"],
             "validated_clips", name="enforce_quality_gate"),
        Node(nodes.write_clip_shards, ["validated_clips", "caption_table",
                                       "candidate_clips_dir", "params:curation"],
             "curated_clips", name="write_clip_shards"),
        Node(nodes.quarantine_rejects, ["curation_rejects", "gate_rejects"], "quarantine",
             name="quarantine_rejects"),
        Node(nodes.summarize_curation, ["raw_videos", "curated_clips", "quarantine"],
             "curation_summary", name="summarize_curation"),
    ])
