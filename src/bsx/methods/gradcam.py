"""Grad-CAM (Selvaraju et al. 2017, ICCV) on the model's last conv block, via Captum."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from bsx.methods.base import check_batch, preserved
from bsx.methods.options import GradCamOptions
from bsx.methods.waveform import require_kind
from bsx.models.base import last_conv_block


class GradCam:
    """Grad-CAM on `model.cam_layer` (bsx.models.base.last_conv_block), upsampled to the input.

    ReLU: applied by default, as in the published Grad-CAM (only evidence FOR the class is
    kept); Captum's LayerGradCam keeps the sign unless relu_attributions=True, so
    `relu=False` gives Captum's signed map. The coarse map (B, 1, h, w) is upsampled
    bilinearly to (128, T), as the paper did for its 128 x 134 input.
    """

    sign = "positive"  # windows and localisation keep the positive evidence

    def __init__(self, model: nn.Module, options: GradCamOptions | None = None) -> None:
        require_kind(model, "logmel", "gradcam")
        self.model = model
        self.options = options or GradCamOptions()
        self.layer = (
            model.get_submodule(self.options.layer) if self.options.layer
            else last_conv_block(model)
        )

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        check_batch(batch, target)
        return self._cam(self.model, batch, target.long())

    def _cam(self, forward: Callable[[Tensor], Tensor], batch: Tensor, target: Tensor) -> Tensor:
        from captum.attr import LayerGradCam

        with preserved(self.model):
            cam = LayerGradCam(forward, self.layer).attribute(
                batch.detach().clone().requires_grad_(True), target=target,
                relu_attributions=self.options.relu,
            )
        cam = cam.detach()
        if cam.ndim == 3:  # a layer with (B, C, T) output: one row per frame
            cam = cam.unsqueeze(2)
        up = F.interpolate(cam, size=batch.shape[-2:], mode="bilinear", align_corners=False)
        return up[:, 0].to(batch.device)
