"""Collections: one weighted suite over many benchmarks (see docs/collections.md).

* `schema`: the tree of weighted groups and benchmark leaves (`Collection`, `Dataset`, `load_schema`);
* `sampler`: weighted / stratified / uniform counts and the seeded choice of samples;
* `builder`: schema -> collection records (`build_collection`, `write_collection`);
* `records`: the collection JSONL format (also the reference system's published files);
* `run`, `wiring`: running a collection file under pytest (`--llm-collection`);
* `results`: the collection report (guide's table, per-group/task-type/tag micro and macro averages).
"""

from .builder import DatasetCount, build_collection, write_collection
from .records import CollectionRecord, read_collection, record_sample
from .sampler import SAMPLERS, allot
from .schema import Collection, Dataset, FlatDataset, load_schema

__all__ = [
    "SAMPLERS",
    "Collection",
    "CollectionRecord",
    "Dataset",
    "DatasetCount",
    "FlatDataset",
    "allot",
    "build_collection",
    "load_schema",
    "read_collection",
    "record_sample",
    "write_collection",
]
