"""HTTP as both transports see it: the REST bridge (``res_gateway.http``) and the WebSocket upgrade.

CORS headers, the meta of service replies, HTTP statuses of RES errors, URL paths of RIDs, and the
request behind a connection as auth requests describe it.
"""

from .cors import Cors, cors, preflight_headers
from .meta import PROTECTED_HEADERS, Meta, canonical_key, merge_header
from .paths import path_to_rid, path_to_rid_method, request_path, rid_to_path
from .request import RequestInfo, request_header, request_info
from .status import error_status, status_error

__all__ = [
    "PROTECTED_HEADERS",
    "Cors",
    "Meta",
    "RequestInfo",
    "canonical_key",
    "cors",
    "error_status",
    "merge_header",
    "path_to_rid",
    "path_to_rid_method",
    "preflight_headers",
    "request_header",
    "request_info",
    "request_path",
    "rid_to_path",
    "status_error",
]
