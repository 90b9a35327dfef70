"""Stage A, the teacher: a rectified-flow video DiT trained by the training engine
(`training/`), as post-training's phases are in `apt/`. `pretrain.py` runs the stage end to end;
`pretrain_phase.py` is its step."""
