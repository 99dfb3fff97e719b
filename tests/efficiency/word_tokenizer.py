"""A real `tokenizers` tokenizer.json for the thinking tests and `bench/think_eval_speed.py`."""

from __future__ import annotations

from pathlib import Path


def word_tokenizer(folder: Path) -> Path:
    """Write a whitespace pre-tokenizer, word-level tokenizer.json into `folder` and return its path."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    path = folder / "tokenizer.json"
    tokenizer.save(str(path))
    return path
