"""The random baseline is reproducible per clip, whatever the batching."""

from __future__ import annotations

import torch

from bsx.plugins import build


def test_same_clip_same_map_in_any_batch_and_seed_changes_it() -> None:
    x = torch.randn(4, 1, 8, 12, generator=torch.Generator().manual_seed(0))
    t = torch.zeros(4, dtype=torch.long)
    m = build("method", "random", None)
    whole = m.attribute(x, t)
    parts = torch.cat([m.attribute(x[2:], t[2:]), m.attribute(x[:2], t[:2])])
    assert torch.equal(whole, torch.cat([parts[2:], parts[:2]]))
    assert not torch.equal(whole[0], whole[1])
    other = build("method", "random", None, options={"seed": 1}).attribute(x, t)
    assert not torch.equal(whole, other)
    assert whole.shape == (4, 8, 12) and float(whole.min()) >= 0 and float(whole.max()) < 1
