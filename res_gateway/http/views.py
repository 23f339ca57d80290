"""The REST bridge view: every RES resource and method over plain HTTP, as resgate serves them.

``GET``/``HEAD /api/<rid path>`` reads a resource, ``POST /api/<rid path>/<method>`` calls a method,
and ``PUT``/``PATCH``/``DELETE /api/<rid path>`` call the methods the settings map them to. Each
request runs on a temporary connection (header auth first when configured); local checks (CORS,
path, verb, body) answer before any service request is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from res_gateway.conf import gateway_settings
from res_gateway.connection import Connection, Resource, ResourceTree, ServiceReply, new_cid
from res_gateway.gateway import Gateway, get_gateway
from res_gateway.metrics import metrics
from res_gateway.service_client import ServiceClient
from res_gateway.subscription import references
from res_gateway.web.cors import cors, preflight_headers
from res_gateway.web.meta import Header, Meta, merge_header
from res_gateway.web.paths import path_to_rid, path_to_rid_method, request_path, rid_to_path
from res_gateway.web.request import raw_path, request_header, request_info
from res_gateway.web.status import error_status, status_error
from res_protocol import CID_TAG, errors, is_valid_rid
from res_protocol.access import Access
from res_protocol.codec import JSONDecodeError, dumps, loads
from res_protocol.errors import ResError

from .encoding import TreeEncoder
from .renderers import ResourceBrowsableRenderer, wants_html
from .responses import ApiResponse, BrowsableResponse

logger = logging.getLogger(__name__)

FORBIDDEN_ORIGIN = ResError(errors.CODE_FORBIDDEN, "Forbidden origin")
#: Responses to cached reads kept for reads of the same tree, unchanged, with the same CORS headers.
READS_KEPT = 1024
MAPPED_VERBS = ("PUT", "PATCH", "DELETE")


def body_too_large(limit: int) -> ResError:
    return ResError(errors.CODE_BAD_REQUEST, f"Request body too large: more than {limit} bytes")


def legacy_new_rid(result: Any) -> str | None:
    """The RID of a deprecated ``new`` result (``{"rid": ...}`` alone): it counts as a resource response."""
    rid = result.get("rid") if isinstance(result, dict) and len(result) == 1 else None
    if not isinstance(rid, str):
        return None
    if not is_valid_rid(rid):
        raise errors.internal_error("invalid resource rid in new response")
    return rid


@dataclass
class Outcome:
    """What a request came to: a body (``None`` is no content), a resource href, or an error; plus meta."""

    content: Any = None
    href: str = ""
    error: ResError | None = None
    meta: Meta = field(default_factory=Meta)


def _quiet_cancel(task: asyncio.Future[Any]) -> None:
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def _reply(request: Awaitable[ServiceReply]) -> ServiceReply:
    """A service reply, with a raised RES error turned into an error reply."""
    try:
        return await request
    except ResError as e:
        return ServiceReply(error=e)


def _access(reply: ServiceReply) -> Access | ResError:
    """The access a reply grants, or the error it stands for (a null result is one, as in resgate)."""
    if reply.error is not None:
        return reply.error
    if reply.result is None:
        return errors.internal_error("response missing result")
    try:
        return Access.from_result(reply.result)
    except ResError as e:
        return e


def cached_tree(rid: str) -> ResourceTree | None:
    """``rid`` and every resource it references, as the cache holds them now; None unless all are loaded."""
    cache = get_gateway().cache
    tree = ResourceTree(rid, {}, {})
    todo = [rid]
    while todo:
        key = todo.pop()
        if key in tree.resources:
            continue
        rs = cache.cached(key)
        if rs is None or CID_TAG in key:
            return None
        tree.resources[key] = Resource(rs.kind, rs.value)
        todo.extend(references(rs.kind, rs.value))
    return tree


class CachedRead(ServiceClient):
    """A cached read's access request, with a cid of its own and no token as a temporary connection's,
    without making one (a connection is made only to load what the cache lacks)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway, self.cid, self.token = gateway, new_cid(), None


#: The latest response to a cached read, with the tree it shows, by what else shapes it (``read_messages``).
_reads: dict[tuple[Any, ...], tuple[ResourceTree, AsgiMessages]] = {}


