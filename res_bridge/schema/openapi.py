"""An OpenAPI 3.1 document of the REST bridge serving the registered resources (``resschema --openapi``).

Resources are read with GET at ``<apiPath><rid with / for .>`` in the gateway's default ``json`` encoding:
references are ``{"href", "model"|"collection"|"error"}`` objects (only ``href`` when the reference goes back
to a resource already on the path). Call methods are POST to ``<resource path>/<method>`` with the params as
the JSON body. Errors are RES errors ``{"code", "message", "data"?}`` under the statuses resgate uses.
"""

from __future__ import annotations

import re
from typing import Any

from . import Field, Kind, Method, Schema, Type

Json = dict[str, Any]

#: The error responses of the REST bridge: status → (description, RES error codes).
ERRORS: dict[str, tuple[str, str]] = {
    "400": ("Invalid params, query or body", "system.invalidParams, system.invalidQuery, system.badRequest"),
    "401": ("Access denied", "system.accessDenied"),
    "404": ("Not found", "system.notFound, system.methodNotFound, system.timeout"),
    "500": ("Internal error", "system.internalError"),
    "503": ("Service unavailable", "system.serviceUnavailable"),
}
_PARAM = re.compile(r"\{([^{}]+)\}")


def document(schema: Schema, api_path: str = "/api/", title: str = "RES resources") -> Json:
    keys = {r.name: r.lookup_type for r in schema.resources}
    paths: Json = {}
    schemas: Json = {
        "Error": {
            "type": "object",
            "description": "A RES error.",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "data": {}},
            "required": ["code", "message"],
        }
    }
    for resource in schema.resources:
        schemas[resource.name] = _object(resource.fields, keys)
        schemas[resource.name]["description"] = f"{resource.doc}: {resource.rid}"
        schemas[f"{resource.name}Ref"] = _reference(resource.name, "model")
        params = {resource.lookup: resource.lookup_type}
        _add_resource(paths, api_path, resource.rid, resource.name, params, (), resource.doc)
        _add_methods(paths, api_path, resource.rid, resource.name, resource.methods, params, keys)
        for collection in resource.collections:
            schemas[collection.name] = {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{collection.item}Ref"},
                "description": f"{collection.rid}: {collection.item} references.",
            }
            schemas[f"{collection.name}Ref"] = _reference(collection.name, "collection")
            _add_resource(
                paths, api_path, collection.rid, collection.name, params, collection.query, collection.rid
            )
            _add_methods(paths, api_path, collection.rid, collection.name, collection.methods, params, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "1",
            "description": "The REST bridge of the RES gateway: GET reads a resource, POST calls a method.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                f"Error{status}": {
                    "description": f"{description} ({codes})",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                for status, (description, codes) in ERRORS.items()
            },
        },
    }


def _reference(name: str, kind: str) -> Json:
    return {
        "type": "object",
        "description": f"A reference: its href, and the {kind} (unless already on the path) or an error.",
        "properties": {
            "href": {"type": "string"},
            kind: {"$ref": f"#/components/schemas/{name}"},
            "error": {"$ref": "#/components/schemas/Error"},
        },
        "required": ["href"],
    }


def _path(api_path: str, rid: str) -> str:
    return api_path + rid.replace(".", "/")


def _path_params(rid: str, params: dict[str, Type]) -> list[Json]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _schema(params.get(name, Type(Kind.STRING)), {}),
        }
        for name in _PARAM.findall(rid)
    ]


def _errors(*statuses: str) -> Json:
    return {status: {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


def _add_resource(
    paths: Json,
    api_path: str,
    rid: str,
    name: str,
    params: dict[str, Type],
    query: tuple[Field, ...],
    doc: str,
) -> None:
    parameters = _path_params(rid, params)
    parameters += [
        {
            "name": f.name,
            "in": "query",
            "required": False,
            "description": f.doc,
            "schema": _schema(f.type, {}),
        }
        for f in query
    ]
    paths.setdefault(_path(api_path, rid), {})["get"] = {
        "operationId": f"get{name}",
        "summary": f"Read {rid}",
        "description": doc,
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The resource, references expanded",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
            },
            **_errors("400", "401", "404", "500", "503"),
        },
    }


def _add_methods(
    paths: Json,
    api_path: str,
    rid: str,
    name: str,
    methods: tuple[Method, ...],
    params: dict[str, Type],
    keys: dict[str, Type],
) -> None:
    for method in methods:
        operation: Json = {
            "operationId": f"call{name}{method.name[:1].upper()}{method.name[1:]}",
            "summary": f"Call {method.name} on {rid}",
            "description": method.doc,
            "parameters": _path_params(rid, params),
            "responses": {
                "200": {
                    "description": "The method's result, or a new resource's path in Location",
                    "content": {"application/json": {"schema": {}}},
                    "headers": {"Location": {"schema": {"type": "string"}, "required": False}},
                },
                "204": {"description": "Done, without a result"},
                **_errors("400", "401", "404", "500", "503"),
            },
        }
        if method.params is not None:
            operation["requestBody"] = {
                "required": method.params.kind == Kind.OBJECT
                and any(f.required for f in method.params.fields),
                "content": {"application/json": {"schema": _schema(method.params, keys)}},
            }
        paths.setdefault(f"{_path(api_path, rid)}/{method.name}", {})["post"] = operation


def _object(fields: tuple[Field, ...], keys: dict[str, Type]) -> Json:
    properties = {}
    for f in fields:
        properties[f.name] = _schema(f.type, keys)
        if f.doc:
            properties[f.name]["description"] = f.doc
    out: Json = {"type": "object", "properties": properties}
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def _schema(t: Type, keys: dict[str, Type]) -> Json:
    out = _bare(t, keys)
    return {"anyOf": [out, {"type": "null"}]} if t.nullable else out


def _bare(t: Type, keys: dict[str, Type]) -> Json:
    kind = t.kind
    if kind in (Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN):
        return {"type": kind}
    if kind == Kind.STRING:
        return {"type": "string", "format": t.format} if t.format else {"type": "string"}
    if kind == Kind.JSON:
        return {"description": "any JSON value"}
    if kind == Kind.CHOICE:
        return {"enum": list(t.choices)}
    if kind == Kind.ARRAY:
        assert t.item is not None
        return {"type": "array", "items": _schema(t.item, keys)}
    if kind == Kind.MAP:
        assert t.item is not None
        return {"type": "object", "additionalProperties": _schema(t.item, keys)}
    if kind == Kind.OBJECT:
        return _object(t.fields, keys)
    if kind in (Kind.MODEL, Kind.COLLECTION):
        return {"$ref": f"#/components/schemas/{t.resource}Ref"}
    if kind == Kind.REF_PARAM:
        key = keys.get(t.resource, Type(Kind.STRING))
        by_rid = {"type": "object", "properties": {"rid": {"type": "string"}}, "required": ["rid"]}
        return {
            "anyOf": [_bare(key, keys), by_rid],
            "description": f"a {t.resource}: its key or its reference",
        }
    return {"description": f"unknown: {t.note}"}
