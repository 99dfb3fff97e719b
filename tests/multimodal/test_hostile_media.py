"""Hostile media in a dataset fail their own sample, never the run: a PNG that declares 10 G pixels
(a decompression bomb), a CMYK JPEG re-encoded to PNG, an audio array at 5 GHz. Each runs as a real
pytest run against the loopback server, with the bomb files made here."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.multimodal.data import math_vista_dir, png, wav, write_jsonl
from tests.runs import dataset, llm_args


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 200-byte PNG whose header declares width x height 8-bit RGB pixels (30 GB decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 65536))
        + chunk(b"IEND", b"")
    )


def cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def run(pytester: pytest.Pytester, server: Any, *args: str) -> tuple[pytest.RunResult, dict[str, dict[str, Any]]]:
    samples = pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="vl-model"),
        "--llm-no-cache",
        "--llm-samples",
        str(samples),
        *args,
    )
    records = [json.loads(line) for line in samples.read_text().splitlines()] if samples.exists() else []
    return outcome, {r["id"]: r for r in records}


def test_a_decompression_bomb_fails_its_sample_and_a_cmyk_jpeg_is_converted(
    pytester: pytest.Pytester, start_server: Any
):
    data = math_vista_dir(pytester.path / "MathVista")
    (data.parent / "images" / "1.png").write_bytes(png_bomb())
    (data.parent / "images" / "3.png").write_bytes(cmyk_jpeg())  # a JPEG under a .png name, as datasets have
    server = start_server(
        keep_chat_bodies=20,
        rules=[
            {"contains": "How many squares", "reply": "\\boxed{7}"},
            {"contains": "Which color", "reply": "Answer: C"},
        ],
    )
    outcome, records = run(pytester, server, *dataset("math_vista", data), "--llm-image-format", "png")
    outcome.assert_outcomes(passed=2, errors=1)
    assert "INTERNALERROR" not in outcome.stdout.str() + outcome.stderr.str()
    assert records["1"]["error_kind"] == "media"
    assert "not a readable image" in records["1"]["error"] and "decompression bomb" in records["1"]["error"]
    assert records["3"]["passed"] is True  # the CMYK JPEG went out as an RGB PNG
    body = next(b for b in server.stats()["chat_bodies"] if "Which color" in json.dumps(b))
    url = next(p["image_url"]["url"] for p in body["messages"][-1]["content"] if p["type"] == "image_url")
    assert url.startswith("data:image/png;base64,")
    assert not any("red bar" in json.dumps(b) for b in server.stats()["chat_bodies"])


def test_an_audio_array_at_five_gigahertz_fails_its_sample_alone(pytester: pytest.Pytester, start_server: Any):
    folder = pytester.path / "omni"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "0.png").write_bytes(png(16, 16, (0, 128, 0)))
    (folder / "media" / "0.wav").write_bytes(wav())
    row = {
        "task type": "Action and Activity",
        "audio type": "speech",
        "options": ["cooking", "running"],
        "answer": "cooking",
        "image_path": "media/0.png",
        "image content": "a stove",
        "audio content": "salt",
    }
    data = write_jsonl(
        folder / "omni.jsonl",
        [
            {**row, "index": 0, "question": "What is he doing (clip)?", "audio_path": "media/0.wav"},
            {
                **row,
                "index": 1,
                "question": "What is he doing (array)?",
                "audio": {"array": [0.0, 0.5, -0.5] * 100, "sampling_rate": 5_000_000_000},
            },
        ],
    )
    server = start_server(keep_chat_bodies=5, rules=[{"contains": "What is he doing", "reply": "Answer: A"}])
    outcome, records = run(pytester, server, *dataset("omni_bench", data))
    outcome.assert_outcomes(passed=1, errors=1)
    assert records["1"]["error_kind"] == "media"
    assert "sampling_rate from 1 to 768,000 Hz, got 5000000000" in records["1"]["error"]
    assert len(server.stats()["chat_bodies"]) == 1


def test_a_report_preview_of_a_bomb_is_left_out(tmp_path: Path):
    from pytest_llmeval.media.preview import _thumbnail

    assert _thumbnail(png_bomb()) is None
    assert _thumbnail(cmyk_jpeg()).startswith("data:image/jpeg;base64,")


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path: Path):
    """120 M pixels: under Pillow's own error threshold (179 M), so only its header check stops it
    before 360 MB are decoded."""
    from pytest_llmeval.media import MediaError, MediaStore

    with pytest.raises(MediaError, match=r"12,000 x 10,000 pixels is over the 89,478,485-pixel limit"):
        MediaStore(tmp_path).image(png_bomb(12_000, 10_000), "image")
