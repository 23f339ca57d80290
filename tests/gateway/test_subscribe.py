"""Subscribe requests: access and get in parallel, resource sets, references and errors."""

from __future__ import annotations

MODEL = {"string": "foo", "int": 42, "bool": True, "null": None}


async def subscribe_ok(client, service, rid: str, kind: str, value) -> None:
    pending = client.send(f"subscribe.{rid}")
    reqs = await service.get_requests(2)
    await reqs.get(f"access.{rid}").respond_access(get=True)
    get = reqs.get(f"get.{rid}")
    await (get.respond_model(value) if kind == "model" else get.respond_collection(value))
    return pending


async def test_subscribe_model(client, service):
    pending = client.send("subscribe.test.model")
    reqs = await service.get_requests(2)
    access, get = reqs.get("access.test.model"), reqs.get("get.test.model")
    assert access.data == {"cid": access.data["cid"], "token": None}
    assert get.data == {}
    await access.respond_access(get=True)
    await get.respond_model(MODEL)
    assert await pending.result() == {"models": {"test.model": MODEL}}


async def test_subscribe_collection(client, service):
    pending = await subscribe_ok(client, service, "test.collection", "collection", ["foo", 42, True, None])
    assert await pending.result() == {"collections": {"test.collection": ["foo", 42, True, None]}}


async def test_subscribe_with_references(client, service):
    pending = client.send("subscribe.test.parent")
    reqs = await service.get_requests(2)
    await reqs.get("access.test.parent").respond_access(get=True)
    await reqs.get("get.test.parent").respond_model({"child": {"rid": "test.child"}})
    await (await service.get_request("get.test.child")).respond_model({"name": "c"})
    assert await pending.result() == {
        "models": {"test.parent": {"child": {"rid": "test.child"}}, "test.child": {"name": "c"}}
    }
