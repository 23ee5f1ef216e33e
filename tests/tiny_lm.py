"""Tiny causal language models and tokenizers, built offline, for the train and hf: backend tests.

Nothing is downloaded: a byte-level BPE is trained on a few lines of the test's own data and a
randomly initialised model of a few hundred thousand parameters is saved next to it like a hub
model. Each test module keeps its own fixture (its corpus, template and sizes differ); what is the
same lives here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """A tiny model gains nothing from threads, and two threads next to a busy process thrash (70x slower)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def bpe_tokenizer(corpus: Sequence[str], *, vocab_size: int, chat_template: str) -> Any:
    """A byte-level BPE trained on `corpus`, with ChatML's special tokens and `chat_template`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        list(corpus),
        trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=chat_template)


def save_tiny_lm(folder: Path, tokenizer: Any, *, arch: str = "llama", seed: int = 0, **config: Any) -> Path:
    """Save `tokenizer` and a random `arch` (llama or qwen2) model sized by `config` into `folder`.

    Defaults: 2 layers, hidden 64, 4 heads (2 for keys/values), 512 positions. `initializer_range`
    wider than the usual 0.02 lets a LoRA behind a frozen random LM head still make a token confident.
    """
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, set_seed

    config_class, model_class = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[arch]
    sizes: dict[str, Any] = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        **config,
    }
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    set_seed(seed)
    made = config_class(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **sizes,
    )
    model_class(made).save_pretrained(folder)
    return folder
