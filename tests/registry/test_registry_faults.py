"""Issue 36's registry cases, each through the path a user takes: a throttled S3 read is an error,
never "absent" (1); concurrent registrations and promotions lose nothing (2); a production pointer
that cannot be resolved is reported by every read (9)."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from seaweed_apt.config.deployment import DeploymentConfig
from seaweed_apt.config.loading import load_parameters
from seaweed_apt.registry.gate import gate_and_promote
from seaweed_apt.registry.registry import ModelRegistry
from seaweed_apt.registry.stores import RegistryError, open_store
from tests.registry.conftest import GENERATION, generator_files, metrics
from tests.registry.test_registry import CONF_DIR, GATE, LINEAGE

N = 8  # concurrent registrations or promotions
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


def _deployment(uri: str, endpoint_url: str | None = None, **registry) -> DeploymentConfig:
    """conf/base's deployment group on this registry (`registry`: fields the test relies on)."""
    raw = load_parameters(CONF_DIR, "base", "parameters_deployment.yml", "deployment")
    raw["registry"] |= {"uri": uri, "endpoint_url": endpoint_url, **registry}
    return DeploymentConfig.model_validate(raw)


def _open(config: DeploymentConfig) -> ModelRegistry:
    from seaweed_apt.cli import open_registry  # what `seaweed-apt` and the stage open

    return open_registry(config)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def _throttle(client, key_part: str, first: int | None = None) -> list[str]:
    """Answer 503 SlowDown, as S3 does to a throttled prefix, to every read (GET, HEAD) whose
    URL holds `key_part` (only the `first` ones when given); returns the operations so
    answered."""
    from botocore.awsrequest import AWSResponse

    answered: list[str] = []

    def handler(request, event_name, **_):
        if request.method in ("GET", "HEAD") and key_part in request.url and \
                (first is None or len(answered) < first):
            answered.append(event_name.rsplit(".", 1)[-1])
            return AWSResponse(request.url, 503, {"content-type": "application/xml"},
                               _Body(b"" if request.method == "HEAD" else SLOW_DOWN))
        return None

    client.meta.events.register("before-send.s3", handler)
    return answered


# -- case 1: an S3 error other than "not found" is an error, never "absent" -----------------------
@pytest.fixture
def s3_production(s3_endpoint, s3_bucket) -> ModelRegistry:
    """An S3 registry holding v0001 in production (FD 300) and a worse candidate v0002 (FD 450:
    better than the trivial baselines' 500 less 5%, far worse than production)."""
    registry = _open(_deployment(f"s3://{s3_bucket}/models", s3_endpoint, max_attempts=2))
    registry.register(generator_files(0), metrics(300.0, 0.3), LINEAGE, GENERATION)
    registry.promote("v0001", "first")
    registry.register(generator_files(1), metrics(450.0, 0.3), LINEAGE, GENERATION)
    return registry


def test_a_throttled_production_lookup_stops_the_gate_instead_of_reading_no_production(
        s3_production):
    registry = s3_production
    answered = _throttle(registry.store.client, "pointers/production.json")
    with pytest.raises(RegistryError, match=r"pointers/production\.json.*SlowDown"):
        gate_and_promote(registry, "v0002", GATE)
    assert len(answered) == 2  # deployment.registry.max_attempts, backing off between them


def test_a_throttled_lookup_that_recovers_is_retried_and_the_gate_compares_with_production(
        s3_production):
    registry = s3_production
    answered = _throttle(registry.store.client, "pointers/production.json", first=1)
    refused = gate_and_promote(registry, "v0002", GATE)
    assert answered and not refused.promote and "production v0001's 300" in refused.reason
    assert registry.pointer()["version"] == "v0001" and registry.pointer()["history"] == []


def test_throttled_listing_and_manifest_reads_are_errors_naming_the_key(s3_production):
    registry = s3_production
    _throttle(registry.store.client, "list-type=2")
    with pytest.raises(RegistryError, match=r"versions/.*SlowDown"):
        registry.versions()
    _throttle(registry.store.client, "v0001/manifest.json")
    with pytest.raises(RegistryError, match=r"versions/v0001/manifest\.json.*SlowDown"):
        registry.get("v0001")


