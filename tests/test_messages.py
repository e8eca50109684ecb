"""Errors as data: one catalogue of wordings, said in the office's language by every face."""

from __future__ import annotations

import ast
import errno
import importlib
import pickle
import string

import pytest

from content.errors import NotFound, ValidationError
from content.i18n import translation
from content.messages import CATALOGUE, Notice, os_reason, render
from scheduler.cli import main
from tests.conftest import REPO


def _placeholders(text: str) -> set[str]:
    """The names a format string fills in (conversions and format specs aside)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _words(text: str) -> str:
    """A format string without its placeholders: what a translator has to translate."""
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(text))


def test_every_catalogue_message_has_vietnamese_that_fills_in_only_what_it_is_given():
    vi = translation("vi")
    untranslated = [
        msgid
        for msgid in CATALOGUE.values()
        if vi.gettext(msgid) == msgid and any(c.isalpha() for c in _words(msgid))
    ]
    assert untranslated == []
    # A translation may leave a detail out (the channel kind), never ask for one not given.
    wrong = {
        msgid: vi.gettext(msgid)
        for msgid in CATALOGUE.values()
        if not _placeholders(vi.gettext(msgid)) <= _placeholders(msgid)
    }
    assert wrong == {}


def test_an_error_reads_in_english_and_renders_in_vietnamese():
    error = ValidationError("text_too_long", field="text", n=198, channel="tinh-zalo",
                            kind="zalo_oa", limit=149)  # fmt: skip
    assert str(error) == "text: 198 characters; tinh-zalo (zalo_oa) takes at most 149"
    assert render(error, "vi") == (
        "text: Nội dung dài 198 ký tự; tinh-zalo chỉ nhận tối đa 149 ký tự."
    )
    # Beside the form field, the TUI leaves the field's name out.
    assert render(error, "vi", field=False) == (
        "Nội dung dài 198 ký tự; tinh-zalo chỉ nhận tối đa 149 ký tự."
    )


def test_states_roles_and_actions_are_words_of_the_language():
    from content.accounts import AccessDenied

    refused = AccessDenied("role", user="lan", role="author", needed="approver",
                           action="approve posts")  # fmt: skip
    assert render(refused, "en").startswith(
        "lan is an author and may not approve posts; that needs an approver"
    )
    assert render(refused, "vi").startswith(
        "lan là người soạn bài, không được duyệt bài: việc này cần người duyệt bài"
    )
    moved = render(NotFound("post_missing", id=7), "vi")
    assert moved == "Bài 7 không tồn tại."


def test_an_operating_system_error_is_said_by_its_errno():
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "anh.jpg")
    said = ValidationError("file_unreadable", field="--image", path="anh.jpg",
                           reason=os_reason(missing))  # fmt: skip
    assert "No such file" not in render(said, "vi")
    assert render(said, "vi").endswith("không có tệp hoặc thư mục này.")
    odd = os_reason(OSError(errno.ELOOP, "Too many levels of symbolic links"))
    assert odd.code == "os_other" and str(odd) == "Too many levels of symbolic links"


def test_a_notice_is_text_that_keeps_its_code():
    warning = Notice("warn_same_queued", channel="tinh-fb", id=3)
    assert warning == "the same text is already queued for tinh-fb (post 3)"
    assert (warning.code, warning.params) == ("warn_same_queued", {"channel": "tinh-fb", "id": 3})
    again = pickle.loads(pickle.dumps(warning))
    assert again == warning and again.code == warning.code


def test_an_error_survives_pickling_with_its_data():
    error = ValidationError("post_missing", field="id", where="row 3", id=4)
    again = pickle.loads(pickle.dumps(error))
    assert (again.code, again.params, again.field, again.where) == (
        "post_missing",
        {"id": 4},
        "id",
        "row 3",
    )
    assert str(again) == "row 3: id: post 4 does not exist"


@pytest.fixture
def loa_cli(sqlite_url, capsys, monkeypatch):
    """`loa` with the repository's channels.toml (a Vietnamese office)."""
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LOA_LANG", raising=False)

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--db", sqlite_url, *argv])
        return code, capsys.readouterr().err

    return run


def test_the_cli_speaks_the_offices_language(loa_cli, monkeypatch):
    assert loa_cli("post", "approve", "999") == (2, "loa: lỗi: Bài 999 không tồn tại.\n")
    monkeypatch.setenv("LOA_LANG", "en")
    assert loa_cli("post", "approve", "999") == (2, "loa: error: post 999 does not exist\n")


