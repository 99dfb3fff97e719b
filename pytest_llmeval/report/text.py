"""Text helpers every report output shares: values as text, shortened cells, JSON safe inside
`<script>`, and the endpoint URL as it may be shown.

One place each, so the HTML page, the side-by-side page, pytest-html's sample column, the JUnit
properties and the SVG charts cut and escape text the same way:

- `as_text(value)`: strings as they are, anything else as compact JSON (`{"a": [1, 2]}`); None is
  `none` ("" unless the caller says otherwise).
- `shorten(text, limit)`: at most `limit` characters; a longer text keeps its first `limit - 1`
  and ends in "…" (U+2026), so the cut is visible and the result is exactly `limit` long.
- `script_json(data)`: JSON with no `<`, `>` or `&`, so `</script>` or `<!--` in model output
  cannot end or change the `<script type="application/json">` block that carries it.
- `public_url(url)`: `scheme://host[:port]/path` without user info or query (the form
  `settings.split_base_url` stores); a URL that is no http(s) URL keeps its shape with the user
  info and query masked (`settings.redact_url`). Never raises.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from ..errors import ConfigError
from ..settings import redact_url, split_base_url

ELLIPSIS = "\u2026"


def as_text(value: Any, none: str = "") -> str:
    """`value` as text: a string unchanged, None as `none`, anything else as compact JSON."""
    if value is None:
        return none
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the last of them "…" when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def script_json(data: Any) -> Markup:
    """JSON that is safe inside <script>: no '<', '>' or '&' survive, so '</script>' cannot end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def public_url(url: str | None) -> str:
    """The endpoint as it may be shown (`-` when there is none): no user info (`user:key@`), no
    query (`?api-key=...`), an IPv6 host in brackets."""
    if not url:
        return "-"
    try:
        return split_base_url(url).public
    except ConfigError:  # not an http(s) URL (a results file edited by hand): mask, never raise
        return redact_url(url)
