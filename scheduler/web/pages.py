"""The words and HTML of `loa web`'s own pages, in Vietnamese (default) and English.

Kept apart from the TUI's gettext catalogue: the server never loads the TUI toolkit, and the
pages need only a handful of lines. Templates are Jinja2 with autoescaping on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from content.errors import LoaError
from content.i18n import LANGUAGES
from content.messages import render as render_error

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "sign_in_title": "Đăng nhập",
        "user": "Tên người dùng",
        "password": "Mật khẩu",
        "sign_in": "Đăng nhập",
        "sign_out": "Đăng xuất",
        "wrong": "Sai tên người dùng hoặc mật khẩu.",
        "missing": "Hãy nhập tên người dùng và mật khẩu.",
        "throttled": "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {seconds} giây.",
        "expired": "Phiên làm việc đã hết hạn. Hãy đăng nhập lại.",
        "signed_out": "Đã đăng xuất.",
        "forbidden": "Địa chỉ hoặc nguồn yêu cầu không được phép.",
        "signed_in_as": "Người dùng: {user}",
        "upload_label": "Ảnh từ máy tính:",
        "upload": "Tải ảnh lên",
        "upload_hint": "Ảnh đã tải lên hiện trong ô chọn «Ảnh» của trang soạn bài.",
        "uploaded": "Đã tải lên {name} ({info}). Chọn ảnh này trong ô «Ảnh» khi soạn bài.",
        "no_file": "Chưa chọn tệp ảnh.",
        "too_big": "{name}: tệp quá lớn (tối đa {max} MB).",
        "not_image": "{name}: không phải là ảnh đọc được (hãy dùng ảnh JPEG hoặc PNG).",
        "bad_format": "{name}: định dạng ảnh {fmt} không được hỗ trợ (hãy dùng JPEG hoặc PNG).",
        "too_large": "{name}: ảnh {size} quá lớn (tối đa 50 megapixel, mỗi cạnh tối đa 30.000 px).",
        "no_pixels": "{name}: ảnh không có điểm ảnh nào.",
        "session_ended": "Phiên đã kết thúc.",
        "restart": "Mở lại",
    },
    "en": {
        "sign_in_title": "Sign in",
        "user": "User name",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "wrong": "Wrong user name or password.",
        "missing": "Type your user name and password.",
        "throttled": "Too many failed sign-ins. Try again in {seconds} seconds.",
        "expired": "Your session has expired. Please sign in again.",
        "signed_out": "Signed out.",
        "forbidden": "This address or request origin is not allowed.",
        "signed_in_as": "User: {user}",
        "upload_label": "Photo from this computer:",
        "upload": "Upload photo",
        "upload_hint": "Uploaded photos are offered in the composer's Images list.",
        "uploaded": "Uploaded {name} ({info}). Pick it in the Images list when composing.",
        "no_file": "No photo file was chosen.",
        "too_big": "{name}: the file is too big (at most {max} MB).",
        "not_image": "{name}: not a readable image (use a JPEG or PNG photo).",
        "bad_format": "{name}: the image format {fmt} is not supported (use JPEG or PNG).",
        "too_large": "{name}: the image is too large, {size} (at most 50 megapixels and "
        "30,000 px on a side).",
        "no_pixels": "{name}: the image has no pixels.",
        "session_ended": "Session ended.",
        "restart": "Restart",
    },
}

#: content.media's refusals of an upload, by code: said the page's way (a photo to pick).
_MEDIA_ERRORS = {
    "image_unsupported": "bad_format",
    "image_too_large": "too_large",
    "image_no_pixels": "no_pixels",
    "image_empty": "not_image",
    "image_unknown": "not_image",
    "image_broken": "not_image",
    "image_bomb": "not_image",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def texts(lang: str) -> dict[str, str]:
    """The page words of ``lang`` ("vi" or "en"; anything else is Vietnamese)."""
    return TEXTS.get(lang, TEXTS["vi"])


def media_error(error: LoaError, lang: str) -> str:
    """A ``content.media`` refusal of an upload, as one line in ``lang``."""
    key = _MEDIA_ERRORS.get(error.code)
    if key is None:
        return render_error(error, lang if lang in LANGUAGES else "vi", field=False)
    params = error.params
    return texts(lang)[key].format(
        name=params.get("name", ""),
        fmt=params.get("format", ""),
        size=f"{params.get('width')}x{params.get('height')}",
    )


def render(template: str, lang: str, **context: Any) -> str:
    """A page of ``templates/`` with the words of ``lang`` as ``t``."""
    return _env.get_template(template).render(t=texts(lang), lang=lang, **context)
