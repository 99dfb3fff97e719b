"""OmniBench (m-a-p/OmniBench, 1,142 questions): reasoning over an image and an audio clip together.

Rows: `index`, `task type`, `audio type` (speech, sound event, music), `question`, `options` (four
texts), `answer` (the correct option's text), `image` and `audio` (as `datasets` gives them: an
image and an `{"array", "sampling_rate"}` dict; local copies may hold `image_path`/`audio_path`
relative to the dataset's folder), and the text descriptions `image content` / `audio content`.

Benchmark arguments (as EvalScope's adapter has them): `use_image` and `use_audio`, default
`true`. When one is `false`, that medium is not sent and its text description is given instead
("Image content: …", "Audio content: …"), which measures how much a model needs the medium.

Prompts (the `protocol` argument): `evalscope` (the default) is EvalScope 1.14.1's, byte for byte:
its chain-of-thought multiple-choice text ("... based on the image and audio content ... 'ANSWER:
[LETTER]' ... Think step by step ...", the question as released, options as `A) text`), then the
image, then the audio; a medium turned off is a text part of its own in that place
("[Image Alternative Text]: …", "[Audio Alternative Text]: …"). `native`: the image, the audio, then
one text part (the descriptions of media turned off, the question with options lettered A-D and the
shared last line `Answer: X`). Scored by letter (or the option's text; `answer_parser=evalscope`:
its parser). Metrics: `acc`, plus `acc_task_<task
type>` and `acc_audio_<audio type>` for the breakdowns the dataset defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..scoring import choice_letters, format_choices
from .base import DatasetSource, Sample
from .breakdown import metric_label
from .multimodal import MultimodalBenchmark
from .protocols import Protocol
from .reference_prompts import OMNI_AUDIO_TEXT, OMNI_BENCH, OMNI_IMAGE_TEXT, SOURCE
from .registry import register_benchmark
from .rows import safe_sample_id

INSTRUCTION = (
    "Answer the following multiple-choice question about the image and the audio. Reason step by step, "
    'then give your final answer on the last line as "Answer: X", where X is the letter of one option '
    "({letters})."
)


def _label(prefix: str, text: Any) -> str | None:
    word = metric_label(text or "")
    return f"{prefix}_{word}" if word else None


def _flag(value: str, key: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigError(f"omni_bench.{key} must be true or false, got {value!r}")


@register_benchmark
class OmniBench(MultimodalBenchmark):
    name = "omni_bench"
    description = (
        "OmniBench: image + audio + question, 4 options; use_image/use_audio swap a medium for its description; acc."
    )
    source = DatasetSource(path="m-a-p/OmniBench", split="train", modelscope="m-a-p/OmniBench")
    subsets = ("default",)
    tags = ("vision", "audio", "multimodal", "omni")
    task_type = "multimodal"
    metrics = ("acc",)
    breakdown_prefixes = ("acc_task_", "acc_audio_")
    default_args = {"use_image": "true", "use_audio": "true"}
    protocols = {
        "evalscope": Protocol(
            name="evalscope",
            template=OMNI_BENCH,
            source=SOURCE,
            extra={"image_text": OMNI_IMAGE_TEXT, "audio_text": OMNI_AUDIO_TEXT},
        ),
        "native": Protocol(
            name="native",
            template=INSTRUCTION + "\n\nQuestion: {question}\n\n{choices}",
            source="pytest-llmbench",
            letters_separator=", ",
            extra={"image_text": "Image content: {text}", "audio_text": "Audio content: {text}"},
        ),
    }

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        use_image, use_audio = _flag(self.args["use_image"], "use_image"), _flag(self.args["use_audio"], "use_audio")
        options = [str(option) for option in record["options"]]
        if len(options) < 2:
            raise ValueError(f"options must list at least two answers, got {options!r}")
        answer = str(record["answer"])
        if answer not in options:
            raise ValueError(f"answer {answer!r} is not one of the options {options!r}")
        letters = choice_letters(len(options))
        question = str(record["question"]).strip()
        if self.reference_protocol:
            pieces = self.reference_pieces(record, options, use_image, use_audio)
        else:
            pieces = self.native_pieces(record, question, options, use_image, use_audio)
        labels = [
            label
            for label in (_label("task", record.get("task type")), _label("audio", record.get("audio type")))
            if label
        ]
        metadata: dict[str, Any] = {
            "question": question,
            "breakdown": labels,
            "task_type": record.get("task type"),
            "audio_type": record.get("audio type"),
        }
        self.add_segments(metadata, pieces)
        text = "\n\n".join(piece for piece in pieces if isinstance(piece, str))
        return Sample(
            id=safe_sample_id(record.get("index"), index),
            subset=subset,
            input=text,
            target=letters[options.index(answer)],
            choices=options,
            metadata=metadata,
        )

    def reference_pieces(
        self, record: Mapping[str, Any], options: list[str], use_image: bool, use_audio: bool
    ) -> list[Any]:
        """EvalScope's parts: the text (the question as released), then the image or its description,
        then the audio or its description."""
        fields = {"question": str(record["question"]), "options": options}
        pieces: list[Any] = [self.protocol.render(fields)]  # type: ignore[union-attr]
        if use_image:
            image = record.get("image") or record.get("image_path")
            pieces.append(("image", "image" if record.get("image") else "image_path", image))
        else:
            pieces.append(OMNI_IMAGE_TEXT.format(text=record["image content"]))
        if use_audio:
            audio = record.get("audio") or record.get("audio_path")
            pieces.append(("audio", "audio" if record.get("audio") else "audio_path", audio))
        else:
            pieces.append(OMNI_AUDIO_TEXT.format(text=record["audio content"]))
        return pieces

    def native_pieces(
        self, record: Mapping[str, Any], question: str, options: list[str], use_image: bool, use_audio: bool
    ) -> list[Any]:
        """This plugin's parts: the media, then one text part (descriptions, instruction, question, options)."""
        letters = choice_letters(len(options))
        pieces: list[Any] = []
        described: list[str] = []
        if use_image:
            image = record.get("image") or record.get("image_path")
            pieces.append(("image", "image" if record.get("image") else "image_path", image))
        else:
            described.append(f"Image content: {str(record['image content']).strip()}")
        if use_audio:
            audio = record.get("audio") or record.get("audio_path")
            pieces.append(("audio", "audio" if record.get("audio") else "audio_path", audio))
        else:
            described.append(f"Audio content: {str(record['audio content']).strip()}")
        text = "\n\n".join(
            [
                *described,
                INSTRUCTION.format(letters=", ".join(letters)),
                f"Question: {question}",
                format_choices(options),
            ]
        )
        return [*pieces, text]
