"""The demo page as Django serves it: where it connects, who the session says is signed in, its assets."""

from __future__ import annotations

import pytest
from django.test import Client

from res_gateway.conf import gateway_settings

pytestmark = pytest.mark.django_db


def test_the_page_loads_resclient_and_connects_to_the_gateway_path(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-ws-path="{gateway_settings.ws_path}"' in html
    assert 'data-session-user=""' in html
    for asset in ("/static/resclient/resclient.min.js", "/static/library/library.js"):
        assert f'src="{asset}"' in html


def test_a_django_session_names_its_user_for_the_session_auth_method(admin_client: Client) -> None:
    assert 'data-session-user="admin"' in admin_client.get("/").content.decode()


def test_the_ws_path_follows_the_gateway_config(client: Client, settings) -> None:
    settings.RES_GATEWAY = {**settings.RES_GATEWAY, "wsPath": "/ws"}
    assert 'data-ws-path="/ws"' in client.get("/").content.decode()
