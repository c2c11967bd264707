"""Downloads: stream the file a signed link names, whole or one byte range.

The link's token is the credential (no API token): ExportService.open_download checks
its signature and expiry, and that its job still holds that file. Ranges need a
seekable stream, which local storage gives; S3 bodies are not seekable, so S3 files
are always sent whole (Accept-Ranges: none) rather than fetched again per range.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path
from fastapi.responses import JSONResponse, StreamingResponse

from api import ranges
from api.auth import Service
from api.errors import error_response, responses
from exporter.formats import WRITERS

router = APIRouter(prefix="/files", tags=["downloads"])
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_CONTENT = {spec.media_type.split(";")[0]: _BINARY for spec in (w.SPEC for w in WRITERS.values())}
_HEADERS = {name: {"schema": {"type": "string"}}
            for name in ("Content-Length", "Content-Disposition", "Accept-Ranges")}
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": _CONTENT, "headers": _HEADERS, "description": "The whole file"},
    206: {"content": _CONTENT, "description": "The requested byte range",
          "headers": {**_HEADERS, "Content-Range": {"schema": {"type": "string"}}}},
    **responses(404, 410, 416, 422),
}


def disposition(file_name: str) -> str:
    """attachment with an ASCII fallback name and the exact name in RFC 5987 form."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


@router.get("/{token}", summary="Download an export file (signed link, no API token)",
            response_class=StreamingResponse, response_model=None, responses=FILE_RESPONSES)
def download(token: Annotated[str, Path(max_length=2048)], svc: Service,
             range_: Annotated[str | None, Header(alias="Range")] = None
             ) -> StreamingResponse | JSONResponse:
    found = svc.open_download(token)
    seekable = found.stream.seekable()
    headers = {"Content-Disposition": disposition(found.file_name),
               "Accept-Ranges": "bytes" if seekable else "none",
               "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    status, start, length = 200, 0, found.size
    if seekable:
        try:
            wanted = ranges.parse(range_, found.size)
        except ranges.Unsatisfiable:
            found.stream.close()
            return error_response(416, "RANGE_NOT_SATISFIABLE", f"The file has {found.size} "
                                  "bytes.", "Range", {"Content-Range": f"bytes */{found.size}"})
        if wanted is not None:
            status, start, length = 206, wanted.start, wanted.length
            headers["Content-Range"] = wanted.content_range(found.size)
    headers["Content-Length"] = str(length)
    return StreamingResponse(ranges.read(found.stream, start, length), status_code=status,
                             media_type=found.media_type, headers=headers)
