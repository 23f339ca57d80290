"""What both apps read from the environment when their settings leave it out."""

from __future__ import annotations

import os

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def nats_url() -> str:
    """The ``NATS_URL`` environment variable, else ``nats://127.0.0.1:4222``."""
    return os.environ.get("NATS_URL", "").strip() or DEFAULT_NATS_URL