def test_the_cli_warns_in_the_offices_language(loa_cli):
    args = ("post", "add", "--channel", "tinh-fb", "--text", "Gọi 113 khi cần")
    assert loa_cli(*args, "--at", "2030-01-02 09:00")[0] == 0
    code, err = loa_cli(*args, "--at", "2030-01-02 09:10")
    assert code == 0
    assert "cảnh báo: Nội dung giống hệt đang chờ đăng trên tinh-fb (bài 1)." in err


# --- every error raised anywhere has a code the catalogue knows ------------------------------

SOURCES = sorted([*REPO.glob("content/**/*.py"), *REPO.glob("scheduler/**/*.py"), REPO / "tui.py"])
#: Codes chosen at run time from a table: the table is checked instead (file, argument).
TABLES = {
    ("content/messages.py", "code"): "content.messages:_OS_CODES",
    ("scheduler/cli/posts.py", "NONE_SELECTED[args.action]"): "scheduler.cli.posts:NONE_SELECTED",
    ("scheduler/config.py", "code"): "scheduler.config:_PYDANTIC_CODES",
    # Its callers pass literal codes (checked below as any other string would be).
    ("scheduler/inbox_reply.py", "code"): None,
}
#: Raise sites still worded at the raise site, in files others are changing: each is to
#: take a code (the catalogue has them: repeat_no_until, repeat_no_weekday, repeat_no_days,
#: photo_not_uploaded, file_unreadable). Remove a file once it is converted.
PENDING: dict[str, int] = {}


def _error_classes(trees: dict[str, ast.Module]) -> tuple[set[str], set[str]]:
    """Names of LoaError and its subclasses, and those whose __init__ names its own code."""
    bases: dict[str, set[str]] = {}
    own_init: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {
                    getattr(b, "id", None) or getattr(b, "attr", "") for b in node.bases
                }
                for init in node.body:
                    if isinstance(init, ast.FunctionDef) and init.name == "__init__":
                        takes = [a.arg for a in (*init.args.posonlyargs, *init.args.args)]
                        if "code" not in takes:
                            own_init.add(node.name)
    errors = {"LoaError"}
    while grown := {c for c, b in bases.items() if c not in errors and b & errors}:
        errors |= grown
    return errors, own_init & errors


def _literal_codes(node: ast.expr) -> list[str] | None:
    """The codes an argument can be when it is written in the code, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_codes(node.body), _literal_codes(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def test_every_error_and_notice_is_raised_with_a_code_the_catalogue_knows():
    trees = {str(p.relative_to(REPO)): ast.parse(p.read_text(encoding="utf-8")) for p in SOURCES}
    errors, own_init = _error_classes(trees)
    unknown: list[str] = []
    pending: dict[str, int] = {}
    for path, tree in trees.items():
        # super().__init__(code, ...) in an error class that names its own code.
        inits = {
            id(call)
            for cls in ast.walk(tree)
            if isinstance(cls, ast.ClassDef) and cls.name in errors
            for call in ast.walk(cls)
            if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "__init__"
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in own_init:  # the class names its own code, in its super().__init__
                continue
            if name == "__init__" and id(node) not in inits:
                continue
            if name != "__init__" and name not in errors and name != "Notice":
                continue
            arg = node.args[0] if node.args else None
            codes = _literal_codes(arg) if arg is not None else None
            if codes is not None:
                unknown += [f"{path}:{node.lineno}: {c!r}" for c in codes if c not in CATALOGUE]
                continue
            if name == "__init__":
                continue  # a subclass passing its caller's code on
            written = ast.unparse(arg) if arg is not None else ""
            if isinstance(arg, ast.Attribute) and arg.attr == "code":
                continue  # an error's own code, passed on (checked where it was raised)
            if (path, written) in TABLES:
                continue
            if path in PENDING:
                pending[path] = pending.get(path, 0) + 1
                continue
            unknown.append(f"{path}:{node.lineno}: {ast.unparse(node)[:90]}")
    assert unknown == []
    assert pending == PENDING, "a file was converted: remove it from PENDING"
    for table in filter(None, TABLES.values()):
        module, _, attribute = table.partition(":")
        codes = getattr(importlib.import_module(module), attribute).values()
        assert set(codes) <= set(CATALOGUE), table
