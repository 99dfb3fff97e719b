"""MMMU-Pro (MMMU/MMMU_Pro): college-level multimodal multiple choice, harder than MMMU.

Configurations are the subsets: `standard (4 options)` → `standard_4`, `standard (10 options)` →
`standard_10`, `vision` (the question and options are inside the image). Standard rows have
`id`, `question`, `options` (a Python-literal list as a string, as released), `answer` (a letter),
`subject`, `img_type`, `topic_difficulty` and `image_1` .. `image_7`; vision rows have `id`,
`image`, `options`, `answer`, `subject`.

Prompts (the `protocol` argument); in both, every `<image N>` placeholder of the text (question and
options) is replaced by image N itself, in place, so the content parts interleave text and images:

* `evalscope` (the default): EvalScope 1.14.1's, byte for byte. Its chain-of-thought multiple-choice
  template ("... 'ANSWER: [LETTER]' ... one of A,B,C,D. Think step by step ...") over the question as
  released, options as `A) text`; a placeholder without its image (or `<audio N>`, `<image_N>`) is
  dropped, and an image no placeholder names is not sent, as there. Vision: its instruction text,
  then the image.
* `native`: the shared instruction with a last line `Answer: X`, `Question: ...` and the options;
  images no placeholder names follow the text in number order (none is lost), a placeholder without
  its image stays as text. Vision: the image, then "Answer the multiple-choice question shown in the
  image." with the letters offered.

Scored by letter (or the option's text; `answer_parser=evalscope`: its parser). Metrics: `acc` and
`acc_<subject>`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..scoring import choice_letters, format_choices
from .base import DatasetSource, RecordLoader, Sample
from .breakdown import metric_label
from .mcq import answer_letter
from .multimodal import MultimodalBenchmark
from .protocols import Protocol
from .reference_prompts import MC_SINGLE_COT, MMMU_PRO_VISION, SOURCE
from .registry import register_benchmark
from .rows import records_for_label, safe_sample_id

INSTRUCTION = (
    "Answer the following multiple-choice question. Reason step by step, then give your final answer on "
    'the last line as "Answer: X", where X is the letter of one option ({letters}).'
)
VISION_INSTRUCTION = (
    "Answer the multiple-choice question shown in the image. Reason step by step, then give your "
    'final answer on the last line as "Answer: X", where X is the letter of one option ({letters}).'
)
CONFIGS = {"standard_4": "standard (4 options)", "standard_10": "standard (10 options)", "vision": "vision"}
PLACEHOLDER = re.compile(r"<image (\d+)>")
REFERENCE_PLACEHOLDER = re.compile(r"<(image|video|audio)[_ ](\d+)>")  # the placeholders EvalScope replaces
MAX_IMAGES = 7


def parse_options(value: Any) -> list[str]:
    """The options as released: a list, or a Python-literal list in a string."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):  # the parser's own limits, too
            raise ValueError(f"options must be a list (or its Python literal), got {value[:80]!r}") from None
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"options must be a non-empty list, got {type(value).__name__}")
    return [str(option) for option in value]


def interleave(text: str, images: Mapping[int, Any]) -> list[str | tuple[str, str, Any]]:
    """Text split at `<image N>` with image N in its place; images not referenced follow."""
    pieces: list[str | tuple[str, str, Any]] = []
    used: set[int] = set()
    position = 0
    for match in PLACEHOLDER.finditer(text):
        number = int(match.group(1))
        if number not in images:
            continue  # a placeholder without its image stays as text
        pieces.append(text[position : match.start()])
        pieces.append(("image", f"image_{number}", images[number]))
        used.add(number)
        position = match.end()
    pieces.append(text[position:])
    pieces.extend(("image", f"image_{n}", images[n]) for n in sorted(images) if n not in used)
    return pieces


def interleave_reference(text: str, images: Mapping[int, Any]) -> list[str | tuple[str, str, Any]]:
    """EvalScope's layout: text split at each placeholder, image N in place of `<image N>`; a
    placeholder without its medium is dropped; images no placeholder names are not sent."""
    pieces: list[str | tuple[str, str, Any]] = []
    position = 0
    for match in REFERENCE_PLACEHOLDER.finditer(text):
        pieces.append(text[position : match.start()])  # whitespace-only text is no part (content_parts)
        number = int(match.group(2))
        if match.group(1) == "image" and number in images:
            pieces.append(("image", f"image_{number}", images[number]))
        position = match.end()
    pieces.append(text[position:])
    return pieces


@register_benchmark
class MMMUPro(MultimodalBenchmark):
    name = "mmmu_pro"
    description = "MMMU-Pro: multimodal multiple choice (4 or 10 options, or the question inside the image); acc."
    source = DatasetSource(
        path="MMMU/MMMU_Pro", split="test", subset_mode="config", modelscope="AI-ModelScope/MMMU_Pro"
    )
    subsets = tuple(CONFIGS)
    subset_labels = CONFIGS
    tags = ("vision", "multimodal", "knowledge")
    task_type = "exam"
    metrics = ("acc",)
    breakdown_prefixes = ("acc_",)  # acc_<subject>
    # the standard template; `extra["vision"]` the vision one (the benchmark lays out the parts)
    protocols = {
        "evalscope": Protocol(
            name="evalscope", template=MC_SINGLE_COT, source=SOURCE, extra={"vision": MMMU_PRO_VISION}
        ),
        "native": Protocol(
            name="native",
            template=INSTRUCTION + "\n\nQuestion: {question}\n\n{choices}",
            source="pytest-llmbench",
            letters_separator=", ",
            extra={"vision": VISION_INSTRUCTION},
        ),
    }

    def load_rows(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        # the hub's configurations are named "standard (4 options)" ...; local files may use either name
        for index, (record, where) in enumerate(records_for_label(self, subset, CONFIGS.get(subset, subset), loader)):
            yield loader.to_sample(self, record, index, subset, where)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        options = parse_options(record["options"])
        letters = choice_letters(len(options))
        target = answer_letter(record["answer"], len(options))
        subject = str(record.get("subject") or "").strip()
        metadata: dict[str, Any] = {
            "subject": subject,
            "breakdown": [metric_label(subject)] if subject else [],
        }
        reference = self.reference_protocol
        if subset == "vision":
            if reference:
                text = MMMU_PRO_VISION.format(letters=",".join(letters))
                pieces: list[Any] = [text, ("image", "image", record["image"])]
            else:
                text = VISION_INSTRUCTION.format(letters=", ".join(letters))
                pieces = [("image", "image", record["image"]), text]
            metadata["question"] = "(question in the image)"
        else:
            question = str(record["question"]).strip()
            cells = {n: record.get(f"image_{n}") for n in range(1, MAX_IMAGES + 1)}
            if reference:  # the question as released (EvalScope does not strip it)
                fields = {"question": str(record["question"]), "options": options}
                text = self.protocol.render(fields)  # type: ignore[union-attr]
                pieces = interleave_reference(text, {n: cell for n, cell in cells.items() if cell not in (None, "")})
            else:
                text = (
                    f"{INSTRUCTION.format(letters=', '.join(letters))}\n\nQuestion: {question}\n\n"
                    f"{format_choices(options)}"
                )
                pieces = interleave(text, {n: cell for n, cell in cells.items() if cell is not None})
            metadata["question"] = question
        self.add_segments(metadata, pieces)
        return Sample(
            id=safe_sample_id(record.get("id"), index),
            subset=subset,
            input=text,
            target=target,
            choices=options,
            metadata=metadata,
        )
