"""Small image and audio datasets in each benchmark's real schema, made on the spot."""

from __future__ import annotations

import io
import json
import math
import struct
import wave
from pathlib import Path
from typing import Any

from PIL import Image


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


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


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
        {
            "pid": "3",
            "question": "Which color is the square?",
            "image": "images/3.png",
            "choices": ["red", "green", "blue"],
            "unit": None,
            "precision": None,
            "answer": "blue",
            "question_type": "multi_choice",
            "answer_type": "text",
            "metadata": {"task": "figure question answering"},
        },
    ]
    write_jsonl(root / "testmini.jsonl", rows)
    return root / "testmini.jsonl"
