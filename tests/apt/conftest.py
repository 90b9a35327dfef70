"""Fixtures of the post-training tests."""

import pytest


@pytest.fixture(scope="session")
def four_teacher_pairs(pretrained_root, tmp_path_factory) -> str:
    """A file of 4 teacher pairs of the pretrained test teacher, drawn once for the session
    as the posttrain node draws them (on Ray tasks)."""
    from tests.apt.test_consistency import _pairs_file

    return _pairs_file(pretrained_root, tmp_path_factory.mktemp("pairs"), 4)
