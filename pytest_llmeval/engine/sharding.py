"""`--llm-shard I/N`: which samples this machine runs when a run is split across N machines.

The rule (the same on every machine, every `-n`, every run of the same data):

- samples are split per *group*: each benchmark subset (`gsm8k/main`), and each dataset/subset of
  `--llm-collection`, so every shard holds about 1/N of every benchmark and collection group;
- inside a group, samples are ordered by a stable hash of their id (the first 8 bytes of
  SHA-256 of `group/id`: never Python's salted `hash`), and the k-th of that order goes to shard
  `(k + start) mod N`, `start` being the group's own hash mod N. Every shard so gets
  `floor(G/N)` or `ceil(G/N)` of a group of G samples, and the one-sample remainders of many
  small groups spread over the shards instead of all landing on shard 1;
- the split is made after `--llm-shuffle` / `--llm-limit` (so the union of the shards is exactly
  the unsharded run) and before `-k` / `-m` deselection (which then applies per shard as it would
  to the whole run).

`I` counts from 1 (`1/4` ... `4/4`), as a CI matrix does. Besides its share, each shard learns a
digest of the whole group (every sample's id and content, in order), so `merge` can tell shards
that read different data apart (`ShardPlan.population_digest`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ConfigError

SHARD_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class ShardSpec:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> ShardSpec:
    """`"2/4"` -> ShardSpec(2, 4); anything else is a ConfigError naming the form."""
    match = SHARD_FORMAT.match(text)
    if match is None:
        raise ConfigError(f"--llm-shard expects I/N such as 1/4 (shard I of N, I from 1 to N), got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(
            f"--llm-shard {text}: I must be between 1 and N (1/{max(count, 1)} ... {max(count, 1)}/{max(count, 1)})"
        )
    return ShardSpec(index, count)


def stable_hash(text: str) -> int:
    """64-bit hash of `text` that every process and machine computes alike."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shard_positions(group: str, ids: list[str], spec: ShardSpec) -> set[int]:
    """Positions (into `ids`) of the samples of `group` that belong to shard `spec`."""
    order = sorted(range(len(ids)), key=lambda i: (stable_hash(f"{group}/{ids[i]}"), ids[i], i))
    start = stable_hash(group) % spec.count
    return {position for rank, position in enumerate(order) if (rank + start) % spec.count == spec.index - 1}


@dataclass
class ShardPlan:
    """What one process learned while splitting: per group, its size and a digest of its samples."""

    spec: ShardSpec
    groups: dict[str, tuple[int, str]] = field(default_factory=dict)  # group -> (samples, sha256 of them)

    def add_group(self, group: str, keys: Iterable[str]) -> None:
        digest = hashlib.sha256()
        count = 0
        for key in keys:
            digest.update(key.encode("utf-8", "surrogatepass") + b"\x00")
            count += 1
        self.groups[group] = (count, digest.hexdigest())

    @property
    def population(self) -> int:
        """Samples of the whole (unsharded) run."""
        return sum(count for count, _ in self.groups.values())

    def population_digest(self) -> str:
        """One digest of every group's samples: equal on every shard of the same data."""
        digest = hashlib.sha256()
        for group in sorted(self.groups):
            count, text = self.groups[group]
            digest.update(f"{group}\x00{count}\x00{text}\x00".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


def content_key(sample_id: str, *parts: object) -> str:
    """What the population digest reads of one sample: its id and content (prompt, target)."""
    return "\x1f".join([sample_id, *(repr(part) for part in parts)])
