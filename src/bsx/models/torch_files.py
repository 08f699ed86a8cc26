"""Reading PyTorch files a user brings (.pt checkpoints, epoch files): tensors only
(weights_only), and one sentence for a file that cannot be read or is refused for safety."""

from __future__ import annotations

import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

from bsx.errors import BadCheckpoint


def _tensor_global(name: str) -> bool:
    """Whether a pickle global is one torch.save of a state dict names (rebuild functions,
    storages, dtypes, OrderedDict), not an object whose loading would run other code."""
    return (
        name.startswith(("torch._utils.", "torch._tensor.", "torch.storage."))
        or (name == "collections.OrderedDict")
        or (name.startswith("torch.") and name.count(".") == 1)
    )


# what torch.load raises for a file that is not a readable PyTorch file: the zip reader's
# RuntimeError, the legacy unpickler's Key/Index/EOFError on foreign bytes, an unreadable file
_UNREADABLE = (
    RuntimeError,
    KeyError,
    IndexError,
    EOFError,
    ValueError,
    OSError,
    zipfile.BadZipFile,
)


def _pickle_bytes(path: Path) -> bytes:
    """The pickle inside a torch.save zip (…/data.pkl), or the file itself (legacy format)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith("data.pkl")]
            return z.read(names[0]) if names else b""
    return path.read_bytes()


def _looks_like_torch(path: Path) -> bool:
    """A zip (torch.save's format) or a pickle (the legacy one: it opens with PROTO, 0x80);
    other bytes (text, audio, a cut-off file) are never handed to the unpickler."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head.startswith(b"PK") or head[:1] == b"\x80"


def foreign_globals(path: Path) -> list[str]:
    """The Python objects (module.name) beyond tensors that unpickling `path` would build or
    call, read from its opcodes without running any; [] for none or an unparsable pickle."""
    try:
        data = _pickle_bytes(path)
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    found: list[str] = []
    strings: list[str] = []
    try:
        for op, arg, _pos in pickletools.genops(data):
            if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                found.append(arg.replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str):
                strings.append(arg)
    except (ValueError, EOFError, IndexError):  # cut short or not a pickle: what was read counts
        pass
    return [g for g in dict.fromkeys(found) if not _tensor_global(g)]


def load_tensors(
    path: Path, what: str = "PyTorch state dict (a .pt/.pth file of tensors)", **kwargs: Any
) -> Any:
    """torch.load(path, weights_only=True); BadCheckpoint naming the file when it cannot be read,
    and a refusal (nothing run) when its pickle would build other Python objects."""
    import torch

    if not _looks_like_torch(path):
        raise BadCheckpoint(f"{path}: not a readable {what}, or cut short")
    try:
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError:
        risky = foreign_globals(path)
        if risky:
            shown = ", ".join(risky[:3]) + (" ..." if len(risky) > 3 else "")
            raise BadCheckpoint(
                f"{path}: refused for safety, nothing was run: it would run Python code "
                f"({shown}) when loaded, and bsx loads tensors only; re-save the weights "
                "as a state dict of tensors"
            ) from None
        raise BadCheckpoint(f"{path}: not a readable {what}, or cut short") from None
    except _UNREADABLE:
        raise BadCheckpoint(f"{path}: not a readable {what}, or cut short") from None
