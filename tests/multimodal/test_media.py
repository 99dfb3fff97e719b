"""Media normalisation and content parts, on real images (Pillow) and real WAV bytes."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytest_llmeval.media import MediaError, MediaOptions, MediaStore, content_parts, summarise_messages
from tests.multimodal.data import png, wav


def decode(part: dict) -> bytes:
    return base64.b64decode(part["image_url"]["url"].split(",", 1)[1])


def test_image_is_downscaled_and_reencoded_and_round_trips_base64(tmp_path: Path):
    store = MediaStore(tmp_path / "m", MediaOptions(image_max_side=200, image_format="jpeg"))
    ref = store.image({"bytes": png(800, 400, (255, 0, 0)), "path": None}, "image")
    assert (ref.width, ref.height, ref.format) == (200, 100, "jpeg")
    (part,) = content_parts([ref], store)
    assert part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    raw = decode(part)
    assert hashlib.sha256(raw).hexdigest() == ref.sha256 and len(raw) == ref.bytes
    assert Image.open(io.BytesIO(raw)).size == (200, 100)


def test_pil_image_and_unchanged_bytes_are_kept_as_they_are(tmp_path: Path):
    store = MediaStore(tmp_path)
    data = png(30, 20, (0, 0, 0))
    ref = store.image(data, "img")
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.format == "png"
    pil_ref = store.image(Image.new("RGB", (5, 7)), "img")
    assert (pil_ref.width, pil_ref.height) == (5, 7)


def test_relative_paths_resolve_in_the_dataset_folder_and_may_not_leave_it(tmp_path: Path):
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "images" / "a.png").write_bytes(png(4, 4, (1, 2, 3)))
    (tmp_path / "secret.png").write_bytes(png(4, 4, (1, 2, 3)))
    store = MediaStore(tmp_path / "m", base_dir=tmp_path / "data")
    assert store.image("images/a.png", "image").width == 4
    with pytest.raises(MediaError, match="leaves the dataset folder"):
        store.image("../secret.png", "image")


@pytest.mark.parametrize(
    ("value", "message"),
    [(b"not an image", "not a readable image"), ("missing.png", "cannot read"), (12, "expected a image")],
)
def test_unreadable_images_name_the_field_and_reason(tmp_path: Path, value, message):
    with pytest.raises(MediaError, match=message) as info:
        MediaStore(tmp_path, base_dir=tmp_path).image(value, "decoded_image")
    assert "'decoded_image'" in str(info.value)


def test_a_file_that_is_no_image_is_named_without_pillows_buffer_repr(tmp_path: Path):
    # the reason read "cannot identify image file <_io.BytesIO object at 0x7f...>": our buffer, not the file
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "2.png").write_bytes(b"not a png")
    with pytest.raises(MediaError) as info:
        MediaStore(tmp_path / "m", base_dir=tmp_path).image("images/2.png", "image")
    assert str(info.value) == "image field 'image': not a readable image ('images/2.png': no image format Pillow reads)"


def test_image_over_the_limit(tmp_path: Path):
    store = MediaStore(tmp_path, MediaOptions(max_image_bytes=100))
    with pytest.raises(MediaError, match="over the 100-byte limit"):
        store.image(png(64, 64, (9, 9, 9)), "image")


def test_audio_array_becomes_wav_and_files_keep_their_format(tmp_path: Path):
    store = MediaStore(tmp_path)
    ref = store.audio({"array": np.sin(np.linspace(0, 100, 16000)), "sampling_rate": 16000}, "audio")
    assert ref.format == "wav" and ref.duration_s == pytest.approx(1.0)
    (part,) = content_parts([ref], store)
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"])[:4] == b"RIFF"
    file_ref = store.audio({"bytes": wav(), "path": "clip.wav"}, "audio")
    assert file_ref.duration_s == pytest.approx(0.25)
    with pytest.raises(MediaError, match="only WAV and MP3"):
        store.audio({"bytes": b"OggS....", "path": "x.ogg"}, "audio")
    with pytest.raises(MediaError, match="sampling_rate"):
        store.audio({"array": [0.1, 0.2], "sampling_rate": None}, "audio")


def test_summaries_never_carry_the_bytes(tmp_path: Path):
    store = MediaStore(tmp_path)
    ref = store.image(png(8, 8, (5, 5, 5)), "image")
    audio = store.audio(wav(), "audio")
    messages = [{"role": "user", "content": content_parts(["Look:", ref, audio, "What is it?"], store)}]
    summary = summarise_messages(messages)
    text = repr(summary)
    assert ref.sha256 in text and audio.sha256 in text
    assert "base64" not in text and len(text) < 600
    assert summary[0]["content"][0] == {"type": "text", "text": "Look:"}
