import numpy as np
import pytest
import torch

from seaweed_apt.text.batch import TextBatch


def caption_table(rows: int = 5, length: int = 4, width: int = 3) -> TextBatch:
    """A table as curation stores it: fp16 tokens, uint8 mask, float32 pooled."""
    tokens = torch.arange(rows * length * width, dtype=torch.float16).view(rows, length, width)
    mask = (torch.arange(length)[None] <= torch.arange(rows)[:, None]).to(torch.uint8)
    pooled = torch.arange(rows * width, dtype=torch.float32).view(rows, width)
    return TextBatch(tokens, mask, pooled)


@pytest.mark.parametrize("rows", [[3, 0, 3], np.array([3, 0, 3]), torch.tensor([3, 0, 3])])
def test_select_takes_the_rows_in_order_and_keeps_dtypes(rows):
    table = caption_table()
    picked = table.select(rows)
    assert len(picked) == 3 and picked.tokens.dtype == torch.float16
    assert torch.equal(picked.tokens[0], table.tokens[3])
    assert torch.equal(picked.mask[1], table.mask[0])
    assert torch.equal(picked.pooled[2], table.pooled[3])


def test_select_takes_a_mask_or_a_slice():
    table = caption_table()
    assert torch.equal(table.select(torch.tensor([True, False, False, False, True])).pooled,
                       table.pooled[[0, 4]])
    assert torch.equal(table.select(slice(1, 3)).tokens, table.tokens[1:3])


def test_select_of_a_read_only_array_copies_it():
    rows = np.array([1, 2])
    rows.setflags(write=False)
    assert len(caption_table().select(rows)) == 2


def test_float_gives_what_the_networks_take():
    text = caption_table().select([1]).float()
    assert text.tokens.dtype == torch.float32 and text.pooled.dtype == torch.float32
    assert text.mask.dtype == torch.bool and text.mask[0].tolist() == [True, True, False, False]


def test_from_arrays_reads_nested_lists_as_a_config_carries_them():
    table = caption_table().select([2]).float()
    again = TextBatch.from_arrays(table.tokens.tolist(), table.mask.int().tolist(),
                                  table.pooled.tolist())
    for a, b in zip((again.tokens, again.mask, again.pooled),
                    (table.tokens, table.mask, table.pooled), strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
