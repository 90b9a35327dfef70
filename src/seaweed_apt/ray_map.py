"""Batch work fanned out over Ray tasks: one task per share, each with a worker's resources
(`ray.num_workers` tasks at once on `cpus_per_worker` CPUs and `threads_per_worker` torch threads,
a GPU each with `use_gpu`), the shared inputs put in the object store once.

On 2 cores two 1-thread tasks drew the teacher pairs 1.05x as fast as one 2-thread process
(docs/benchmarks.md, "Teacher pairs on Ray tasks"); on a cluster the tasks spread over its nodes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from seaweed_apt.config.ray import RayConfig
from seaweed_apt.ray_runtime import ensure_ray

logger = logging.getLogger(__name__)


def _run_share(work: Callable[[Any, Any], Any], threads: int, shared: Any,
               share: Any) -> tuple[str, Any]:
    """(the node it ran on, `work(shared, share)`)."""
    import ray
    import torch

    torch.set_num_threads(threads)
    return ray.get_runtime_context().get_node_id(), work(shared, share)


def map_shares(work: Callable[[Any, Any], Any], shared: Any, shares: Sequence[Any],
               ray_config: RayConfig, progress: str | None = None) -> list[Any]:
    """`[work(shared, share) for share in shares]`, each call a Ray task; results in the order of
    `shares`. `work` must be importable by the workers (a module-level function of the package).
    `progress`: a progress bar of that name, a tick per share done. Logs how many nodes the
    shares ran on (a cluster run shows whether its work spread).

    Raises:
        whatever a task raised (Ray's `RayTaskError` wraps it and names the task).
    """
    import ray

    ensure_ray(ray_config)
    task = ray.remote(num_cpus=ray_config.cpus_per_worker,
                      num_gpus=1 if ray_config.use_gpu else 0)(_run_share)
    shared_ref = ray.put(shared)
    refs = [task.remote(work, ray_config.threads_per_worker, shared_ref, share)
            for share in shares]
    if not progress:
        ran = ray.get(refs)
    else:
        from tqdm.auto import tqdm

        finished, pending = {}, list(refs)
        with tqdm(total=len(refs), desc=progress, unit="share") as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                finished[done[0]] = ray.get(done[0])  # a failed share raises here, at once
                bar.update(1)
        ran = [finished[ref] for ref in refs]
    nodes = {node for node, _ in ran}
    logger.info("%s: %d share(s) ran on %d node(s)", progress or work.__name__, len(ran),
                len(nodes))
    return [result for _, result in ran]


def split_evenly(count: int, parts: int, multiple: int = 1) -> list[slice]:
    """`parts` contiguous slices of range(count), each a multiple of `multiple` long except the
    last; fewer when `count` is small. Raises ValueError on parts < 1."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    size = -(-count // parts)
    size = max(multiple, -(-size // multiple) * multiple)
    return [slice(begin, min(begin + size, count)) for begin in range(0, count, size)]
