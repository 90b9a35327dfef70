import pytest

from seaweed_apt.ray_map import map_shares, split_evenly


def test_split_evenly_cuts_at_multiples_and_covers_every_index():
    parts = split_evenly(3072, 2, 32)
    assert [(p.start, p.stop) for p in parts] == [(0, 1536), (1536, 3072)]
    parts = split_evenly(40, 2, 32)
    assert [(p.start, p.stop) for p in parts] == [(0, 32), (32, 40)]
    assert [(p.start, p.stop) for p in split_evenly(5, 2, 32)] == [(0, 5)]
    assert [(p.start, p.stop) for p in split_evenly(7, 3)] == [(0, 3), (3, 6), (6, 7)]
    assert split_evenly(0, 2) == []
    with pytest.raises(ValueError, match="parts must be >= 1"):
        split_evenly(4, 0)


def _scaled(shared: dict, share: list[int]) -> list[int]:
    return [shared["factor"] * x for x in share]


def test_map_shares_runs_each_share_as_a_ray_task_in_order(ray_local):
    from seaweed_apt.config.ray import RayConfig
    from tests.helpers import base_config

    ray_config = base_config(RayConfig, "ray", num_workers=2)
    assert map_shares(_scaled, {"factor": 3}, [[1, 2], [3], []], ray_config) == [[3, 6], [9], []]
