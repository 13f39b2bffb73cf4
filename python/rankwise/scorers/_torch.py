"""Shared helpers of the torch-based scorers (imported only when one is built)."""

from __future__ import annotations

import os
from typing import Any, Tuple

from .._errors import InvalidInputError


def require_torch() -> Tuple[Any, Any]:
    """(torch, transformers), or a clear error naming the extra to install."""
    try:
        import torch
        import transformers
    except ImportError as e:
        raise ImportError(
            f"this scorer needs torch and transformers ({e.name} is missing): pip install 'rankwise[hf]'"
        ) from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def pick_device(torch: Any, device: str) -> Any:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InvalidInputError(f"device: {device!r} is not a torch device ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("device: CUDA was asked for but torch sees no GPU")
    return dev


def pick_dtype(torch: Any, dtype: str, device: Any) -> Any:
    """ "auto": bf16 on a CUDA device that supports it, else fp16 on CUDA, fp32 on CPU."""
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype not in table:
        raise InvalidInputError(f"dtype: expected auto, float32, bfloat16 or float16, got {dtype!r}")
    return table[dtype]


def check_model_path(model_or_path: str) -> str:
    """The path or hub id as a string; a path that does not exist is an
    error here rather than a confusing hub lookup."""
    p = os.fspath(model_or_path)
    if os.path.exists(os.path.expanduser(p)):
        return os.path.expanduser(p)
    hub_like = p.count("/") == 1 and not p.startswith((".", "/", "~"))
    if not hub_like:
        raise InvalidInputError(f"model: {p!r} does not exist")
    return p


def load_error(what: str, name: str, e: Exception) -> InvalidInputError:
    return InvalidInputError(
        f"model: could not load {what} from {name!r}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    )


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16), where
    bf16 autocast is 2-3x faster than fp32 (Linux only; False elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"amx_bf16", "avx512_bf16"} & set(flags.split()))
