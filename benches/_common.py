"""Helpers shared by the benchmark scripts (run them as `python benches/X.py`)."""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from typing import Any


def try_import(name: str) -> Any:
    """Import an optional peer quietly; None (and a note) when unavailable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return __import__(name)
    except Exception as e:  # noqa: BLE001 - report any import failure, keep going
        print(f"note: {name} unavailable ({type(e).__name__}: {e}); its rows are skipped", file=sys.stderr)
        return None


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_info() -> "tuple[str, int]":
    """(CPU model name, cores this process may use)."""
    import os
    import platform

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return cpu, usable


def random_llama_config(vocab_size: int, hidden: int, layers: int, kv_divisor: int, **extra: Any) -> Any:
    """A Llama config of the given size for random-weight benches (heads of 64; ``hidden // kv_divisor`` KV heads)."""
    import transformers

    return transformers.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // kv_divisor),
        pad_token_id=0,
        **extra,
    )
