"""Where a sample's media live between collection and request: content-addressed files.

`MediaStore.image(value, field)` / `.audio(value, field)` accept what `datasets` and local files
give (a PIL image, a `{"bytes", "path"}` dict, a path inside the dataset's folder, raw bytes,
an `{"array", "sampling_rate"}` audio dict), normalise the medium once (images: optional downscale
to `max_side` and re-encode to `format`; audio arrays: 16-bit PCM WAV), write the bytes to
`<root>/<sha256[:2]>/<sha256>.<ext>`, and return a small `MediaRef` (hash, format, size, pixel size
or duration). Samples keep only the refs; the bytes are read back when the request body is built.

Paths: `dataset_file` is the one rule for a file a row names: inside the dataset's folder only
(docs/security.md).

Limits: an image over `max_image_bytes` after encoding, or audio over `max_audio_bytes`, an
unreadable file or undecodable bytes raise `MediaError` naming the field and the reason — the
loader turns that into an error of that sample (file:line), never of the run.
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
import re
import secrets
import shutil
import signal
import struct
import tempfile
import threading
import warnings
import wave
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import MediaError

ImageFormat = Literal["keep", "png", "jpeg", "webp"]
MIME = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
}


class MediaOptions(BaseModel):
    """`--llm-image-max-side` / `--llm-image-format`, and the size limits (bytes)."""

    image_max_side: int | None = Field(default=None, ge=16)
    image_format: ImageFormat = "keep"
    max_image_bytes: int = 20 * 1024 * 1024
    max_audio_bytes: int = 25 * 1024 * 1024


class MediaRef(BaseModel):
    """One medium of a sample, as the samples JSONL records it (never its bytes)."""

    kind: Literal["image", "audio"]
    # checked: the spooled file's name is made of these (a forged ref must not name another file)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: str = Field(pattern=r"^[a-z0-9]{1,10}$")
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    field: str = ""

    @property
    def mime(self) -> str:
        return MIME.get(self.format, f"{self.kind}/{self.format}")


class MediaStore:
    """Content-addressed media files under `root`; relative paths resolve against `base_dir`."""

    def __init__(self, root: Path, options: MediaOptions | None = None, base_dir: Path | None = None) -> None:
        self.root = root
        self.options = options or MediaOptions()
        self.base_dir = base_dir

    def path_of(self, ref: MediaRef) -> Path:
        return self.root / ref.sha256[:2] / f"{ref.sha256}.{ref.format}"

    def read(self, ref: MediaRef) -> bytes:
        try:
            return self.path_of(ref).read_bytes()
        except OSError as exc:
            raise MediaError(
                f"{ref.kind} {ref.field or ref.sha256[:12]}: spooled file is gone ({exc.strerror})"
            ) from None

    def _put(self, data: bytes, ref_fields: dict[str, Any]) -> MediaRef:
        digest = hashlib.sha256(data).hexdigest()
        ref = MediaRef(sha256=digest, bytes=len(data), **ref_fields)
        target = self.path_of(ref)
        if not target.exists():
            # xdist workers spool the same media at the same time: each writes its own partial file
            partial = target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial.write_bytes(data)
                partial.replace(target)  # atomic: a concurrent reader never sees half a file
            except OSError as exc:  # a full disk fails this sample, not the run
                raise MediaError(
                    f"{ref.kind} field {ref.field!r}: cannot spool it to {self.root} ({exc.strerror})"
                ) from None
            finally:
                partial.unlink(missing_ok=True)
        return ref

    # -- raw bytes from whatever the dataset holds ---------------------------------------------

    def _raw(self, value: Any, field: str, kind: str, folder: Path | None) -> tuple[bytes, str | None]:
        """(bytes, file name hint) of a `{"bytes", "path"}` dict, a path, or bytes. A path is read
        only when it names a file inside `folder` (`dataset_file`)."""
        if isinstance(value, (bytes, bytearray)):
            return bytes(value), None
        if isinstance(value, dict) and value.get("bytes"):
            return bytes(value["bytes"]), value.get("path")
        path_value = value.get("path") if isinstance(value, dict) else value
        if isinstance(path_value, (str, Path)) and str(path_value):
            path = dataset_file(path_value, folder, f"{kind} field {field!r}")
            try:
                return path.read_bytes(), path.name
            except OSError as exc:
                raise MediaError(f"{kind} field {field!r}: cannot read {str(path_value)!r} ({exc.strerror})") from None
        raise MediaError(
            f"{kind} field {field!r}: expected a {kind}, a {{bytes, path}} dict or a file path, "
            f"got {type(value).__name__}"
        )

    # -- images --------------------------------------------------------------------------------

    def image(self, value: Any, field: str, *, folder: Path | None = None) -> MediaRef:
        """Normalise and spool one image (see the module docstring). A path names a file inside
        `folder` (default: the store's `base_dir`), the folder of the dataset the row came from."""
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError:  # pragma: no cover - Pillow is a dependency
            raise MediaError("reading images needs Pillow: pip install pillow") from None
        if isinstance(value, Image.Image):
            image, source_format = value, (value.format or "png").lower()
            _check_pixels(image.size, field)
        else:
            raw, _ = self._raw(value, field, "image", folder or self.base_dir)
            try:
                with warnings.catch_warnings():  # a DecompressionBombWarning under -W error is no crash either
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    image = Image.open(io.BytesIO(raw))
                    _check_pixels(image.size, field)  # from the header, before any pixel is decoded
                    image.load()
            except MediaError:
                raise
            except Exception as exc:
                # (UnidentifiedImageError, DecompressionBombError, OSError, SyntaxError, struct.error, EOFError...)
                # Pillow's "cannot identify image file <_io.BytesIO object at 0x...>" names our buffer, not the file
                reason = "no image format Pillow reads" if isinstance(exc, UnidentifiedImageError) else str(exc)
                named = f"{value!r}: " if isinstance(value, str) and len(value) <= 200 else ""
                raise MediaError(f"image field {field!r}: not a readable image ({named}{reason})") from None
            source_format = (image.format or "png").lower()
        target = source_format if self.options.image_format == "keep" else self.options.image_format
        if target not in ("png", "jpeg", "webp", "gif", "bmp"):
            target = "png"
        max_side = self.options.image_max_side
        needs_resize = max_side is not None and max(image.size) > max_side
        if not needs_resize and target == source_format and not isinstance(value, Image.Image):
            data = raw
        else:
            if max_side is not None and needs_resize:
                image = image.copy()
                image.thumbnail((max_side, max_side))  # keeps the aspect ratio
            data = _encode(image, target, field)
        if len(data) > self.options.max_image_bytes:
            raise MediaError(
                f"image field {field!r}: {len(data):,} bytes is over the {self.options.max_image_bytes:,}-byte "
                "limit (use --llm-image-max-side to downscale)"
            )
        return self._put(
            data, {"kind": "image", "format": target, "width": image.size[0], "height": image.size[1], "field": field}
        )

    # -- audio ---------------------------------------------------------------------------------

    def audio(self, value: Any, field: str, *, folder: Path | None = None) -> MediaRef:
        """Spool one audio clip: arrays become 16-bit PCM WAV; files and bytes keep their format. A
        path names a file inside `folder` (default: the store's `base_dir`)."""
        if isinstance(value, dict) and value.get("array") is not None:
            data, duration_s = _wav_from_array(value["array"], value.get("sampling_rate"), field)
            duration: float | None = duration_s
            fmt = "wav"
        else:
            data, name = self._raw(value, field, "audio", folder or self.base_dir)
            fmt = _audio_format(data, name, field)
            duration = _wav_duration(data) if fmt == "wav" else None
        if len(data) > self.options.max_audio_bytes:
            raise MediaError(
                f"audio field {field!r}: {len(data):,} bytes is over the {self.options.max_audio_bytes:,}-byte limit"
            )
        return self._put(data, {"kind": "audio", "format": fmt, "duration_s": duration, "field": field})


# The pixel count an image may declare (Pillow's own decompression-bomb threshold, 89.5 M pixels):
# a 100,000 x 100,000 PNG of a few KB is refused from its header, before 40 GB are decoded.
MAX_IMAGE_PIXELS = 89_478_485
# Sampling rates an audio array may give (WAV stores the rate in 32 bits; real audio is 8-384 kHz).
MAX_SAMPLING_RATE = 768_000
# Modes each target format can store; any other mode (CMYK, I;16, YCbCr...) is converted first.
_SAVABLE_MODES = {
    "png": {"1", "L", "LA", "P", "RGB", "RGBA"},
    "jpeg": {"L", "RGB"},
    "webp": {"RGB", "RGBA"},
    "gif": {"L", "P"},
    "bmp": {"1", "L", "P", "RGB"},
}


def _check_pixels(size: tuple[int, int], field: str) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"image field {field!r}: {width:,} x {height:,} pixels is over the {MAX_IMAGE_PIXELS:,}-pixel "
            "limit (a decompression bomb, or an image too large to send)"
        )


