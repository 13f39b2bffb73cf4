"""One tiny random-weight Llama config for the HF tests (torch and transformers imported by the caller)."""

from __future__ import annotations

from typing import Any


def llama_config(transformers: Any, vocab_size: int, **overrides: Any) -> Any:
    """A 2-layer Llama of hidden size 32 (4 heads, 2 KV heads, 512 positions, pad id 0); ``overrides`` change any field."""
    fields = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    fields.update(overrides)
    return transformers.LlamaConfig(**fields)