# -- case 2: a version is claimed atomically; the pointer is compare-and-swap ----------------------
class _SlowWrites:
    """A store whose every write waits first, so that concurrent callers all read before any of
    them writes (the interleaving that lost a model in issue 36)."""

    def __init__(self, store, delay_s: float = 0.05) -> None:
        self.store, self.delay_s = store, delay_s

    def __getattr__(self, name):
        call = getattr(self.store, name)
        if name in ("put", "create", "replace_if"):
            def slowed(*args, **kwargs):
                time.sleep(self.delay_s)
                return call(*args, **kwargs)
            return slowed
        return call


def _slow_s3_writes(registry: ModelRegistry, delay_s: float = 0.05) -> ModelRegistry:
    registry.store.client.meta.events.register(
        "before-send.s3.PutObject", lambda **_: time.sleep(delay_s))
    return registry


def _all_at_once(count: int, work) -> list:
    """`work(i)` for i < count on as many threads released together; their results in order."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - reported below with its thread
            errors.append((i, error))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture(scope="module")
def weights() -> list[dict[str, bytes]]:
    return [generator_files(seed) for seed in range(N)]


def _assert_distinct_and_loadable(registry: ModelRegistry, got: list[str], weights) -> None:
    assert sorted(got) == [f"v{i:04d}" for i in range(1, N + 1)], got
    assert registry.versions() == sorted(got)
    for i, version in enumerate(got):
        assert registry.load_files(version) == weights[i], version  # its caller's weights


def _register(registry: ModelRegistry, files: dict[str, bytes]) -> str:
    return registry.register(files, metrics(400.0, 0.2), LINEAGE, GENERATION).version


@pytest.fixture(params=["local", "s3"])
def slow_registry(request, tmp_path) -> ModelRegistry:
    """An empty registry on each store, every write slowed (`_SlowWrites`)."""
    if request.param == "local":
        return ModelRegistry(_SlowWrites(open_store(str(tmp_path / "registry"))))
    endpoint, bucket = request.getfixturevalue("s3_endpoint"), \
        request.getfixturevalue("s3_bucket")
    return _slow_s3_writes(ModelRegistry(open_store(f"s3://{bucket}/m", endpoint)))


def test_concurrent_registrations_get_distinct_loadable_versions(slow_registry, weights):
    registry = slow_registry
    got = _all_at_once(N, lambda i: _register(registry, weights[i]))
    _assert_distinct_and_loadable(registry, got, weights)


def _register_in_process(root: str, files: dict[str, bytes], start, out) -> None:
    start.wait()
    out.put((files["model.safetensors"], _register(ModelRegistry(open_store(root)), files)))


def test_concurrent_registrations_from_processes_on_one_folder(weights, tmp_path):
    root, context = str(tmp_path / "registry"), multiprocessing.get_context("fork")
    start, out = context.Event(), context.Queue()
    processes = [context.Process(target=_register_in_process, args=(root, files, start, out))
                 for files in weights]
    for process in processes:
        process.start()
    start.set()
    results = dict(out.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    got = [results[files["model.safetensors"]] for files in weights]
    _assert_distinct_and_loadable(ModelRegistry(open_store(root)), got, weights)


def test_numbering_skips_a_claimed_version_that_has_no_manifest_yet(tmp_path):
    registry = ModelRegistry(open_store(str(tmp_path / "registry")))
    _register(registry, generator_files(0))
    # Another registration is uploading v0002: its weights are there, its manifest not yet.
    (tmp_path / "registry" / "versions" / "v0002").mkdir()
    (tmp_path / "registry" / "versions" / "v0002" / "model.safetensors").write_bytes(b"partial")
    assert _register(registry, generator_files(1)) == "v0003"
    assert (tmp_path / "registry" / "versions" / "v0002" / "model.safetensors").read_bytes() \
        == b"partial"


def test_concurrent_promotions_keep_every_version_in_the_history(slow_registry):
    registry = slow_registry
    versions = [_register(registry, {"model.safetensors": b"w%d" % i, "config.json": b"{}"})
                for i in range(N)]
    _all_at_once(N, lambda i: registry.promote(versions[i], f"promotion {i}"))
    pointer = registry.pointer()
    assert sorted(pointer["history"] + [pointer["version"]]) == versions, pointer
    # Two rollbacks at once: one goes back one version, the other is refused naming the race.
    outcomes = _all_at_once(2, lambda i: _try(registry.rollback))
    assert sorted(type(o).__name__ for o in outcomes) == ["ProductionMoved", "dict"], outcomes
    assert registry.pointer()["version"] == pointer["history"][-1]
    assert "moved" in str(next(o for o in outcomes if isinstance(o, Exception)))


def _try(call):
    try:
        return call()
    except RegistryError as error:
        return error


def test_concurrent_gates_decide_against_the_production_they_replace(tmp_path):
    # v0002 (FD 300) and v0003 (FD 350) both beat production v0001 (FD 400); v0003 loses to
    # v0002. Whichever gate runs first, the end state is the one a sequential run gives: v0002.
    registry = ModelRegistry(_SlowWrites(open_store(str(tmp_path / "registry"))))
    for seed, fd in enumerate((400.0, 300.0, 350.0)):
        registry.register({"model.safetensors": b"w%d" % seed, "config.json": b"{}"},
                          metrics(fd, 0.3), LINEAGE, GENERATION)
    registry.promote("v0001", "first")
    _all_at_once(2, lambda i: gate_and_promote(registry, ("v0002", "v0003")[i], GATE))
    assert registry.production() == "v0002"
    assert "v0001" in registry.pointer()["history"]


# -- case 9: a production pointer that cannot be resolved is reported by every read -------------
def _cli(*argv: str, capsys) -> tuple[int, str, str]:
    from seaweed_apt.cli import main

    code = main([*argv, "--conf-dir", str(CONF_DIR)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def dangling(tmp_path) -> Path:
    """A local registry whose production pointer names v0002, whose manifest is gone."""
    registry = ModelRegistry(open_store(str(tmp_path / "registry")))
    for seed in range(3):
        _register(registry, generator_files(seed))
    registry.promote("v0001", "first")
    registry.promote("v0002", "second")
    (tmp_path / "registry" / "versions" / "v0002" / "manifest.json").unlink()
    return tmp_path / "registry"


def test_versions_reports_a_production_pointer_it_cannot_resolve(dangling, capsys):
    code, out, err = _cli("versions", "--registry", str(dangling), capsys=capsys)
    assert code == 1
    assert "v0001  FD" in out and "v0003  FD" in out  # the others are still listed
    assert "v0002 (production)  incomplete" in out
    assert "production" in err and "v0002" in err and "no manifest" in err and "rollback" in err


def test_lineage_gate_and_serving_name_the_unresolvable_pointer(dangling, capsys):
    code, _, _ = _cli("lineage", "--registry", str(dangling), capsys=capsys)
    assert code != 0
    registry = ModelRegistry(open_store(str(dangling)))
    with pytest.raises(RegistryError, match=r"production pointer .*v0002.*no manifest"):
        gate_and_promote(registry, "v0003", GATE)
    with pytest.raises(RegistryError, match=r"production pointer .*v0002.*no manifest"):
        registry.production()  # what the endpoint resolves when it is given no version
    # The way out that the message names: roll back to the version before it.
    assert _cli("rollback", "--no-deploy", "--registry", str(dangling), capsys=capsys)[0] == 0
    assert registry.production() == "v0001"


def test_versions_lists_a_version_whose_registration_has_not_finished(tmp_path, capsys):
    registry = ModelRegistry(open_store(str(tmp_path / "registry")))
    _register(registry, generator_files(0))
    (tmp_path / "registry" / "versions" / "v0002").mkdir()
    (tmp_path / "registry" / "versions" / "v0002" / "model.safetensors").write_bytes(b"partial")
    code, out, _ = _cli("versions", "--registry", str(tmp_path / "registry"), capsys=capsys)
    assert code == 0  # not production: it may still be uploading
    assert out.splitlines()[1].startswith("v0002  incomplete")


# -- what a registry object may contain ---------------------------------------------------------
def test_a_manifest_or_pointer_naming_objects_outside_the_registry_layout_is_refused(tmp_path):
    import hashlib

    root = tmp_path / "registry"
    registry = ModelRegistry(open_store(str(root)))
    _register(registry, {"model.safetensors": b"w", "config.json": b"{}"})
    registry.promote("v0001", "first")
    outside = root / "pointers" / "production.json"
    manifest_path = root / "versions" / "v0001" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"] = {"../../pointers/production.json":
                         hashlib.sha256(outside.read_bytes()).hexdigest()}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(RegistryError, match="outside its version"):
        registry.load_files("v0001")
    outside.write_text(json.dumps({"version": "v0001\n", "history": []}))
    with pytest.raises(RegistryError, match="production pointer .*no manifest"):
        registry.production()
