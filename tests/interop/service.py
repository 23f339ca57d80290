"""A small in-memory RES service on nats-py that the interop tests put behind the gateway.

Each instance serves its own RID root (``interop1``, ``interop2`` ...), so tests sharing one gateway never see
each other's cached resources. Under that root: ``books`` (collection of references, with ``new`` and
``delete`` calls), ``book.<id>`` (models with a ``set`` call and a ``fail`` call that returns a custom error),
and ``secret``, readable only with the token that ``auth`` on ``user.login`` sets (``user.logout`` clears it).
"""

from __future__ import annotations

import itertools
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from res_protocol import (
    Access,
    ResError,
    dumps,
    error_payload,
    errors,
    loads,
    ref,
    resource_payload,
    result_payload,
)
from tests.support import nats_round_trip

BOOKS = [
    {"id": 1, "title": "Animal Farm", "author": "George Orwell"},
    {"id": 2, "title": "Brave New World", "author": "Aldous Huxley"},
]
PASSWORDS = {"alice": "wonderland"}
CUSTOM_ERROR = ResError("interop.bookFailed", "The book refused", {"reason": "test"})

_roots = itertools.count(1)


class BookService:
    """Serves a few books and a secret; every change is published as RES events before the reply."""

    def __init__(self, books: list[dict[str, Any]]) -> None:
        self.root = f"interop{next(_roots)}"
        self.books = {book["id"]: dict(book) for book in books}
        self.order = [book["id"] for book in books]
        self.next_id = max(self.order, default=0) + 1
        self.nc: Client | None = None

    def rid(self, name: str) -> str:
        """The full RID of ``name`` (``book.1``, ``books``, ``secret``, ``user``) under this root."""
        return f"{self.root}.{name}"

    async def start(self, nats_url: str) -> None:
        self.nc = await nats.connect(nats_url)
        for kind in ("get", "access", "call", "auth"):
            await self.nc.subscribe(f"{kind}.{self.root}.>", cb=self._handle)
        await nats_round_trip(self.nc)

    async def stop(self) -> None:
        if self.nc is not None:
            await self.nc.drain()

    async def publish(self, subject: str, payload: Any) -> None:
        assert self.nc is not None
        await self.nc.publish(subject, dumps(payload))

    async def _handle(self, msg: Msg) -> None:
        kind, name = msg.subject.split(".", 1)
        name = name.removeprefix(f"{self.root}.")
        request = loads(msg.data) if msg.data else {}
        try:
            if kind == "get":
                payload = result_payload(self.get(name))
            elif kind == "access":
                payload = result_payload(self.access(name, request.get("token")))
            else:
                name, method = name.rsplit(".", 1)
                handler = self.auth if kind == "auth" else self.call
                payload = await handler(name, method, request)
        except ResError as error:
            payload = error_payload(error)
        await msg.respond(payload)

    def get(self, name: str) -> dict[str, Any]:
        if name == "books":
            return {"collection": [ref(self.rid(f"book.{i}")) for i in self.order]}
        if name == "secret":
            return {"model": {"message": "members only"}}
        return {"model": self._book(name)}

    def access(self, name: str, token: Any) -> dict[str, Any]:
        if name == "secret":
            return Access(get=token is not None).to_result()
        return Access(get=True, call="*").to_result()

    async def call(self, name: str, method: str, request: dict[str, Any]) -> bytes:
        params = request.get("params") or {}
        if name == "books" and method == "new":
            return await self._new(params)
        if name == "books" and method == "delete":
            return await self._delete(params)
        book = self._book(name)
        if method == "set":
            return await self._set(name, book, params)
        if method == "fail":
            raise CUSTOM_ERROR()
        raise errors.METHOD_NOT_FOUND()

    async def auth(self, name: str, method: str, request: dict[str, Any]) -> bytes:
        if name != "user" or method not in ("login", "logout"):
            raise errors.METHOD_NOT_FOUND()
        token = None
        if method == "login":
            params = request.get("params") or {}
            username = params.get("username")
            if PASSWORDS.get(username) != params.get("password"):
                raise ResError("interop.invalidCredentials", "Invalid username or password")
            token = {"user": username}
        await self.publish(f"conn.{request['cid']}.token", {"token": token})
        return result_payload(token)

    def set_book(self, book_id: int, **values: Any) -> None:
        """Change a book without publishing anything, as if the change happened while no gateway listened."""
        self.books[book_id].update(values)

    def _book(self, name: str) -> dict[str, Any]:
        kind, _, book_id = name.partition(".")
        if kind != "book" or not book_id.isdigit() or int(book_id) not in self.books:
            raise errors.NOT_FOUND()
        return self.books[int(book_id)]

    def _validated(self, params: dict[str, Any], required: bool) -> dict[str, str]:
        values = {k: params[k] for k in ("title", "author") if k in params}
        if (required and len(values) < 2) or any(not isinstance(v, str) or not v for v in values.values()):
            raise errors.invalid_params("Title and author must be non-empty strings")
        return values

    async def _set(self, name: str, book: dict[str, Any], params: dict[str, Any]) -> bytes:
        changed = {k: v for k, v in self._validated(params, required=False).items() if book[k] != v}
        if changed:
            book.update(changed)
            await self.publish(f"event.{self.rid(name)}.change", {"values": changed})
        return result_payload(None)

    async def _new(self, params: dict[str, Any]) -> bytes:
        book = {"id": self.next_id, **self._validated(params, required=True)}
        self.next_id += 1
        self.books[book["id"]] = book
        self.order.append(book["id"])
        rid = self.rid(f"book.{book['id']}")
        await self.publish(f"event.{self.rid('books')}.add", {"value": ref(rid), "idx": len(self.order) - 1})
        return resource_payload(rid)

    async def _delete(self, params: dict[str, Any]) -> bytes:
        book_id = params.get("id")
        if book_id not in self.books:
            raise errors.NOT_FOUND()
        idx = self.order.index(book_id)
        del self.order[idx], self.books[book_id]
        await self.publish(f"event.{self.rid('books')}.remove", {"idx": idx})
        return result_payload(None)
