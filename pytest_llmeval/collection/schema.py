"""The collection schema: a tree of weighted groups whose leaves name registered benchmarks.

In Python::

    from pytest_llmeval.collection import Collection, Dataset

    schema = Collection(name="Qwen3", children=[
        Collection(name="English", children=[
            Dataset(name="mmlu_pro", task_type="exam", tags=["en"]),
            Dataset(name="ifeval", task_type="instruction", tags=["en"]),
        ]),
        Collection(name="Code", children=[
            Dataset(name="live_code_bench", task_type="code", tags=["en"],
                    args={"subset_list": ["v5_v6"], "start_date": "2025-01-01", "end_date": "2025-04-30"}),
        ]),
    ])

In YAML or JSON the same tree is a mapping with `name`, optional `weight` (default 1) and `children`
(the reference system's key `datasets` is accepted too); an entry without children is a leaf
(`name` is the benchmark, plus `weight`, `task_type`, `tags`, `args`). Unknown keys are errors.

Weights are finite numbers > 0 (`.inf`, `.nan`, 0 and negative weights are refused); group names
are non-empty and hold no `/` (it joins the names of a group path). Shares (`flatten`): a leaf's share
of the whole collection is the product, along its path from the root, of each node's weight divided
by the sum of its siblings' weights. Worked example::

    root ── A (weight 1) ── a1 (1), a2 (3)
         └─ B (weight 3) ── b1 (1)

    A gets 1/4, B gets 3/4;  a1 = 1/4 * 1/4 = 1/16,  a2 = 1/4 * 3/4 = 3/16,  b1 = 3/4 * 1 = 12/16.

Leaf `args` become the benchmark's arguments (the same as `--llm-bench-arg BENCH.KEY=VALUE`):
lists are joined with commas (`subset_list: [a, b]` -> `"a,b"`), other values are written as text,
and the reference system's nested `extra_params` mapping is merged in. `few_shot_num: 0` is accepted
(and dropped) for benchmarks that are zero-shot anyway.

Errors: `CollectionError` (a `ConfigError`, exit status 4) naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from ..errors import CollectionError
from ..files import FileProblem, decode_utf8, read_bounded


class Dataset(BaseModel):
    """A leaf: one registered benchmark with its weight among its siblings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    task_type: str | None = None  # default: the benchmark's own task_type
    tags: list[str] = Field(default_factory=list)
    args: dict[str, Any] = Field(default_factory=dict)


def group_name(name: str) -> str:
    """A group's name is one step of a path (`Qwen3/Math`): `/` inside it would merge two groups.
    The one rule for schema groups and collection records' `categories`."""
    if not name.strip():
        raise ValueError("a group name is empty; give every group a name")
    if "/" in name:
        raise ValueError(
            f"group name {name!r} contains '/', which separates the groups of a path: "
            "nest the groups (in a record: categories: [A, B]) or rename it"
        )
    return name


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "group" if ("children" in value or "datasets" in value) else "dataset"
    return "group" if isinstance(value, Collection) else "dataset"


class Collection(BaseModel):
    """A group: a name, its weight among its siblings, and its children (groups or datasets)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(group_name)]
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    children: list[
        Annotated[Annotated[Collection, Tag("group")] | Annotated[Dataset, Tag("dataset")], Discriminator(_kind)]
    ] = Field(min_length=1)

    @classmethod
    def from_mapping(cls, data: Any, source: str = "schema") -> Collection:
        """Validate a parsed YAML/JSON mapping (`datasets` is read as `children`)."""
        try:
            return cls.model_validate(_rename_datasets(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"] if p not in ("group", "dataset"))
            raise CollectionError(
                f"{source}: invalid collection schema at {where or '(top)'}: {first['msg']} "
                "(a group has name, weight, children; a dataset has name, weight, task_type, tags, args)"
            ) from None

    def flatten(self) -> list[FlatDataset]:
        """The leaves in tree order, each with its share of the whole (shares sum to 1)."""
        return list(_flatten(self, 1.0, ()))


Collection.model_rebuild()


def _rename_datasets(data: Any) -> Any:
    if isinstance(data, Mapping):
        out = {k: _rename_datasets(v) for k, v in data.items() if k != "datasets"}
        if "datasets" in data and "children" not in data:
            out["children"] = _rename_datasets(data["datasets"])
        return out
    if isinstance(data, list):
        return [_rename_datasets(v) for v in data]
    return data


class FlatDataset(BaseModel):
    """A leaf after `flatten`: its share of the collection and the names of its groups, root first."""

    name: str
    share: float
    categories: list[str]
    task_type: str | None
    tags: list[str]
    args: dict[str, Any]

    def bench_args(self, default_args: Mapping[str, str]) -> dict[str, str]:
        """The leaf's args as benchmark arguments (text values), see the module docstring."""
        flat: dict[str, Any] = {}
        for key, value in self.args.items():
            if key == "extra_params" and isinstance(value, Mapping):
                flat.update(value)
            else:
                flat[key] = value
        out: dict[str, str] = {}
        for key, value in flat.items():
            if key == "few_shot_num" and key not in default_args and str(value) in ("0", "None", ""):
                continue  # zero-shot benchmark; the reference schemas pass few_shot_num 0 everywhere
            if isinstance(value, (list, tuple)):
                text = ",".join(str(v) for v in value)
            elif isinstance(value, (dict, bool)) or value is None:
                text = json.dumps(value)
            else:
                text = str(value)
            out[str(key)] = text
        return out