def still_cached(tree: ResourceTree) -> bool:
    """Whether the cache holds every resource of ``tree`` as it did (values are replaced, never changed)."""
    cache = get_gateway().cache
    for key, resource in tree.resources.items():
        rs = cache.cached(key)
        if rs is None or rs.value is not resource.value:
            return False
    return True


#: The tree last read of each RID, read again while the cache holds it unchanged (``current_tree``).
_trees: dict[str, ResourceTree] = {}


def current_tree(rid: str) -> ResourceTree | None:
    """:func:`cached_tree`, without walking the references again while nothing in the tree changed."""
    tree = _trees.get(rid)
    if tree is not None and still_cached(tree):
        return tree
    tree = cached_tree(rid)
    if tree is None:
        _trees.pop(rid, None)
        return None
    if rid not in _trees and len(_trees) >= READS_KEPT:
        del _trees[next(iter(_trees))]
    _trees[rid] = tree
    return tree


@lru_cache(maxsize=8)
def mounted_at(urlconf: str, api_path: str) -> bool:
    """Whether the site's URLconf sends ``api_path`` to :class:`ResourceView` (as ``api_urls()`` does)."""
    try:
        match = resolve(api_path + "x", urlconf)
    except Resolver404:
        return False
    return getattr(match.func, "view_class", None) is ResourceView and match.kwargs.get("path") == "x"


@lru_cache(maxsize=1024)
def cached_read_rid(raw_path: bytes, query_string: bytes, api_path: str) -> str | None:
    """The RID a cached read's raw path and query name (clients read the same few again and again);
    None when the path names none, ends in ``/``, or the query is not UTF-8."""
    try:
        query = query_string.decode()
    except UnicodeDecodeError:
        return None
    path = request_path(raw_path.decode("latin-1"))
    if path is None or path.endswith("/"):
        return None
    return path_to_rid(path, query, api_path)


#: An API response as the two ASGI messages that send it.
AsgiMessages = tuple[dict[str, Any], dict[str, Any]]


def asgi_messages(response: HttpResponse) -> AsgiMessages:
    """An API response (no cookies, no streaming) as Django's handler sends it to ASGI."""
    headers = [(key.encode("ascii"), value.encode("latin-1")) for key, value in response.items()]
    return (
        {"type": "http.response.start", "status": response.status_code, "headers": headers},
        {"type": "http.response.body", "body": response.content},
    )


