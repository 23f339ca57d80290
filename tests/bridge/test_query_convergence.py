"""Query collections through a real gateway: writes in quick succession, each with its own query event,
leave every client's query collection equal to the data. Query requests are answered with the current
result (see ``res_bridge.service.Service._query``), which the gateway diffs against its copy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from res_bridge.models import AccessRule
from tests.bridge.conftest import db
from tests.bridge.testapp.models import Product
from tests.harness import Client, GatewayProcess, run_gateway

pytestmark = pytest.mark.django_db(transaction=True)

RID = "store.products?maker=orwell"


@pytest.fixture(scope="module")
def gateway(nats_url: str) -> Iterator[GatewayProcess]:
    gw = run_gateway(nats_url)
    yield gw
    gw.stop()


@pytest.fixture
async def client(gateway: GatewayProcess) -> AsyncIterator[Client]:
    c = await Client.connect(gateway.ws_url)
    await c.send("version", {"protocol": "1.2.3"}).result()
    yield c
    await c.close()


def _writes() -> None:
    """Three transactions, so three query events, one right after the other."""
    first = Product.objects.get(name="Animal Farm")
    Product.objects.create(name="1984", maker="George Orwell")
    first.maker = "Aldous Huxley"
    first.save()
    Product.objects.create(name="Homage to Catalonia", maker="George Orwell")


async def _applied(client: Client, items: list[Any]) -> list[Any]:
    """``items`` after the query collection's add and remove events, until the events stop."""
    while True:
        try:
            message = await client.get_event(wait=1.0)
        except AssertionError:
            return items
        name, data = message["event"], message.get("data") or {}
        if name == f"{RID}.add":
            items.insert(data["idx"], data["value"])
        elif name == f"{RID}.remove":
            del items[data["idx"]]


async def test_quick_writes_converge_on_the_data(service, client):
    await db(AccessRule.objects.create)(pattern="store.>", applies_to="everyone")
    await db(Product.objects.create)(name="Animal Farm", maker="George Orwell")
    await db(Product.objects.create)(name="Brave New World", maker="Aldous Huxley")
    await service.flush()
    subscribed = await client.send(f"subscribe.{RID}").result()
    items = list(subscribed["collections"][RID])
    assert len(items) == 1

    await db(_writes)()
    await service.flush()
    names = await db(
        lambda: list(Product.objects.filter(maker__icontains="orwell").values_list("id", flat=True))
    )()
    assert await _applied(client, items) == [{"rid": f"store.product.{pk}"} for pk in names]
    assert len(names) == 2
