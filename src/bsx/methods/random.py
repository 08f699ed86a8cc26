"""A random attribution map: the sanity floor every leaderboard needs (Adebayo et al. 2018)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor, nn

from bsx.methods.base import check_batch, content_mask
from bsx.methods.options import RandomOptions
from bsx.methods.waveform import check_waveform_batch


class RandomMap:
    """Seeded uniform noise in [0, 1), (B, 128, T); ignores the model and the target.

    Each clip's noise is seeded by the option seed and a fingerprint of the clip's input (its
    shape and its mean and standard deviation rounded to 1e-3), so a clip gets the same map
    whatever batch it is in and in whatever order: a resumed or re-batched run reproduces an
    uninterrupted one. Not the raw bytes: a last-bit difference between numpy or librosa
    builds changed every map (and the pointing game of random by 0.1 on 37 clips). Noise is
    drawn on the CPU and moved.

    Inside content only (attribute_content, which the engine calls): the front-end pads a
    short clip (2.8 s of speech to 5 s), and noise spread over the padding put ~44% of the
    random windows there, so every score partly measured "avoids padding" (issue 22). Told
    each clip's content frames, the noise is the same draw with the padding set to 0: the
    fair control (docs/controls.md). Plain attribute (no content known) is noise everywhere.
    """

    sign = "positive"  # windows and localisation keep the positive evidence

    def __init__(self, model: nn.Module | None = None, options: RandomOptions | None = None):
        self.options = options or RandomOptions()

    def _clip_seed(self, clip: Tensor) -> int:
        x = clip.detach().double().cpu().numpy()
        data = repr((x.shape, np.round([x.mean(), x.std()], 3).tolist())).encode()
        digest = hashlib.blake2b(data, digest_size=8, key=str(self.options.seed).encode())
        return int.from_bytes(digest.digest(), "little") & ((1 << 63) - 1)

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) noise out, on batch.device; a (B, N)
        waveform batch (the input says the kind: this method has no model) gets (B, N)."""
        if batch.ndim == 2:
            check_waveform_batch(batch, target)
            b, shape = batch.shape[0], tuple(batch.shape[1:])
        else:
            check_batch(batch, target)
            b, shape = batch.shape[0], tuple(batch.shape[2:])
        noise = torch.stack([
            torch.rand(shape, generator=torch.Generator().manual_seed(self._clip_seed(x)),
                       dtype=torch.float32)
            for x in batch
        ]) if b else torch.zeros((0, *shape))
        return noise.to(device=batch.device, dtype=batch.dtype)

    def attribute_content(self, batch: Tensor, target: Tensor, content: np.ndarray) -> Tensor:
        """attribute, with 0 outside each row's content frames [lo, hi) (the last axis)."""
        noise = self.attribute(batch, target)
        keep = content_mask(content, noise.shape[0], noise.shape[-1])
        shape = (noise.shape[0],) + (1,) * (noise.ndim - 2) + (noise.shape[-1],)
        mask = torch.as_tensor(keep.reshape(shape), device=noise.device)
        return noise * mask.to(noise.dtype)
