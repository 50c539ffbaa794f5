"""Wire format of the fake Telegram Bot API: requests as PTB encodes them, answers as Telegram shapes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

_Number = TypeVar("_Number", int, float)

JsonDict = dict[str, Any]

# Parameters whose type is String in the Bot API. PTB sends strings as they are and every other value
# JSON-encoded, so a caption "123" or a file_id "true" must not be decoded as JSON.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "url",
        "secret_token",
        "ip_address",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "animation",
        "sticker",
        "video",
        "audio",
        "voice",
        "thumbnail",
    }
)


class ApiError(Exception):
    """A Bot API failure, answered with Telegram's JSON error shape."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JsonDict:
        """The body Telegram sends: ``{"ok": false, "error_code": N, "description": ...}``."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def to_response(self) -> JSONResponse:
        """The HTTP response carrying :meth:`to_json`."""
        return JSONResponse(self.to_json(), status_code=self.status)


def bad_request(detail: str) -> ApiError:
    """A 400 whose description starts as Telegram's do (``Bad Request: ...``)."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 whose description starts as Telegram's do (``Forbidden: ...``)."""
    return ApiError(403, f"Forbidden: {detail}")


def ok(result: Any) -> JSONResponse:
    """A successful Bot API answer."""
    return JSONResponse({"ok": True, "result": result})


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file sent in a multipart request (an upload, as opposed to a file_id)."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        # Never print the bytes: in this project they may be a (synthetic) patient photo.
        return (
            f"UploadedFile(field={self.field!r}, filename={self.filename!r}, "
            f"content_type={self.content_type!r}, size={len(self.data)})"
        )


def decode_value(name: str, raw: str) -> Any:
    """Undo PTB's encoding of one form field: strings as they are, anything else as JSON."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # e.g. chat_id="@channel": a string that PTB did not JSON-encode


async def read_params(request: Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
    """Decode a Bot API call from the query string and a form, multipart or JSON body."""
    params: JsonDict = {key: decode_value(key, value) for key, value in request.query_params.items()}
    uploads: dict[str, UploadedFile] = {}
    body = await request.body()
    if not body:
        return params, uploads
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise bad_request("can't parse JSON request body") from exc
        if not isinstance(decoded, dict):
            raise bad_request("the JSON request body must be an object")
        params.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[key] = decode_value(key, value)
    elif mime == "multipart/form-data":
        header = Message()
        header["content-type"] = content_type
        boundary = header.get_boundary()
        if not boundary:
            raise bad_request("multipart body without a boundary")
        for part in parse_multipart(body, boundary):
            if part.filename is None:
                params[part.field] = decode_value(part.field, part.data.decode("utf-8"))
            else:
                uploads[part.field] = part
    else:
        raise bad_request(f"unsupported content type {mime!r}")
    return params, uploads


def parse_multipart(body: bytes, boundary: str) -> list[UploadedFile]:
    """Split a ``multipart/form-data`` body into its parts (files have a filename, fields do not).

    Written by hand because Starlette's parser needs ``python-multipart``, which the project does not
    depend on, and the ``email`` package rewrites line endings inside binary parts.
    """
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # The first delimiter has no CRLF before it; adding one lets a single split find them all.
    chunks = (b"\r\n" + body).split(delimiter)
    parts: list[UploadedFile] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise bad_request("malformed multipart body")
        # httpx writes non-ASCII file names as raw UTF-8 in the header.
        headers = Parser().parsestr(head.decode("utf-8").strip("\r\n") + "\r\n\r\n", headersonly=True)
        field = headers.get_param("name", header="content-disposition")
        if not isinstance(field, str):
            raise bad_request("multipart part without a name")
        filename = headers.get_filename()
        content_type = headers.get("content-type")
        parts.append(UploadedFile(field, filename, content_type, data))
    return parts


class Params:
    """Typed access to the decoded parameters of one call, raising Telegram's 400s on bad input."""

    def __init__(self, values: JsonDict, uploads: dict[str, UploadedFile], request: Request) -> None:
        self.values = values
        self.uploads = uploads
        self.request = request

    def has(self, name: str) -> bool:
        """Whether the parameter was sent with a non-null value."""
        return self.values.get(name) is not None

    def get_int(self, name: str) -> int:
        """A required integer parameter."""
        value = self.opt_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def opt_int(self, name: str) -> int | None:
        """An optional integer parameter."""
        return self._opt_number(name, int)

    def opt_float(self, name: str) -> float | None:
        """An optional number parameter."""
        return self._opt_number(name, float)

    def _opt_number(self, name: str, kind: Callable[[Any], _Number]) -> _Number | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f"invalid {name} specified")
        try:
            return kind(value)
        except ValueError as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def opt_str(self, name: str) -> str | None:
        """An optional string parameter (numbers sent by a JSON client are turned into text)."""
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def flag(self, name: str) -> bool:
        """A boolean parameter, false when absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in {"true", "1"}
        return bool(value)

    def chat_id(self, name: str = "chat_id") -> int:
        """A chat identifier; ``@username`` targets are not modelled, so they are unknown chats."""
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            raise bad_request("chat not found")
        return self.get_int(name)

    def json_object(self, name: str) -> JsonDict | None:
        """An optional parameter holding a JSON object (sent JSON-encoded in forms)."""
        value = self.values.get(name)
        if isinstance(value, str):
            value = decode_value("", value)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_request(f"can't parse {name} JSON object")
        return value

    def json_list(self, name: str) -> list[Any] | None:
        """An optional parameter holding a JSON array."""
        value = self.values.get(name)
        if isinstance(value, str):
            value = decode_value("", value)
        if value is None:
            return None
        if not isinstance(value, list):
            raise bad_request(f"can't parse {name} JSON array")
        return value

    def upload(self, name: str) -> UploadedFile | None:
        """The file uploaded for ``name``: a part of that name, or one named by ``attach://<part>``."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.uploads.get(value.removeprefix("attach://"))
        return self.uploads.get(name)
