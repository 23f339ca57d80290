import logging

from res_gateway.deprecation import warn_once


def test_warned_once_per_service_and_kind(caplog):
    with caplog.at_level(logging.WARNING, logger="res_gateway"):
        warn_once("olduse.model.1", "new request")
        warn_once("olduse.model.2", "new request")
        warn_once("olduse.model", "v1.0 change event format")
        warn_once("otheruse.model", "new request")
    assert [r.getMessage() for r in caplog.records] == [
        "deprecated new request used by service 'olduse'",
        "deprecated v1.0 change event format used by service 'olduse'",
        "deprecated new request used by service 'otheruse'",
    ]
