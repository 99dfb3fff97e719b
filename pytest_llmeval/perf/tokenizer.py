"""Tokenizers for exact prompt lengths and for counting tokens when the server sends no `usage`.

`load_tokenizer(path)` reads a local Hugging Face tokenizer: a `tokenizer.json` file, or a folder
holding one (read with the `tokenizers` package, no network); a folder without `tokenizer.json`
(sentencepiece only) is read with `transformers.AutoTokenizer(local_files_only=True)` when that is
installed. Nothing is ever downloaded: a missing path or package is a ConfigError naming the fix.

`exact_prompt(...)` builds a text of exactly N tokens under that tokenizer: random ids are
decoded, re-encoded and corrected until the count is N (decode/encode does not always round-trip,
e.g. byte-level BPE merges across boundaries). The tokens a server's chat template adds come on top.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError

MAX_FIX_ROUNDS = 40
MAX_CANDIDATES = 20000  # vocabulary ids screened for round-trip stability


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    def candidate_ids(self) -> list[int]: ...


class HFTokenizer:
    """A `tokenizers.Tokenizer` (Rust): encode/decode without special tokens."""

    def __init__(self, tokenizer: Any, name: str) -> None:
        self._tok = tokenizer
        self.name = name
        self._candidates: list[int] | None = None

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def encode_offsets(self, text: str) -> list[tuple[int, int]]:
        """Each token's (start, end) character span in `text`, in order (no special tokens)."""
        return [tuple(span) for span in self._tok.encode(text, add_special_tokens=False).offsets]

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=True))

    def candidate_ids(self) -> list[int]:
        """Ordinary vocabulary ids whose text is printable and encodes back to the same single id:
        random prompts made of them are real-looking text and re-encode predictably."""
        if self._candidates is None:
            vocab: dict[str, int] = self._tok.get_vocab(with_added_tokens=False)
            special = {int(i) for i in self._special_ids()}
            ids = sorted(i for i in vocab.values() if i not in special)
            rng = random.Random(0)
            if len(ids) > MAX_CANDIDATES:
                ids = sorted(rng.sample(ids, MAX_CANDIDATES))
            texts = [self._tok.decode([i], skip_special_tokens=True) for i in ids]
            encoded = self._tok.encode_batch(texts, add_special_tokens=False)
            chosen = [
                i
                for i, text, enc in zip(ids, texts, encoded, strict=True)
                if text.strip() and text.isprintable() and list(enc.ids) == [i]
            ]
            self._candidates = chosen or ids
        return self._candidates

    def _special_ids(self) -> list[int]:
        try:
            return [int(i) for i, token in self._tok.get_added_tokens_decoder().items() if token.special]
        except AttributeError:  # old `tokenizers`
            return []


class TransformersTokenizer(HFTokenizer):
    """`transformers.AutoTokenizer` for folders without tokenizer.json."""

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False))

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def encode_offsets(self, text: str) -> list[tuple[int, int]]:
        encoded = self._tok(text, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(span) for span in encoded["offset_mapping"]]

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids, skip_special_tokens=True))

    def candidate_ids(self) -> list[int]:
        if self._candidates is None:
            special = set(getattr(self._tok, "all_special_ids", []))
            ids = [i for i in range(int(self._tok.vocab_size)) if i not in special]
            rng = random.Random(0)
            if len(ids) > MAX_CANDIDATES:
                ids = sorted(rng.sample(ids, MAX_CANDIDATES))
            chosen = []
            for i in ids:
                text = self._tok.decode([i], skip_special_tokens=True)
                if text.strip() and text.isprintable() and self.encode(text) == [i]:
                    chosen.append(i)
            self._candidates = chosen or ids
        return self._candidates


def load_tokenizer(path: str | Path) -> HFTokenizer:
    """Read a local tokenizer (see the module docstring). Raises ConfigError."""
    location = Path(path).expanduser()
    if not location.exists():
        raise ConfigError(
            f"tokenizer {str(path)!r} does not exist; pass a local Hugging Face tokenizer folder or a "
            "tokenizer.json file (--llm-tokenizer PATH; nothing is downloaded)"
        )
    file = location / "tokenizer.json" if location.is_dir() else location
    if file.is_file() and file.suffix == ".json":
        try:
            from tokenizers import Tokenizer as RustTokenizer
        except ImportError:
            raise ConfigError(
                "reading a tokenizer.json needs the 'tokenizers' package: pip install tokenizers"
            ) from None
        try:
            return HFTokenizer(RustTokenizer.from_file(str(file)), str(file))
        except Exception as exc:  # the Rust side raises plain Exception subclasses
            raise ConfigError(f"cannot read tokenizer {str(file)!r}: {exc}") from None
    if location.is_dir():
        try:
            from transformers import AutoTokenizer  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError(
                f"{str(location)!r} has no tokenizer.json; pip install transformers to read other tokenizer "
                "formats, or point --llm-tokenizer at a tokenizer.json"
            ) from None
        try:
            tok = AutoTokenizer.from_pretrained(str(location), local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"cannot read the tokenizer in {str(location)!r}: {exc}") from None
        return TransformersTokenizer(tok, str(location))
    raise ConfigError(f"tokenizer {str(path)!r} is neither a tokenizer.json file nor a folder holding one")


def exact_prompt(
    tokenizer: Tokenizer, length: int, rng: random.Random, prefix_ids: list[int] | None = None
) -> tuple[str, int]:
    """A text of `length` tokens (prefix included) and its real token count (equal to `length`
    unless the tokenizer cannot produce that count at all, which no real tokenizer does)."""
    candidates = tokenizer.candidate_ids()
    prefix = list(prefix_ids or [])
    ids = prefix + rng.choices(candidates, k=max(length - len(prefix), 0))
    best: tuple[str, int] = ("", -1)
    for _ in range(MAX_FIX_ROUNDS):
        text = tokenizer.decode(ids)
        encoded = tokenizer.encode(text)
        if len(encoded) == length:
            return text, length
        if best[1] < 0 or abs(len(encoded) - length) < abs(best[1] - length):
            best = (text, len(encoded))
        ids = encoded[:length] if len(encoded) > length else encoded + rng.choices(candidates, k=length - len(encoded))
    return best