def _flatten(node: Collection, share: float, path: tuple[str, ...]) -> Iterator[FlatDataset]:
    path = (*path, node.name)
    # weights relative to the largest sibling first: finite weights near 1e308 would overflow the sum
    largest = max(child.weight for child in node.children)
    total = sum(child.weight / largest for child in node.children)
    for child in node.children:
        part = share * (child.weight / largest) / total
        if isinstance(child, Collection):
            yield from _flatten(child, part, path)
        else:
            yield FlatDataset(
                name=child.name,
                share=part,
                categories=list(path),
                task_type=child.task_type,
                tags=list(child.tags),
                args=dict(child.args),
            )


MAX_SCHEMA_BYTES = 1024 * 1024  # a schema is a few KB; a bigger file is not one
MAX_SCHEMA_DEPTH = 64  # nested mappings and lists; a group is two levels (its mapping and its children list)


def _yaml_loader(source: str) -> type:
    """A safe YAML loader that refuses aliases and deep nesting while the document is composed.

    Aliases (`*name`) are how a "billion laughs" file of a few hundred bytes expands into gigabytes
    (every reference is copied when the tree is validated), and how a schema refers to itself; a
    schema never needs them. Depth is bounded before PyYAML's recursive composer can overflow."""
    import yaml
    from yaml.events import AliasEvent

    class SchemaLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                mark = self.peek_event().start_mark
                raise CollectionError(
                    f"{source}, line {mark.line + 1}: YAML aliases (*name) are not allowed in a collection schema "
                    "(they can expand a small file without bound); write the repeated part out"
                )
            self.depth += 1
            if self.depth > MAX_SCHEMA_DEPTH:
                mark = self.peek_event().start_mark
                raise CollectionError(_too_deep(source, f"line {mark.line + 1}"))
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return SchemaLoader


def _too_deep(source: str, where: str) -> str:
    return (
        f"{source}: the schema nests deeper than {MAX_SCHEMA_DEPTH} levels ({where}); "
        "a collection needs only a few levels of groups"
    )


def _check_depth(data: Any, source: str) -> None:
    """Refuse nesting deeper than MAX_SCHEMA_DEPTH (validation and flattening recurse over it)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise CollectionError(_too_deep(source, f"at {where.lstrip('.')}"))
        if isinstance(node, Mapping):
            stack.extend((value, depth + 1, f"{where}.{key}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, depth + 1, f"{where}.{index}") for index, value in enumerate(node))


def load_schema(path: str | Path) -> Collection:
    """Read a schema from a `.yaml`/`.yml` or `.json` file. Every problem is one CollectionError
    naming the file: missing, a folder, larger than MAX_SCHEMA_BYTES, not UTF-8, malformed, YAML
    aliases, nesting deeper than MAX_SCHEMA_DEPTH, or fields that are no schema."""
    path = Path(path)
    try:
        text = decode_utf8(read_bounded(path, MAX_SCHEMA_BYTES))
    except FileProblem as problem:
        fix = {
            "too_large": "a collection schema is a small YAML or JSON file",
            "not_utf8": "save the schema as UTF-8",
        }.get(problem.kind, "pass a .yaml or .json file")
        raise CollectionError(f"collection schema {problem.after(repr(str(path)))}; {fix}") from None
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        if is_yaml:
            import yaml

            data = yaml.load(text, Loader=_yaml_loader(str(path)))  # safe: _yaml_loader is a SafeLoader subclass
        else:
            data = json.loads(text)
    except CollectionError:
        raise
    except RecursionError:
        raise CollectionError(_too_deep(str(path), "the parser ran out of stack")) from None
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError: both are a malformed file
        raise CollectionError(f"{path}: not valid {'YAML' if is_yaml else 'JSON'}: {exc}") from None
    if not isinstance(data, Mapping):
        raise CollectionError(f"{path}: a collection schema is a mapping with name and children")
    _check_depth(data, str(path))
    return Collection.from_mapping(data, source=str(path))
