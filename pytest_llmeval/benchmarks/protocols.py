"""Prompt protocols: the named ways a benchmark asks its questions.

A protocol is data on the benchmark (`Benchmark.protocols`): the user-message template, the system
prompt, the default few-shot count and how one solved example is written. Two names exist:

* `evalscope` (the default wherever the benchmark has it): the messages EvalScope 1.14.1 sends for
  the same row, byte for byte, with its default few-shot count. Published numbers of the guides come
  from these prompts, so a score is comparable with theirs only under this protocol.
  `tests/benchmarks/test_protocols.py` checks it against request bodies recorded from EvalScope.
* `native`: this plugin's own prompts (an explicit `Answer: X` line, zero-shot by default).

Choose per run with `--llm-protocol NAME` (ini `llm_protocol`) or per benchmark with
`--llm-protocol BENCH=NAME` (or `--llm-bench-arg BENCH.protocol=NAME`). A benchmark without the run's
protocol keeps its only one. The answer parser is a separate choice (`--llm-answer-parser`): prompts
decide what the model is asked, the parser what is read back.

Templates are `str.format` strings over the fields a benchmark computes for a row (`question`,
`choices`, `letters`, ...); `{choices}` is rendered from the row's `options` with `choice_template`.
A protocol whose prompt is not a plain template (the native multiple-choice prompt) gives `renderer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["DEFAULT_PROTOCOL", "PROTOCOL_NAMES", "Protocol", "ProtocolWarning", "choose_protocol", "protocol_args"]

DEFAULT_PROTOCOL = "evalscope"
PROTOCOL_NAMES = ("evalscope", "native")

Fields = Mapping[str, Any]


class ProtocolWarning(UserWarning):
    """A run cannot send the protocol's messages exactly (its few-shot split is missing from local data)."""


def option_letter(index: int) -> str:
    """A, B, ... Z for the first 26 options (no benchmark of ours has more)."""
    return chr(ord("A") + index)


@dataclass(frozen=True)
class Protocol:
    """How one benchmark asks its questions under one named convention."""

    name: str
    template: str = "{question}"  # the user message without examples
    source: str = ""  # where the convention comes from (shown in docs/benchmarks.md)
    system_prompt: str | None = None
    few_shot_num: int = 0  # default number of solved examples (`few_shot_num` overrides it)
    few_shot_template: str | None = None  # the user message with examples: the fields and {fewshot}
    example_template: str = ""  # one solved example, over the example row's fields
    example_separator: str = "\n\n"
    choice_template: str = "{letter}) {text}"  # one option line of {choices}
    example_choice_template: str | None = None  # option lines inside an example (default: choice_template)
    letters_separator: str = ","  # {letters}: `A,B,C,D`
    renderer: Callable[[Fields, Sequence[Fields]], str] | None = None  # overrides the templates
    extra: Mapping[str, Any] = field(default_factory=dict)  # benchmark-specific switches (option order...)

    def _fields(self, fields: Fields, choice_template: str) -> dict[str, Any]:
        options = fields.get("options")
        out = dict(fields)
        if options is not None:
            letters = [option_letter(i) for i in range(len(options))]
            out["choices"] = "\n".join(
                choice_template.format(letter=letter, text=text) for letter, text in zip(letters, options, strict=True)
            )
            out.setdefault("letters", self.letters_separator.join(letters))
        return out

    def render(self, fields: Fields, examples: Sequence[Fields] = ()) -> str:
        """The user message for a row (`fields`), with `examples` (fields of solved rows) when given."""
        if self.renderer is not None:
            return self.renderer(fields, examples)
        row = self._fields(fields, self.choice_template)
        if examples and self.few_shot_template is not None:
            example_choices = self.example_choice_template or self.choice_template
            shots = self.example_separator.join(
                self.example_template.format(**self._fields(example, example_choices)) for example in examples
            )
            return self.few_shot_template.format(fewshot=shots, **row)
        return self.template.format(**row)

    def messages(self, text: str) -> list[dict[str, Any]]:
        """The chat messages of a rendered user message: the system prompt first, when there is one."""
        messages: list[dict[str, Any]] = []
        if self.system_prompt is not None:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": text})
        return messages


def choose_protocol(benchmark_name: str, protocols: Mapping[str, Protocol], wanted: str | None) -> Protocol | None:
    """The benchmark's protocol named `wanted` (None: `evalscope` if it has one, else `native`).
    A benchmark with no protocols has one implicit prompt: only `native` (or nothing) is accepted."""
    if not protocols:
        if wanted not in (None, "", "native"):
            raise ConfigError(
                f"benchmark {benchmark_name!r} has only its own prompt; protocol {wanted!r} "
                f"does not apply to it (use --llm-protocol {benchmark_name}=native or drop it)"
            )
        return None
    name = wanted or (DEFAULT_PROTOCOL if DEFAULT_PROTOCOL in protocols else "native")
    if name not in protocols:
        raise ConfigError(
            f"benchmark {benchmark_name!r} has no protocol {name!r}; known: {', '.join(sorted(protocols))}"
        )
    return protocols[name]


def protocol_args(
    name: str,
    protocols: Mapping[str, Protocol],
    args: Mapping[str, str] | None,
    run_protocol: str | None,
    answer_parser: str | None,
) -> dict[str, str]:
    """A benchmark's arguments with the run-wide `--llm-protocol NAME` and `--llm-answer-parser`
    folded in: an argument given for the benchmark itself wins; a run-wide protocol the benchmark
    does not have leaves it on its own (so `--llm-protocol evalscope` suits a custom benchmark too)."""
    out = dict(args or {})
    if run_protocol and "protocol" not in out and run_protocol in protocols:
        out["protocol"] = run_protocol
    if answer_parser and "answer_parser" not in out:
        out["answer_parser"] = answer_parser
    return out
