"""Gateway tests share the harness fixtures."""

from tests.harness import client, connect, gateway, service, start_gateway  # noqa: F401
