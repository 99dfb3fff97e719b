"""A fake OpenAI-compatible server for tests and benches (see ``server.py`` for the wire details).

``FakeOpenAIServer`` runs it in a subprocess; ``FakeServerConfig`` says how it behaves (timings,
responder, fault injection); ``canonical_body_sha256`` gives the key of ``/_stats``'s
``chat_by_body_sha256`` for a request body you sent.
"""

from ._config import FailRule, FakeServerConfig, ReplyRule
from ._process import FakeOpenAIServer, FakeServerError
from ._stats import canonical_body_sha256

__all__ = [
    "FailRule",
    "FakeOpenAIServer",
    "FakeServerConfig",
    "FakeServerError",
    "ReplyRule",
    "canonical_body_sha256",
]
