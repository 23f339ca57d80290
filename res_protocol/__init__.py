"""Wire-level RES protocol pieces shared by the gateway and the service bridge (no Django)."""

__version__ = "0.1.0"  # django-res's version, the one source of it (pyproject.toml reads it)

from . import errors
from .access import Access
from .codec import (
    Response,
    check_depth,
    decode_response,
    dumps,
    dumps_str,
    error_payload,
    loads,
    resource_payload,
    result_payload,
)
from .errors import ResError
from .rid import (
    CID_TAG,
    Pattern,
    compile_patterns,
    expand_cid,
    is_valid_part,
    is_valid_pattern,
    is_valid_rid,
    join_rid,
    split_rid,
)
from .values import (
    DELETE_ACTION,
    InvalidValue,
    data_value,
    hard_ref,
    is_data,
    is_delete,
    is_soft_ref,
    normalize_collection,
    normalize_model,
    normalize_value,
    ref,
    soft_ref,
)
from .version import PROTOCOL_VERSION, parse_version

__all__ = [
    "Access",
    "CID_TAG",
    "DELETE_ACTION",
    "PROTOCOL_VERSION",
    "InvalidValue",
    "Pattern",
    "ResError",
    "Response",
    "check_depth",
    "compile_patterns",
    "data_value",
    "decode_response",
    "dumps",
    "dumps_str",
    "error_payload",
    "errors",
    "expand_cid",
    "hard_ref",
    "is_data",
    "is_delete",
    "is_soft_ref",
    "is_valid_part",
    "is_valid_pattern",
    "is_valid_rid",
    "join_rid",
    "loads",
    "normalize_collection",
    "normalize_model",
    "normalize_value",
    "parse_version",
    "ref",
    "resource_payload",
    "result_payload",
    "soft_ref",
    "split_rid",
]
