"""OTLP/HTTP trace export requests, decoded into :class:`~aims.core.genai.normalise.RawSpan`.

Both encodings of the OTLP specification are taken: binary Protobuf
(``application/x-protobuf``) and the JSON mapping (``application/json``),
which differs from the standard Protobuf JSON mapping by writing trace and
span ids as hex rather than base64. Bodies may be gzip-compressed; the
decompressed size is bounded too, so a small compressed body cannot expand
into an unbounded one.

The messages come from ``opentelemetry-proto`` (the ``otlp`` extra).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterator
from typing import Any

from aims.core.genai.normalise import RawSpan
from aims.errors import AimsError, InvalidInput

__all__ = [
    "JSON",
    "PROTOBUF",
    "BodyTooLarge",
    "UnsupportedMediaType",
    "decode_request",
    "encode_response",
    "inflate",
    "media_type",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class UnsupportedMediaType(AimsError):
    """A body in an encoding or content type OTLP/HTTP does not define (HTTP 415)."""


class BodyTooLarge(AimsError):
    """A body whose decompressed size is over the limit (HTTP 413)."""


def media_type(content_type: str | None) -> str:
    """``application/x-protobuf`` or ``application/json`` from a Content-Type header."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, JSON):
        return kind
    raise UnsupportedMediaType(
        f"Content-Type {content_type or '(none)'!r} is not an OTLP encoding; "
        f"send {PROTOBUF} or {JSON}"
    )


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """``body`` decompressed per Content-Encoding (gzip or none), at most ``limit`` bytes."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding"
        )
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(f"the body is not valid gzip ({exc})") from None
    if len(out) > limit:
        raise BodyTooLarge(
            f"the decompressed body is over {limit} bytes; send smaller batches "
            "(the exporter's max export batch size)"
        )
    if not inflater.eof:
        raise InvalidInput("the gzip body is truncated")
    return out


def _hex_to_b64(value: Any) -> str:
    """An OTLP JSON id (hex) as Protobuf JSON wants it (base64); "" when it is not hex."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        return base64.b64encode(b"\xff").decode()  # a 1-byte id: rejected with its span


def _fix_json_ids(document: Any) -> None:
    """Rewrite the hex ids of an OTLP JSON document in place for the Protobuf JSON parser."""
    if not isinstance(document, dict):
        raise InvalidInput("an OTLP JSON body is an object with 'resourceSpans'")
    for rs in document.get("resourceSpans") or ():
        for ss in (rs or {}).get("scopeSpans") or ():
            for span in (ss or {}).get("spans") or ():
                if not isinstance(span, dict):
                    continue
                for key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id",
                            "parent_span_id"):  # fmt: skip
                    if key in span:
                        span[key] = _hex_to_b64(span[key])
                for link in span.get("links") or ():
                    if isinstance(link, dict):
                        for key in ("traceId", "spanId"):
                            if key in link:
                                link[key] = _hex_to_b64(link[key])


def _parse(body: bytes, kind: str) -> Any:
    from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise InvalidInput(
                f"the body is not an OTLP ExportTraceServiceRequest ({exc})"
            ) from None
        return request
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the body is not JSON ({exc})") from None
    _fix_json_ids(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise InvalidInput(f"the body is not an OTLP JSON trace export ({exc})") from None
    return request


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return binascii.hexlify(v.bytes_value).decode()
    return getattr(v, kind)


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode_request(body: bytes, kind: str) -> Iterator[RawSpan]:
    """The spans of an export request body in encoding ``kind``.

    Raises :class:`~aims.errors.InvalidInput` (HTTP 400) when the body
    cannot be decoded at all; spans that decode but are wrong (bad ids, an
    end before the start) come out and are rejected one by one later.
    """
    request = _parse(body, kind)
    hexlify = binascii.hexlify
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield RawSpan(
                    trace_id=hexlify(s.trace_id).decode(),
                    span_id=hexlify(s.span_id).decode(),
                    parent_span_id=hexlify(s.parent_span_id).decode(),
                    name=s.name,
                    start_ns=s.start_time_unix_nano,
                    end_ns=s.end_time_unix_nano,
                    status_code=s.status.code,
                    status_message=s.status.message,
                    attributes=_attrs(s.attributes),
                    events=[(e.name, _attrs(e.attributes)) for e in s.events],
                    resource=resource,
                )


def encode_response(kind: str, rejected: int, message: str) -> bytes:
    """An ``ExportTraceServiceResponse`` in encoding ``kind``, with partial success when rejected."""
    from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()