def _encode(image: Any, target: str, field: str) -> bytes:
    """The image re-encoded as `target`, converting a mode the format cannot store (a CMYK JPEG
    to PNG becomes RGB; anything with transparency keeps it where the format can)."""
    buffer = io.BytesIO()
    try:
        if image.mode not in _SAVABLE_MODES[target]:
            alpha = "A" in image.getbands() or "transparency" in image.info
            rgb = "RGBA" if alpha and "RGBA" in _SAVABLE_MODES[target] else "RGB"
            image = image.convert(rgb if rgb in _SAVABLE_MODES[target] else "P")
        image.save(buffer, format=target.upper())
    except (OSError, ValueError, KeyError) as exc:
        raise MediaError(f"image field {field!r}: cannot be written as {target} ({exc})") from None
    return buffer.getvalue()


_temporary_roots: set[str] = set()  # media folders of this process to remove if it is terminated
_previous_sigterm: Any = None
_sigterm_installed = False
_sigterm_lock = threading.Lock()


def temporary_media_folder() -> tempfile.TemporaryDirectory[str]:
    """A private `llmeval-media-*` folder (`--llm-no-cache`), removed by its `cleanup()`, when the
    object is collected, and also when the process receives SIGTERM (Python's default action for it
    ends the process without running any cleanup, which left the folders behind)."""
    folder = tempfile.TemporaryDirectory(prefix="llmeval-media-", ignore_cleanup_errors=True)
    with _sigterm_lock:
        _temporary_roots.add(folder.name)
        _install_sigterm_cleanup()
    return folder


