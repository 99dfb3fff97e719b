"""Small image and audio datasets in each benchmark's real schema, made on the spot."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import write_jsonl

__all__ = ["color_choice_row", "math_vista_dir", "png", "wav", "write_jsonl"]


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def wav(seconds: float = 0.25, rate: int = 8000, freq: float = 440.0) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def color_choice_row(pid: str, question: str, image: Any, field: str = "image") -> dict[str, Any]:
    """A MathVista multiple-choice row (red, green or blue; the answer is blue) whose image is `image`
    in `field`: a path relative to the dataset folder, or a decoded-image dict."""
    return {
        "pid": pid,
        "question": question,
        field: image,
        "choices": ["red", "green", "blue"],
        "unit": None,
        "precision": None,
        "answer": "blue",
        "question_type": "multi_choice",
        "answer_type": "text",
        "metadata": {"task": "figure question answering"},
    }


def math_vista_dir(root: Path) -> Path:
    """The release's layout: rows name `images/<pid>.png` relative to the dataset folder."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "images" / "1.png").write_bytes(png(800, 400, (200, 10, 10)))
    (root / "images" / "2.png").write_bytes(png(64, 64, (10, 200, 10)))
    (root / "images" / "3.png").write_bytes(png(64, 64, (10, 10, 200)))
    rows = [
        {
            "pid": "1",
            "question": "What is the length of the red bar in cm?",
            "image": "images/1.png",
            "choices": None,
            "unit": "cm",
            "precision": 1.0,
            "answer": "3.5",
            "question_type": "free_form",
            "answer_type": "float",
            "metadata": {"task": "figure question answering", "category": "math-targeted-vqa"},
        },
        {
            "pid": "2",
            "question": "How many squares are shown?",
            "image": "images/2.png",
            "choices": None,
            "unit": None,
            "precision": None,
            "answer": "7",
            "question_type": "free_form",
            "answer_type": "integer",
            "metadata": {"task": "math word problem"},
        },
        color_choice_row("3", "Which color is the square?", "images/3.png"),
    ]
    write_jsonl(root / "testmini.jsonl", rows)
    return root / "testmini.jsonl"