class ResourceView(APIView):
    """RES resources and methods over HTTP, for machines as resgate's JSON and for browsers as HTML."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    renderer_classes = (JSONRenderer, ResourceBrowsableRenderer)
    http_method_names = ["get", "head", "post", "put", "patch", "delete", "options"]

    rid = ""
    method = ""

    @classmethod
    async def serve_cached(cls, scope: dict[str, Any], send: Any) -> bool:
        """Answer a plain ``GET``/``HEAD`` of a resource tree the cache holds straight to ASGI.

        No URL resolution, Django request, DRF wrapping or temporary connection: only the access request
        goes to the service, as for every read. False, with nothing sent or requested, when the full view
        must answer (header auth, a browser's page, a path naming no RID, a CORS refusal, anything not
        cached, a ``{cid}`` RID, the gateway not connected).
        """
        config = gateway_settings.current()
        raw = scope.get("raw_path")
        if scope["method"] not in ("GET", "HEAD") or config.header_auth is not None or scope.get("root_path"):
            return False
        if not raw or not mounted_at(settings.ROOT_URLCONF, config.api_path):
            return False
        header = request_header(scope)
        if config.browsable_api and wants_html(",".join(header.get("Accept", []))):
            return False
        common = cors(header.get("Origin", [None])[0], config.allow_origin, credentials=False)
        if not common.allowed:
            return False
        rid = cached_read_rid(raw, scope["query_string"], config.api_path)
        gateway = get_gateway()
        if rid is None or gateway.stopping or not gateway.mq.connected:
            return False
        tree = current_tree(rid)
        if tree is None:
            return False
        view = cls()
        view.method, view.header, view.prefix, view.rid = scope["method"], header, config.api_path, rid
        view.cors_header = {key: [value] for key, value in common.headers.items()}
        metrics.http_request(view.method)
        held = gateway.cache.hold(tree.resources)  # as a temporary subscription would
        try:
            start, body = view.read_messages(await view.read_cached(CachedRead(gateway), rid))
        except Exception:
            logger.exception("HTTP API request failed: %s %s", view.method, raw.decode("latin-1"))
            start, body = asgi_messages(view.error_response(errors.INTERNAL_ERROR, {}))
        finally:
            gateway.cache.release(held)
        await send(start)  # ASGI servers read the messages and keep nothing of them
        await send(body)
        return True

    # DRF's hints know a synchronous dispatch alone; Django awaits an async view's (View.view_is_async).
    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        self.args, self.kwargs, self.headers = args, kwargs, {}
        self.method = request.method or ""
        self.request = drf_request = self.initialize_request(request, *args, **kwargs)
        try:
            response = await self.respond(request, kwargs.get("path", ""))
        except Exception:
            logger.exception("HTTP API request failed: %s %s", request.method, request.get_full_path())
            response = self.error_response(errors.INTERNAL_ERROR, {})
        if isinstance(response, Response):  # DRF has nothing to add to the others
            return self.finalize_response(drf_request, response, *args, **kwargs)
        return response

    async def respond(self, request: HttpRequest, rest: str) -> HttpResponse:
        """The checks every request passes before its verb's handler, in resgate's order."""
        assert isinstance(request, ASGIRequest)  # the bridge is served over ASGI alone
        scope = request.scope
        self.header = request_header(scope)
        self.scope = scope
        common = cors(
            self.header.get("Origin", [None])[0],
            gateway_settings.allow_origin,
            credentials=gateway_settings.header_auth is not None,
        )
        self.cors_header = {key: [value] for key, value in common.headers.items()}
        if request.method == "OPTIONS":
            preflight = preflight_headers(
                gateway_settings.allow_methods, self.header.get("Access-Control-Request-Headers", [])
            )
            return ApiResponse(200, {**self.cors_header, **{k: [v] for k, v in preflight.items()}})
        if not common.allowed:
            return self.error_response(FORBIDDEN_ORIGIN)

        path = request_path(raw_path(scope))
        # The prefix this view is mounted under: the request path less the part the route captured.
        self.prefix = request.path[: len(request.path) - len(rest)] if rest else request.path
        self.query = request.META.get("QUERY_STRING", "")
        if path is None or (len(path) > len(self.prefix) and path.endswith("/")):
            return self.error_response(errors.NOT_FOUND)
        self.path = path
        verb = self.method.lower()
        if verb not in self.http_method_names:
            return self.error_response(errors.METHOD_NOT_ALLOWED)
        handler: Callable[[HttpRequest], Awaitable[HttpResponse]] = getattr(self, verb)
        return await handler(request)

    # --- verbs ---------------------------------------------------------------------------------------

    async def get(self, request: HttpRequest) -> HttpResponse:
        metrics.http_request(self.method)
        rid = path_to_rid(self.path, self.query, self.prefix)
        if rid is None:
            return self.error_response(errors.NOT_FOUND)
        self.rid = rid
        return await self.temporary_connection(lambda conn: self.read(conn, rid))

    head = get

    async def post(self, request: HttpRequest) -> HttpResponse:
        metrics.http_request(self.method)
        target = path_to_rid_method(self.path, self.query, self.prefix)
        return await self.call_method(request, target)

    async def put(self, request: HttpRequest) -> HttpResponse:
        return await self.mapped_call(request)

    patch = delete = put

    async def mapped_call(self, request: HttpRequest) -> HttpResponse:
        method = {
            "PUT": gateway_settings.put_method,
            "PATCH": gateway_settings.patch_method,
            "DELETE": gateway_settings.delete_method,
        }[self.method]
        if method is None:
            return self.error_response(errors.METHOD_NOT_ALLOWED)
        metrics.http_request(self.method)
        rid = path_to_rid(self.path, self.query, self.prefix)
        return await self.call_method(request, (rid, method) if rid is not None else None)

    async def call_method(self, request: HttpRequest, target: tuple[str, str] | None) -> HttpResponse:
        if target is None:
            return self.error_response(errors.NOT_FOUND)
        rid, method = target
        self.rid = rid
        limit = gateway_settings.max_body_size
        length = request.META.get("CONTENT_LENGTH", "")
        if length.isdigit() and int(length) > limit:
            return self.error_response(body_too_large(limit), status=413)
        body = request.read(limit + 1)
        if len(body) > limit:
            return self.error_response(body_too_large(limit), status=413)
        params = None
        if body.strip():
            try:
                params = loads(body)
            except JSONDecodeError as e:
                return self.error_response(
                    ResError(errors.CODE_BAD_REQUEST, f"Error decoding request body: {e}")
                )
        return await self.temporary_connection(lambda conn: self.invoke(conn, rid, method, params))

    # --- the service requests ------------------------------------------------------------------------

    async def temporary_connection(self, action: Callable[[Connection], Awaitable[Outcome]]) -> HttpResponse:
        """Run ``action`` on a connection made for this request, after header auth when configured."""
        conn = Connection(get_gateway(), request_info=request_info(self.scope))
        try:
            await conn.open()
        except ResError as e:
            await conn.close()
            return self.error_response(e)
        try:
            auth_meta = Meta()
            if gateway_settings.header_auth is not None:
                rid, method = gateway_settings.header_auth
                reply = await _reply(conn.auth(rid, method, is_http=True))
                auth_meta = Meta.parse(reply.meta)
                if auth_meta.is_direct:
                    href = rid_to_path(reply.resource or "", self.prefix)
                    return self.status_response(auth_meta, href, reply.error)
            outcome = await action(conn)
        finally:
            await conn.close()
        return self.outcome_response(outcome, auth_meta)

    async def check_access(
        self, conn: ServiceClient, rid: str, allows: Callable[[Access], bool]
    ) -> tuple[Meta, Outcome | None]:
        """The access request (``isHttp``): its meta, and the outcome that ends the request if it does."""
        reply = await _reply(conn.access(rid, is_http=True))
        meta = Meta.parse(reply.meta)
        if meta.is_direct:
            return meta, Outcome(error=reply.error, meta=meta)
        access = _access(reply)
        if isinstance(access, ResError):
            return meta, Outcome(error=access, meta=meta)
        if not allows(access):
            return meta, Outcome(error=errors.ACCESS_DENIED, meta=meta)
        return meta, None

    async def read(self, conn: Connection, rid: str) -> Outcome:
        """Access, in parallel with loading the tree from the cache."""
        loading = asyncio.ensure_future(conn.load(rid))
        try:
            meta, denied = await self.check_access(conn, rid, lambda access: access.get)
            if denied is not None:
                return denied
            try:
                tree = await loading
            except ResError as e:
                return Outcome(error=e, meta=meta)
            return Outcome(content=tree, meta=meta)
        finally:
            if not loading.done():
                _quiet_cancel(loading)

    async def read_cached(self, reader: CachedRead, rid: str) -> Outcome:
        """Access, then ``rid``'s tree as the cache holds it once the reply and the events sent before it
        are in (:func:`current_tree`: the same tree as before the request if nothing in it changed)."""
        meta, denied = await self.check_access(reader, rid, lambda access: access.get)
        if denied is not None:
            return denied
        current = current_tree(rid)
        if current is None:  # it changed meanwhile to reference what is not cached: load it
            conn = Connection(reader.gateway)
            try:
                current = await conn.load(rid)
            except ResError as e:
                return Outcome(error=e, meta=meta)
            finally:
                await conn.close()
        return Outcome(content=current, meta=meta)

    async def invoke(self, conn: Connection, rid: str, method: str, params: Any) -> Outcome:
        """Access that must allow the method, then the call (``isHttp``)."""
        meta, denied = await self.check_access(conn, rid, lambda access: access.can_call(method))
        if denied is not None:
            return denied
        result = await _reply(conn.call(rid, method, params, is_http=True))
        meta = meta.merge(Meta.parse(result.meta))
        if result.error is not None:
            return Outcome(error=result.error, meta=meta)
        resource = result.resource
        if resource is None and method == "new":
            try:
                resource = legacy_new_rid(result.result)
            except ResError as e:
                return Outcome(error=e, meta=meta)
        if resource:
            return Outcome(href=rid_to_path(resource, self.prefix), meta=meta)
        return Outcome(content=result.result, meta=meta)

    # --- responses -----------------------------------------------------------------------------------

    def read_messages(self, outcome: Outcome) -> AsgiMessages:
        """The response to a cached read: built once for a tree read again unchanged, with no meta, by
        the same method with the same CORS headers (the messages are only read when sent)."""
        content, meta = outcome.content, outcome.meta
        if outcome.error is not None or meta.status is not None or meta.header:
            return asgi_messages(self.outcome_response(outcome, Meta()))
        cors_header = tuple((key, tuple(values)) for key, values in self.cors_header.items())
        key = (self.rid, self.method, self.prefix, gateway_settings.api_encoding, cors_header)
        kept = _reads.get(key)
        if kept is not None and kept[0] is content:  # current_tree's same tree: nothing in it changed
            return kept[1]
        messages = asgi_messages(self.outcome_response(outcome, Meta()))
        if len(_reads) >= READS_KEPT:
            del _reads[next(iter(_reads))]
        _reads[key] = (content, messages)
        return messages

    def outcome_response(self, outcome: Outcome, auth_meta: Meta) -> HttpResponse:
        meta = auth_meta.merge(outcome.meta).validated()
        if meta.is_direct:
            return self.status_response(meta, outcome.href, outcome.error)
        header = dict(self.cors_header)
        merge_header(header, meta.header)
        if outcome.error is not None:
            error = outcome.error
            if error.code == errors.CODE_METHOD_NOT_FOUND and self.method in MAPPED_VERBS:
                error = errors.METHOD_NOT_ALLOWED
            return self.error_response(error, header)
        if outcome.href:
            header["Location"] = [outcome.href]
            return ApiResponse(200, header)
        if outcome.content is None:
            return ApiResponse(204, header)
        if self.method in ("GET", "HEAD"):
            return self.tree_response(outcome.content, header)
        return ApiResponse(200, header, dumps(outcome.content))

    def status_response(self, meta: Meta, href: str, error: ResError | None) -> HttpResponse:
        """A direct response for a 3xx, 4xx or 5xx status in meta."""
        header = dict(self.cors_header)
        assert meta.status is not None
        if meta.status < 400:
            if href and "Location" not in meta.header:
                header["Location"] = [href]
            merge_header(header, meta.header)
            return ApiResponse(meta.status, header)
        merge_header(header, meta.header)
        return self.error_response(error or status_error(meta.status), header, status=meta.status)

    def error_response(
        self, error: ResError, header: Header | None = None, status: int | None = None
    ) -> HttpResponse:
        header = self.cors_header if header is None else header
        status = status or error_status(error)
        if self.browsable:
            return self.browsable_response(error.to_dict(), header, status)
        return ApiResponse(status, header, dumps(error.to_dict()))

    def tree_response(self, tree: Any, header: Header) -> HttpResponse:
        if self.browsable:
            api_path = self.request.build_absolute_uri(self.prefix)
            return self.browsable_response(TreeEncoder(api_path, flat=self.flat).value(tree), header, 200)
        return ApiResponse(200, header, TreeEncoder(self.prefix, flat=self.flat).encode(tree))

    def browsable_response(self, data: Any, header: Header, status: int) -> HttpResponse:
        self.request.accepted_renderer = ResourceBrowsableRenderer()
        self.request.accepted_media_type = "text/html"
        response = BrowsableResponse(data, status=status)
        response.set_headers(header)
        response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Accept"]))
        # The page skips the site's middleware (see asgi.py): keep its framing protection.
        response["X-Frame-Options"] = "DENY"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @property
    def flat(self) -> bool:
        return gateway_settings.api_encoding == "jsonflat"

    @property
    def browsable(self) -> bool:
        return bool(
            gateway_settings.browsable_api
            and self.method in ("GET", "HEAD")
            and wants_html(",".join(getattr(self, "header", {}).get("Accept", [])))
        )

    def get_view_name(self) -> str:
        return self.rid or "RES resource"

    def get_view_description(self, html: bool = False) -> str:
        return "A live RES resource; references link to the resources they name."