def _install_sigterm_cleanup() -> None:
    global _previous_sigterm, _sigterm_installed
    if _sigterm_installed:
        return
    try:
        _previous_sigterm = signal.signal(signal.SIGTERM, _remove_on_sigterm)
        _sigterm_installed = True
    except (ValueError, OSError):  # not the main thread: the folder is still removed at the normal end
        pass


def _remove_on_sigterm(signum: int, frame: Any) -> None:
    """Remove this process's temporary media folders, then do what SIGTERM did before (the previous
    handler, or the default action: the process ends killed by SIGTERM, as without this handler)."""
    for root in list(_temporary_roots):
        shutil.rmtree(root, ignore_errors=True)
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def dataset_file(value: str | Path, folder: Path | None, what: str) -> Path:
    """The file a row names (`image: "images/1.png"`, `decoded_image.path`, `audio_path`, ...), as a
    resolved path inside `folder`, the dataset's own folder; MediaError otherwise.

    The one rule for every file a row names: a row is untrusted data, so it may name files of its
    dataset's folder only. Refused: a path leaving it (`../`, an absolute path elsewhere, a symlink
    whose target is elsewhere: the check is on the resolved path), URLs (`file://`, `http://`), NUL
    bytes, and any path at all when the rows have no folder (they came from a hub: their media must
    be embedded bytes). `~` is never expanded (`~/x` is a folder named `~` inside the dataset)."""
    text = str(value)
    if "\0" in text:
        raise MediaError(f"{what}: the path holds a NUL byte; a row names a file of its dataset's folder")
    if _URL.match(text):
        raise MediaError(
            f"{what}: {text[:200]!r} is a URL; a row's media are embedded bytes or a file of its "
            "dataset's folder, never a URL"
        )
    if folder is None:
        raise MediaError(
            f"{what}: the row names the file {text[:200]!r}, but its rows come from a hub (no dataset "
            "folder); only media embedded in the rows are read. Pass the dataset with --llm-dataset "
            "NAME=PATH to read files of its folder"
        )
    root = folder.resolve()
    path = Path(text)
    try:
        resolved = (path if path.is_absolute() else root / path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, an unreadable name
        raise MediaError(f"{what}: cannot resolve {text[:200]!r} ({exc})") from None
    if not resolved.is_relative_to(root) or resolved == root:
        raise MediaError(
            f"{what}: path {text[:200]!r} leaves the dataset folder {str(root)!r}; a row may name "
            "files inside its dataset's folder only"
        )
    return resolved


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^(file|data):", re.IGNORECASE)


def _wav_from_array(array: Any, rate: Any, field: str) -> tuple[bytes, float]:
    import numpy as np

    if isinstance(rate, bool) or not isinstance(rate, numbers.Integral) or not 0 < int(rate) <= MAX_SAMPLING_RATE:
        raise MediaError(
            f"audio field {field!r}: an audio array needs a whole sampling_rate from 1 to "
            f"{MAX_SAMPLING_RATE:,} Hz, got {rate!r}"
        )
    rate = int(rate)
    try:
        samples = np.asarray(array, dtype=np.float64)
    except (ValueError, TypeError) as exc:  # ragged lists, text: not audio
        raise MediaError(f"audio field {field!r}: the array is not numbers ({exc})") from None
    if samples.ndim == 2:  # (frames, channels) as soundfile gives; mix down
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or samples.size == 0:
        raise MediaError(f"audio field {field!r}: expected a 1-D array of samples, got shape {samples.shape}")
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue(), samples.size / rate


def _audio_format(data: bytes, name: str | None, field: str) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    hint = (name or "").rsplit(".", 1)[-1].lower()
    raise MediaError(
        f"audio field {field!r}: only WAV and MP3 can be sent as input_audio"
        + (f" (got a .{hint} file)" if hint else " (unrecognised bytes)")
    )


def _wav_duration(data: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(data)) as clip:
            return clip.getnframes() / clip.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError, struct.error, ValueError):
        return None
