"""Perf test helpers: tiny tokenizers built here (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = [
    "the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat",
    "load tests measure time to first token inter token latency and throughput of a server",
    "a model answers questions about numbers words colours animals cities rivers and mountains",
    "every request streams tokens one chunk at a time until the answer is complete",
] * 20


def build_tokenizer(path: Path, kind: str = "wordlevel") -> Path:
    """A tokenizer.json trained on CORPUS: `wordlevel` (whitespace words) or `bpe` (byte-level)."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    if kind == "wordlevel":
        tok = tokenizers.Tokenizer(models.WordLevel(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.WordLevelTrainer(special_tokens=["[UNK]", "<s>"])
    else:
        tok = tokenizers.Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=300, special_tokens=["<s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    tok.train_from_iterator(CORPUS, trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return path


@pytest.fixture
def wordlevel_tokenizer(tmp_path: Path) -> Path:
    return build_tokenizer(tmp_path / "wl" / "tokenizer.json", "wordlevel")


@pytest.fixture
def bpe_tokenizer(tmp_path: Path) -> Path:
    return build_tokenizer(tmp_path / "bpe" / "tokenizer.json", "bpe")
