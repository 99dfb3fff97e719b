"""The shared shape of image and audio benchmarks (MathVista, MMMU-Pro, OmniBench).

A sample's media are spooled at collection (`media.MediaStore`: normalised, content-addressed
files) and the sample keeps its prompt as *segments*: text and media references in order, in
`metadata["segments"]`. `messages()` builds the OpenAI content parts from them only when the
request body is built, so memory stays flat however many image samples a run has.

A medium that cannot be read or is over a limit does not stop collection: the sample records the
reason (`metadata["media_error"]`) and fails alone with that message (error kind `media`) when its
request would be built.

Protocols (`protocols.py`): under `evalscope` (the default) each benchmark lays out its content parts
as EvalScope 1.14.1 does (text parts, their order and every character; image parts carry
`"detail": "auto"` as its client writes them); `native` keeps this plugin's own prompts.
`--llm-answer-parser evalscope` reads the letter with EvalScope's multiple-choice parser, the one
its adapters of these three benchmarks use.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..media import MediaError, MediaRef, MediaStore, content_parts
from ..media.store import temporary_media_folder
from ..scoring import choice_letters, find_choice, match_choice_text
from ..scoring.reference_choice import reference_choice
from .base import Benchmark, Message, RecordLoader, Sample, Score
from .breakdown import mean_over_carriers, with_breakdown


class MultimodalBenchmark(Benchmark):
    """Base of benchmarks whose samples carry images or audio."""

    media_store: MediaStore | None = None  # set by the plugin from --llm-image-* and the cache folder
    data_folder: Path | None = None  # the local dataset's folder: the only place a row's file paths may name

    def store(self) -> MediaStore:
        if self.media_store is None:  # used outside the plugin (tests, scripts): a private folder,
            # removed when the process exits (the samples' refs may outlive this object)
            folder = temporary_media_folder()
            atexit.register(folder.cleanup)
            self.media_store = MediaStore(Path(folder.name))
        return self.media_store

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        local = loader.override(self.name, subset)
        # media paths in local rows name files of the dataset's folder; rows from a hub name none
        # (kept per benchmark: the store is shared by every benchmark of the run)
        path = local.path if local is not None else None
        self.data_folder = None if path is None else path if path.is_dir() else path.parent
        yield from self.load_rows(subset, loader)

    def load_rows(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        """The samples of one subset (override instead of `load`)."""
        yield from super().load(subset, loader)

    def segments(self, pieces: Sequence[str | tuple[str, str, Any]]) -> tuple[list[Any], str | None]:
        """Spool `("image"|"audio", field, value)` pieces; text stays as it is. Returns the JSON
        segments for `metadata["segments"]` and the first media error (None when all were read)."""
        out: list[Any] = []
        error: str | None = None
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            kind, field, value = piece
            try:
                spool = self.store().image if kind == "image" else self.store().audio
                ref = spool(value, field, folder=self.data_folder)
            except MediaError as exc:
                error = error or str(exc)
                continue
            out.append(ref.model_dump())
        return out, error

    def add_segments(self, metadata: dict[str, Any], pieces: Sequence[str | tuple[str, str, Any]]) -> None:
        """Spool `pieces` (`segments`) into `metadata["segments"]`, and the first media error, if
        any, into `metadata["media_error"]` (the sample then fails alone when its request is built)."""
        segments, error = self.segments(pieces)
        metadata["segments"] = segments
        if error:
            metadata["media_error"] = error

    @property
    def reference_protocol(self) -> bool:
        """Whether the run sends EvalScope's messages (the `evalscope` protocol)."""
        return self.protocol is not None and self.protocol.name == "evalscope"

    def choice_answer(self, sample: Sample, output: str) -> tuple[str | None, bool]:
        """(the letter chosen, whether an explicit answer cue gave it): the shared multiple-choice
        extractor, or the option's text when the model wrote that instead of its letter; under
        `answer_parser=evalscope` the reference system's parser (its last-capital fallback included)."""
        choices = sample.choices or []
        letters = choice_letters(len(choices))
        if self.answer_parser == "evalscope":
            return "".join(sorted(reference_choice(output, letters))) or None, True
        answer = find_choice(output, letters, choices)
        return answer.letter or match_choice_text(output, choices, letters), answer.explicit

    def score(self, sample: Sample, output: str) -> Score:
        """Multiple choice by letter (MMMU-Pro, OmniBench); `acc` plus the sample's breakdown."""
        extracted, explicit = self.choice_answer(sample, output)
        passed = extracted == sample.target
        return Score(
            passed=passed,
            metrics=with_breakdown({"acc": float(passed)}, sample),
            extracted=extracted,
            explanation=None if extracted else "no option letter found",
            explicit=explicit,
        )

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        return mean_over_carriers(per_sample)

    def messages(self, sample: Sample) -> list[Message]:
        if "segments" not in sample.metadata:  # a collection record: its media are inline already
            return super().messages(sample)
        error = sample.metadata.get("media_error")
        if error:
            raise MediaError(f"sample {sample.id}: {error}")
        segments = [
            MediaRef.model_validate(s) if isinstance(s, dict) else s for s in sample.metadata.get("segments", [])
        ]
        messages: list[Message] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        parts = content_parts(segments, self.store())
        if self.reference_protocol:  # EvalScope's client writes the (default) detail level out
            parts = [
                {**part, "image_url": {**part["image_url"], "detail": "auto"}} if part["type"] == "image_url" else part
                for part in parts
            ]
        messages.append({"role": "user", "content": parts})
        return messages
