"""The price table of `--llm-prices FILE` (ini `llm_prices`): what a model's tokens cost.

The file is YAML (`.yaml`/`.yml`), JSON (`.json`) or TOML (`.toml`, Python 3.11+), a mapping of
model name to prices in US dollars per million tokens::

    gpt-4o-mini: {input: 0.15, output: 0.60}
    o3-mini:     {input: 1.10, output: 4.40, reasoning: 4.40}
    "*":         {input: 0, output: 0}        # any other model (optional)

`input` prices the prompt tokens, `output` the completion tokens that are not reasoning, `reasoning`
the reasoning tokens the server reports (`completion_tokens_details.reasoning_tokens`; OpenAI counts
them inside `completion_tokens`); `reasoning` defaults to `output`, as the providers bill them.
A model is looked up by its exact name, then `*`; a model without a price has no cost (shown as such),
and `--llm-max-cost` refuses to start without one for the model under test.

Every problem is one `ConfigError` naming the file, the entry and the fix (pydantic checks the shape:
unknown keys, negative or non-numeric prices).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from ..errors import ConfigError
from ..files import FileProblem, decode_utf8, read_bounded

MAX_PRICE_FILE_BYTES = 1024 * 1024
PER_TOKENS = 1_000_000  # prices are per million tokens
ANY_MODEL = "*"
MAX_PRICE = 1_000_000.0  # USD per million tokens (1 USD a token): far above any real price


class ModelPrice(BaseModel):
    """One model's prices in USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # at most MAX_PRICE and finite: a larger price is a typo, and its cost would overflow to inf
    input: float = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)
    output: float = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)
    reasoning: float | None = Field(default=None, ge=0, le=MAX_PRICE, allow_inf_nan=False)  # None: as output

    def cost(self, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> float:
        """USD for one answer's tokens; reasoning tokens are part of `completion_tokens` (OpenAI's usage)."""
        reasoning = min(max(reasoning_tokens, 0), completion_tokens)
        reasoning_price = self.output if self.reasoning is None else self.reasoning
        return (
            prompt_tokens * self.input + (completion_tokens - reasoning) * self.output + reasoning * reasoning_price
        ) / PER_TOKENS

    @property
    def most_per_completion_token(self) -> float:
        """The dearest price a completion token can have (a reservation's bound)."""
        return max(self.output, self.reasoning if self.reasoning is not None else self.output)


class PriceTable(RootModel[dict[str, ModelPrice]]):
    """{model name: ModelPrice}; `*` prices every model not named."""

    def price_of(self, model: str | None) -> ModelPrice | None:
        prices = self.root
        if model is not None and model in prices:
            return prices[model]
        return prices.get(ANY_MODEL)


def load_prices(path: Path, flag: str = "--llm-prices") -> PriceTable:
    """Read and check a price table file. Raises ConfigError naming where it was given (`flag`), the
    file and the problem."""
    try:
        text = decode_utf8(read_bounded(path, MAX_PRICE_FILE_BYTES))
    except FileProblem as problem:
        raise ConfigError(f"{flag}: {problem.after(path)}; pass a .yaml, .json or .toml price table") from None
    data = _parse(path, text, flag)
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"{flag}: {path} must map model names to prices, e.g. `gpt-4o-mini: {{input: 0.15, output: 0.60}}` "
            "(USD per million tokens)"
        )
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{flag}: {path}: {_first_problem(exc)}") from None


def _parse(path: Path, text: str, flag: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            try:
                import tomllib  # type: ignore[import-not-found,unused-ignore]  # Python 3.11+
            except ImportError:  # Python 3.10
                raise ConfigError(f"{flag}: TOML needs Python 3.11 or later; write {path} as YAML or JSON") from None
            return tomllib.loads(text)
    except ConfigError:
        raise
    except Exception as exc:  # each parser has its own error type; its message names line and column
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{flag}: {path} is not valid {suffix[1:].upper()} ({first})") from None
    raise ConfigError(f"{flag}: {path}: unknown format {suffix or '(no suffix)'}; use .yaml, .yml, .json or .toml")


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key; a model's prices are input, output and reasoning (USD per million tokens)"
    if error["type"] == "missing":
        return f"{where}: missing; every model needs input and output (USD per million tokens)"
    if error["type"] in ("model_type", "dict_type"):
        return f"{where}: expected input/output prices, got {value!r}"
    if error["type"] == "less_than_equal":
        return f"{where}: at most {MAX_PRICE:,.0f} USD per million tokens, got {value!r}; check the units"
    if error["type"] == "finite_number":
        return f"{where}: must be a finite number of USD per million tokens, got {value!r}"
    return f"{where}: {error['msg']}, got {value!r}"
