"""A citizen edits or removes his comment, or the Page hides it (Graph ``feed`` changes with
``verb`` edited, remove, hide, unhide): the inbox keeps the new text with the old and marks a
removed or hidden comment; delivered by the sandbox's webhooks over HTTP, retries stored once."""

from __future__ import annotations

import json

from scheduler.cli import main
from tests.test_inbox_e2e import World, subscribe
from tests.test_inbox_e2e import _no_proxy as _no_proxy  # noqa: F401 - fixtures
from tests.test_inbox_e2e import sandbox as sandbox  # noqa: F401
from tests.test_inbox_e2e import world as world  # noqa: F401

FIRST = "Số 0987 000 111 gọi tôi hôm qua"
SECOND = "Sửa lại: số 0987 000 112 gọi tôi hôm qua, xưng là cán bộ phường"


def comment_view(w: World):
    thread = w.thread("tinh-fb", "comments")
    [message] = w.inbox().thread(thread.id).messages
    return thread, message


def test_an_edited_comment_keeps_its_old_text_and_a_removed_one_is_marked(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        post_id = w.publish("Cảnh giác cuộc gọi giả danh công an")
        comment = w.sb.citizen_comment("chi", post_id, FIRST, name="Chi")["comment_id"]
        w.deliver()
        w.advance(minutes=3)
        edit = w.sb.change_comment(comment, "edited", SECOND)
        w.sb.duplicate_delivery(edit["delivery"])  # Meta sends some deliveries twice
        w.deliver()
        thread, message = comment_view(w)
        assert message.text == SECOND
        assert [e["text"] for e in message.edits] == [FIRST]
        assert message.edited_at is not None and message.removed is None
        assert thread.messages_in == 1  # an edit is not a new message
        w.advance(minutes=3)
        w.sb.change_comment(comment, "hide")
        w.deliver()
        assert comment_view(w)[1].removed == "hide"
        w.sb.change_comment(comment, "unhide")
        w.deliver()
        assert comment_view(w)[1].removed is None
        w.advance(minutes=3)
        w.sb.change_comment(comment, "remove")
        w.deliver()
    _, message = comment_view(w)
    assert message.removed == "remove" and message.removed_at is not None
    # The officer still has what the citizen wrote: the evidence does not vanish with it.
    assert message.text == SECOND and [e["text"] for e in message.edits] == [FIRST]


def test_loa_inbox_show_says_edited_and_removed(world, capsys, monkeypatch, db_url):
    w = world
    with w.receiver_up():
        subscribe(w)
        post_id = w.publish("Cảnh báo lừa đảo")
        comment = w.sb.citizen_comment("dung", post_id, FIRST)["comment_id"]
        w.deliver()
        w.sb.change_comment(comment, "edited", SECOND)
        w.sb.change_comment(comment, "remove")
        w.deliver()
    monkeypatch.setenv("LOA_CONFIG", str(w.config.path))
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    thread = w.thread("tinh-fb", "comments")
    assert main(["--db", db_url, "inbox", "show", str(thread.id), "--json"]) == 0
    [message] = json.loads(capsys.readouterr().out)["messages"]
    assert message["text"] == SECOND and message["removed"] == "remove"
    assert [e["text"] for e in message["edits"]] == [FIRST]
    assert main(["--db", db_url, "inbox", "show", str(thread.id)]) == 0
    out = capsys.readouterr().out
    assert "[removed on Facebook" in out and "[edited" in out and "before " in out
