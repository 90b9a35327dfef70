"""captions.csv rows read into the raw index: a file listed twice (issue 36, case 6)."""

import logging

from seaweed_apt.data.raw_index import index_video_folder


def _folder(tmp_path, captions: str, *videos: str):
    for name in videos:
        (tmp_path / name).write_bytes(b"")  # indexing reads names, not bytes
    (tmp_path / "captions.csv").write_text(captions)
    return tmp_path


def test_rows_that_differ_in_any_field_conflict_naming_their_lines(tmp_path):
    folder = _folder(tmp_path, (
        "file,caption,split_hint,licence\n"
        'a.mp4,"a caption\nover two lines",train,CC0\n'
        "b.mp4,a dog,,CC0\n"
        "\n"
        "a.mp4,\"a caption\nover two lines\",train,CC-BY\n"), "a.mp4", "b.mp4")
    index = index_video_folder(folder, "mine").set_index("file")
    assert index.loc["a.mp4", "caption"] == ""
    assert index.loc["a.mp4", "caption_error_reason"] == "caption_conflict"
    detail = index.loc["a.mp4", "caption_error"]
    # Lines as an editor shows them: the quoted caption's line break and the blank line count.
    assert "lines 2 and 6" in detail and "licence 'CC0' (line 2), 'CC-BY' (line 6)" in detail
    assert (index.loc["b.mp4", "caption"], index.loc["b.mp4", "caption_error"]) == ("a dog", "")
    assert index.loc["b.mp4", "caption_error_reason"] == ""


def test_rows_alike_once_cleaned_are_one_caption_and_a_warning(tmp_path, caplog):
    folder = _folder(tmp_path, (
        "file,caption,metadata\n"
        "a.mp4,a dog  running,\n"
        "a.mp4,a dog running,{}\n"), "a.mp4")
    with caplog.at_level(logging.WARNING, logger="seaweed_apt.data.raw_index"):
        index = index_video_folder(folder, "mine")
    assert list(index["caption"]) == ["a dog running"]
    assert list(index["caption_error"]) == [""]
    assert any("a.mp4" in r.getMessage() and "lines 2 and 3" in r.getMessage()
               for r in caplog.records)
