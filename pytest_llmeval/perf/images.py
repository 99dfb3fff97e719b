"""Random images as base64 data URLs for `random_vl` prompts.

PNG and BMP are encoded here with the standard library (zlib, struct); JPEG and WebP need Pillow.
Every image is fresh random noise, so a server's multimodal cache never serves one twice. PNG uses
zlib level 1: noise does not compress, and the client's CPU belongs to the measurement.
"""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib

MIME = {"png": "image/png", "bmp": "image/bmp", "jpeg": "image/jpeg", "webp": "image/webp"}


def _png(width: int, height: int, rgb: bytes) -> bytes:
    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 3
    rows = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))  # filter 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", header) + block(b"IDAT", zlib.compress(rows, 1)) + block(b"IEND", b"")


def _bmp(width: int, height: int, rgb: bytes) -> bytes:
    stride = width * 3
    padding = (4 - stride % 4) % 4
    # BMP rows are bottom-up and BGR; noise has no orientation, so only the padding matters.
    pixels = b"".join(rgb[y * stride : (y + 1) * stride] + b"\x00" * padding for y in range(height))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    head = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return head + info + pixels


def _pillow(width: int, height: int, rgb: bytes, fmt: str) -> bytes:
    from PIL import Image  # checked at validation time

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), rgb).save(buffer, format=fmt.upper())
    return buffer.getvalue()


def random_image(width: int, height: int, fmt: str, rng: random.Random) -> bytes:
    """Encoded bytes of a width x height RGB noise image in `fmt` (png, bmp, jpeg, webp)."""
    rgb = rng.randbytes(width * height * 3)
    if fmt == "png":
        return _png(width, height, rgb)
    if fmt == "bmp":
        return _bmp(width, height, rgb)
    return _pillow(width, height, rgb, fmt)


def data_url(width: int, height: int, fmt: str, rng: random.Random) -> str:
    """`data:image/<fmt>;base64,...` of a fresh random image."""
    encoded = base64.b64encode(random_image(width, height, fmt, rng)).decode("ascii")
    return f"data:{MIME[fmt]};base64,{encoded}"
