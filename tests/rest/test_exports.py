"""The REST bridge's public names are exactly those in ``__all__``."""

import res_gateway.http as http


def test_all_names_exist_and_are_public():
    assert len(http.__all__) == len(set(http.__all__))
    for name in http.__all__:
        value = getattr(http, name)
        assert name.isupper() or value.__module__.startswith("res_gateway.http."), name
