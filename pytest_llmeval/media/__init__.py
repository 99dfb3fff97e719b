"""Images and audio in samples: read from dataset fields, normalised once, spooled to disk, and
turned into OpenAI content parts only when the request is built (so 10,000 image samples never
sit in memory at once). See docs/multimodal.md."""

from .parts import content_parts, summarise_messages
from .store import MediaError, MediaOptions, MediaRef, MediaStore

__all__ = ["MediaError", "MediaOptions", "MediaRef", "MediaStore", "content_parts", "summarise_messages"]
