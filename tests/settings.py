"""Settings for the test suite: the project's, with the bridge tests' own app installed."""

from resproject.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.bridge.testapp"]  # noqa: F405
