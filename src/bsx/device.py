"""Pick the torch device from a user's word: auto, cpu, cuda, cuda:N."""

from __future__ import annotations

import torch

from bsx.errors import BsxError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' -> cuda if available, else cpu. Asking for CUDA without it is a BsxError."""
    if isinstance(name, torch.device):
        name = str(name)
    key = name.strip().lower()
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(key)
    except RuntimeError:
        raise BsxError(f"no device '{name}'; accepted: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BsxError(f"device '{name}' asked for, but CUDA is not available here; use cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BsxError(
                f"device '{name}' asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) exist"
            )
    elif dev.type != "cpu":
        raise BsxError(f"no device '{name}'; accepted: auto, cpu, cuda, cuda:N")
    return dev


def device_of(net: torch.nn.Module) -> torch.device:
    """Where a model in memory lives (the CPU for one without parameters)."""
    return next(iter(net.parameters()), torch.empty(0)).device
