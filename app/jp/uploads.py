"""What an uploaded file really is, from its first bytes.

The filename and the browser's Content-Type are chosen by the sender, so neither is trusted: an HTML
page renamed ``.png`` must not be stored and served back as an image.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.jp.errors import InvalidValue

UPLOAD_KINDS = ("pdf", "jpeg", "png")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

_CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
_EXTENSIONS = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}
_DISPLAY_NAMES = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG"}

# The signature must start at byte 0. PDF readers tolerate up to 1 KiB of junk before "%PDF-", but
# accepting that would let an HTML page with a PDF tail through as a "PDF".
_SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)


def sniff_upload(data: bytes) -> str | None:
    """'pdf', 'jpeg' or 'png' when the bytes carry that format's signature; None for anything else."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    return None


def content_type_for(kind: str) -> str:
    """The Content-Type to serve a sniffed upload with; ValueError for a kind the service never accepts."""
    try:
        return _CONTENT_TYPES[kind]
    except KeyError:
        raise ValueError(f"not an upload kind: {kind!r}") from None


def kind_for_content_type(content_type: str) -> str:
    """The kind a stored Content-Type was sniffed as (the inverse of ``content_type_for``)."""
    for kind, known in _CONTENT_TYPES.items():
        if known == content_type:
            return kind
    raise ValueError(f"not an upload content type: {content_type!r}")


def extension_for(kind: str) -> str:
    """The file extension to store and offer a sniffed upload under (never the one it was sent with)."""
    try:
        return _EXTENSIONS[kind]
    except KeyError:
        raise ValueError(f"not an upload kind: {kind!r}") from None


#: Bytes of an upload that ``sniff_upload`` needs: the longest signature.
HEAD_BYTES = max(len(signature) for signature, _kind in _SIGNATURES)


def check_upload(data: bytes, *, accept=UPLOAD_KINDS, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The sniffed kind of an upload a file field allows; InvalidValue when it is empty, too big or another kind."""
    return check_upload_head(data[:HEAD_BYTES], len(data), accept=accept, max_bytes=max_bytes)


def check_upload_head(head: bytes, size: int, *, accept=UPLOAD_KINDS, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """``check_upload`` from an upload's first bytes and its size, so a large file is judged without reading it."""
    if not size:
        raise InvalidValue("upload_empty", _l("ファイルが空です。もう一度ファイルを選んでください。"))
    if size > max_bytes:
        limit = f"{max_bytes / (1024 * 1024):g}MB"
        raise InvalidValue(
            "upload_too_large",
            _l("ファイルの大きさは%(limit)sまでです。小さくしてから、もう一度選んでください。", limit=limit),
        )
    kind = sniff_upload(head)
    if kind not in accept:
        names = [_DISPLAY_NAMES[k] for k in accept]
        if len(names) == 1:
            message = _l("%(kind)sのファイルを選んでください。", kind=names[0])
        else:
            message = _l(
                "ファイルの種類は%(kinds)sのいずれかにしてください。", kinds="・".join(names), kinds_en=", ".join(names)
            )
        raise InvalidValue("upload_type", message)
    return kind
