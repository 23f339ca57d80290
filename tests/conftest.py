"""Every test gets the shared fixtures of :mod:`tests.plugin`."""

pytest_plugins = ["tests.plugin"]
