"""The evaluation engine: benchmark samples as pytest items, and what runs them in each process.

* `selection`: which benchmarks and subsets `-m` can select, before any data is read;
* `build`: the sample items of the selected subsets; `nodes`: `SampleItem`, the pytest item of one sample;
* `runtime`: per-process state: the dispatcher, the prefetch plan, the judge, scoring of a response;
* `distribution`, `xdist_hooks`, `xdist_scheduler`: under pytest-xdist, a fixed share of items per worker.

Named `engine` rather than `items`: most of it runs requests and scores, not just builds pytest items.
"""
