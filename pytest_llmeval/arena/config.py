"""What an arena run compares: the contestants (candidates and a baseline), the judge, the prompts.

Sources, highest first: the command line (`--llm-arena-model`, repeatable, also the ini key
`llm_arena_model` with one model a line), then the YAML file of `--llm-arena-config` (docs/arena.md).

A model is `NAME=TARGET[,key=ENV][,model=ID][,GEN=VALUE...]`:

* `NAME`: how the run names it: the subset of its items (`arena/NAME::PROMPT`) and its mark (the
  name with non-word characters as `_`, `engine.selection.mark_name`); 1-64 of `A-Z a-z 0-9 _ . -`.
* `TARGET`: an OpenAI-compatible base URL, or a model the plugin serves itself (`smollm2-135m`,
  `gemma3-270m`, a `.gguf` path); `NAME` alone when the name is such a model.
* `key=ENV`: the environment variable holding its API key (the key itself is never on a command line).
* `model=ID`: the model id sent in requests (default `NAME`, or the served model's id).
* any other `KEY=VALUE`: a generation parameter of its requests (VALUE parsed as JSON when it is).

Errors are `ConfigError`s naming the option and the fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ..errors import ConfigError
from .verdicts import SCALES, Scale

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
FLAG = "--llm-arena-model"


class ArenaModel(BaseModel):
    """One contestant (or the judge)."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str | None = None  # None: `local` is served by the plugin
    local: str | None = None  # an embedded model name or .gguf path
    model: str  # the id sent in requests
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    gen: dict[str, Any] = Field(default_factory=dict)

    def same_model(self, other: ArenaModel) -> bool:
        """The same weights behind the same endpoint (self-preference applies)."""
        if self.local is not None or other.local is not None:
            return self.local is not None and self.local == other.local
        return self.base_url == other.base_url and self.model == other.model


class ArenaConfig(BaseModel):
    models: list[ArenaModel]  # every contestant; the baseline among them
    baseline: str
    judge: ArenaModel | None  # None: the run's --llm-judge-model
    prompts: str | None = None
    judge_template: Path | None = None
    scale: Scale = "five"
    self_judge: bool = False
    bootstrap: int = Field(default=1000, ge=0)
    seed: int = 0

    @property
    def candidates(self) -> list[ArenaModel]:
        return [m for m in self.models if m.name != self.baseline]

    @property
    def baseline_model(self) -> ArenaModel:
        return next(m for m in self.models if m.name == self.baseline)


def _local_name(text: str) -> bool:
    from ..endpoint.local_models import is_local_model_name

    return is_local_model_name(text)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEY_PART = re.compile(r"(?i)((?:^|,)\s*(?:key|api_key_env)\s*[=:]\s*)[^,}]*")


def shown_spec(spec: str | dict[str, Any]) -> str:
    """The spec as errors quote it: a `key=` value hidden (a user may have put the key itself there)."""
    if isinstance(spec, dict):
        return repr({k: ("<hidden>" if k == "api_key_env" else v) for k, v in spec.items()})
    return repr(_KEY_PART.sub(r"\1<hidden>", spec))


def parse_model(spec: str | dict[str, Any], flag: str = FLAG) -> ArenaModel:
    """One `NAME=TARGET[,...]` (or a YAML mapping with the keys name, base_url, model, api_key_env, gen)."""
    shown = shown_spec(spec)
    if isinstance(spec, dict):
        fields = dict(spec)
        name = str(fields.pop("name", "") or "")
        target = str(fields.pop("base_url", "") or fields.pop("target", "") or "")
        model_id = fields.pop("model", None)
        key_env = fields.pop("api_key_env", None)
        gen = dict(fields.pop("gen", {}) or {})
        if fields:
            raise ConfigError(
                f"arena model {name or shown}: unknown key {sorted(fields)[0]!r}; "
                "known: name, base_url, model, api_key_env, gen"
            )
    else:
        head, *rest = [part.strip() for part in spec.split(",")]
        name, sep, target = (part.strip() for part in head.partition("="))
        model_id, key_env, gen = None, None, {}
        for part in rest:
            key, eq, value = (p.strip() for p in part.partition("="))
            if not eq or not key:
                raise ConfigError(f"{flag} {shown}: expected KEY=VALUE after the first comma, got {part!r}")
            if key == "key":
                key_env = value
            elif key == "model":
                model_id = value
            else:
                gen[key] = _json(value)
        if not sep:
            target = name
    from ..options import check_gen_field

    for key, value in gen.items():  # a misspelt field (`max_token`) would be ignored by the server
        shown_value = value if isinstance(value, str) else json.dumps(value)
        check_gen_field(f"{flag} {shown}: {key}={shown_value}", key, value, flag="")
    if not _NAME.match(name):
        raise ConfigError(
            f"{flag} {shown}: the model needs a NAME of 1-64 letters, digits, '_', '.' or '-' "
            "(e.g. --llm-arena-model new=http://localhost:8000/v1)"
        )
    if not target:
        raise ConfigError(f"{flag} {shown}: name a base URL or a local model after '=' (NAME=URL)")
    api_key = None
    if key_env:
        # the value is never printed: a user may have put the key itself where its variable's name goes
        if not _ENV_NAME.match(str(key_env)):
            raise ConfigError(
                f"{flag} {name!r}: key= expected the NAME of an environment variable holding the API key "
                "(e.g. key=OPENAI_API_KEY), not the key itself; the value given is not shown"
            )
        if key_env not in os.environ:
            raise ConfigError(
                f"{flag} {name!r}: the environment variable named in key= is not set; export it "
                "(its name is not shown, in case it is the key itself)"
            )
        api_key = SecretStr(os.environ[key_env])
    if target.startswith(("http://", "https://")):
        from ..settings import split_base_url

        split_base_url(target)  # a bad URL is a usage error now
        return ArenaModel(
            name=name, base_url=target, model=model_id or name, api_key=api_key, api_key_env=key_env, gen=gen
        )
    if not _local_name(target):
        raise ConfigError(
            f"{flag} {shown}: {target!r} is neither an http(s) URL nor a model the plugin serves "
            "(smollm2-135m, gemma3-270m, a .gguf path)"
        )
    return ArenaModel(name=name, local=target, model=model_id or target, gen=gen)


