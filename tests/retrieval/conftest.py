"""A small BEIR folder whose retrieval through the test server's bag-of-words vectors is meaningful."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOCS = {
    "d1": ("Cats", "the cat sat on the mat and purred"),
    "d2": ("Dogs", "dogs bark at the mailman every morning"),
    "d3": ("Fish", "goldfish swim in a small bowl of water"),
    "d4": ("Birds", "parrots can learn to speak many words"),
    "d5": ("Cars", "electric cars charge their batteries overnight"),
    **{
        f"f{i:02d}": (f"Filler {i}", f"unrelated filler text number {i} about topic{i} and thing{i}") for i in range(12)
    },
}
QUERIES = {
    "q1": "which cat sat on the mat",
    "q2": "why do dogs bark",
    "q3": "how do electric cars charge",
    "q4": "quantum chromodynamics lattice",  # judged relevant to d3, shares no word with it: fails
    "q5": "an unjudged query",  # no qrels row: not an item
}
QRELS = [("q1", "d1", 1), ("q2", "d2", 2), ("q3", "d5", 1), ("q3", "d1", 0), ("q4", "d3", 1)]


def write_beir(folder: Path, docs=DOCS, queries=QUERIES, qrels=QRELS) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as f:
        for doc, (title, text) in docs.items():
            f.write(json.dumps({"_id": doc, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as f:
        for qid, text in queries.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with (folder / "qrels" / "test.tsv").open("w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, doc, grade in qrels:
            f.write(f"{qid}\t{doc}\t{grade}\n")
    return folder


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "beir")
