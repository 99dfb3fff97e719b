"""Small previews of a sample's media for the HTML report: image thumbnails and audio clips as
`data:` URLs (the report loads nothing from the network; its policy allows only `data:` images
and media).

Size caps: thumbnails are at most `THUMB_SIDE` pixels on their longer side (JPEG, or PNG for
images with transparency); audio is embedded only up to `MAX_AUDIO_PREVIEW_BYTES`, otherwise the
preview says so. A medium whose spooled file is not at hand (a report rebuilt on another machine)
has no preview; the record's hash, size and format are shown all the same.
"""

from __future__ import annotations

import base64
import io
import struct
import warnings
from collections.abc import Iterable
from typing import Any

from .store import MAX_IMAGE_PIXELS, MIME, MediaStore

THUMB_SIDE = 192
MAX_AUDIO_PREVIEW_BYTES = 1024 * 1024


def _thumbnail(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    buffer = io.BytesIO()
    try:  # a preview never ends a run: a file Pillow cannot take has none
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.size[0] * image.size[1] > MAX_IMAGE_PIXELS:
                return None
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            if image.mode in ("RGBA", "LA", "P"):
                image.convert("RGBA").save(buffer, format="PNG")
                mime = "image/png"
            else:
                image.convert("RGB").save(buffer, format="JPEG", quality=80)
                mime = "image/jpeg"
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError, struct.error):
        return None
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def previews(messages: Iterable[dict[str, Any]], store: MediaStore | None) -> list[dict[str, Any]]:
    """One entry per medium in (summarised) messages: `kind`, `label` (hash, size, format) and,
    when the file is at hand and within the caps, `url` (a data: URL)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            kind = {"image_url": "image", "input_audio": "audio"}.get(str(part.get("type")))
            info = part.get(part.get("type") or "") if kind else None
            if not isinstance(info, dict) or "sha256" not in info:
                continue
            sha, fmt, size = str(info["sha256"]), str(info.get("format", "")), int(info.get("bytes") or 0)
            entry: dict[str, Any] = {"kind": kind, "label": f"{kind} {sha[:12]} · {size:,} bytes · {fmt}"}
            path = (
                store.root / sha[:2] / f"{sha}.{fmt}" if store is not None and sha.isalnum() and fmt.isalnum() else None
            )
            if path is not None and path.is_file():
                if kind == "image":
                    entry["url"] = _thumbnail(path.read_bytes())
                elif size <= MAX_AUDIO_PREVIEW_BYTES:
                    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
                    entry["url"] = f"data:{MIME.get(fmt, 'audio/wav')};base64,{encoded}"
                else:
                    entry["label"] += " (too large to embed)"
            out.append(entry)
    return out