def read_yaml(path: Path) -> dict[str, Any]:
    """The `--llm-arena-config` file: a mapping (docs/arena.md)."""
    import yaml

    from ..files import FileProblem, decode_utf8, read_bounded

    try:
        text = decode_utf8(read_bounded(path, 1024 * 1024))
    except FileProblem as exc:
        raise ConfigError(f"--llm-arena-config {exc.after(path)}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--llm-arena-config {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--llm-arena-config {path}: expected a mapping with `models:`, `baseline:`, `judge:`")
    known = {"models", "baseline", "judge", "prompts", "judge_template", "scale", "self_judge", "bootstrap"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(
            f"--llm-arena-config {path}: unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(known))}"
        )
    return data


def build_config(
    *,
    models: list[str],
    baseline: str | None,
    judge: str | None,
    prompts: str | None,
    config_file: Path | None,
    judge_template: Path | None,
    scale: str | None,
    self_judge: bool,
    bootstrap: int | None,
    seed: int,
    base_dir: Path,
) -> ArenaConfig:
    """The arena of the options (CLI/ini values given, the YAML file under them)."""
    data: dict[str, Any] = read_yaml(config_file) if config_file is not None else {}
    file_models = data.get("models") or []
    if not isinstance(file_models, list):
        raise ConfigError(
            f"--llm-arena-config {config_file}: `models` must be a list (one `- NAME=URL` line per model), "
            f"got a {type(file_models).__name__}"
        )
    specs: list[Any] = list(models) or list(file_models)
    parsed = [parse_model(spec) for spec in specs]
    names = [m.name for m in parsed]
    if len(parsed) < 2:
        raise ConfigError(
            "an arena needs at least two models, a baseline and a candidate: pass --llm-arena-model NAME=URL twice "
            "(or `models:` in --llm-arena-config)"
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"{FLAG}: two models are named {twice!r}; give each its own NAME")
    baseline = baseline or data.get("baseline") or names[0]
    if baseline not in names:
        raise ConfigError(f"--llm-arena-baseline {baseline!r} is not one of the arena's models: {', '.join(names)}")
    judge_spec = judge or data.get("judge")
    judge_model: ArenaModel | None = None
    if judge_spec:
        if isinstance(judge_spec, str) and judge_spec in names:
            judge_model = parsed[names.index(judge_spec)]
        else:
            judge_model = parse_model(judge_spec, "--llm-arena-judge")
    scale = scale or data.get("scale") or "five"
    if scale not in SCALES:
        raise ConfigError(f"--llm-arena-scale must be one of {', '.join(SCALES)}, got {scale!r}")
    template = judge_template or (Path(data["judge_template"]) if data.get("judge_template") else None)
    if template is not None and not template.is_absolute():
        template = base_dir / template
    try:
        config = ArenaConfig(
            models=parsed,
            baseline=baseline,
            judge=judge_model,
            prompts=prompts or data.get("prompts"),
            judge_template=template,
            scale=scale,  # type: ignore[arg-type]
            self_judge=self_judge or bool(data.get("self_judge")),
            bootstrap=bootstrap if bootstrap is not None else data.get("bootstrap", 1000),
            seed=seed,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        where = f"--llm-arena-config {config_file}: key `{key}`" if key.split(".")[0] in data else f"arena `{key}`"
        raise ConfigError(f"{where}: {error['msg']}, got {error.get('input')!r}") from None
    check_self_judge(config)
    return config


def check_self_judge(config: ArenaConfig) -> None:
    """A judge that is also a contestant favours itself (self-preference, Panickssery et al. 2024):
    refused unless `--llm-arena-self-judge` says it is meant."""
    judge = config.judge
    if judge is None or config.self_judge:
        return
    for model in config.models:
        if model.name == judge.name or model.same_model(judge):
            raise ConfigError(
                f"the arena judge {judge.name!r} is also the contestant {model.name!r}: a judge prefers its own "
                "answers; use another judge, or pass --llm-arena-self-judge to accept that"
            )
