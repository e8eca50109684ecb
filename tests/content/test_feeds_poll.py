"""Polling feeds from files into feed items and drafts (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from content.db import session_scope
from content.errors import NotFound, ValidationError
from content.feeds import add_feed, import_source, item_counts, list_feeds, poll
from content.feeds_utm import UtmSettings
from content.models import Delivery, FeedItem, FeedSource, Post
from tests.conftest import REPO

FEEDS = Path(__file__).parent / "feeds"


def _add(engine, directory, path, channels=("tinh-fb",), **options) -> FeedSource:
    return add_feed(engine, str(path), list(channels), directory=directory, **options)


def _rss(items: list[tuple[str, datetime | None]], *, extra: str = "") -> bytes:
    """An RSS 2.0 document; each item is (guid, date or None)."""
    parts = []
    for guid, when in items:
        date = f"<pubDate>{format_datetime(when)}</pubDate>" if when else ""
        parts.append(
            f"<item><title>Tin {guid}</title><link>https://gen.example.vn/{guid}</link>"
            f"<guid>{guid}</guid>{date}<description>Nội dung {guid}</description></item>"
        )
    body = f"<rss version='2.0'><channel><title>Gen</title>{''.join(parts)}{extra}</channel></rss>"
    return body.encode("utf-8")


def _items(engine, source_id: int) -> list[FeedItem]:
    with session_scope(engine) as s:
        return list(
            s.exec(
                select(FeedItem).where(FeedItem.source_id == source_id).order_by(col(FeedItem.id))
            ).all()
        )


def _posts(engine) -> list[Post]:
    with session_scope(engine) as s:
        return list(s.exec(select(Post).order_by(col(Post.id))).all())


def _deliveries(engine, post_id: int) -> dict[str, Delivery]:
    with session_scope(engine) as s:
        rows = s.exec(select(Delivery).where(Delivery.post_id == post_id)).all()
        return {d.channel: d for d in rows}


def test_items_become_drafts_for_review_with_text_link_and_source(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml", channels=["fb"])
    (result,) = poll(engine, make_queue(), source.id)
    assert (result.new, result.duplicate, result.drafted, result.error) == (3, 0, 3, None)
    post = _posts(engine)[0]  # the oldest item is drafted first
    assert post.state == "draft"
    assert post.source == f"feed:{source.id}"
    assert post.title == "Gọi 113 khi phát hiện tội phạm"
    assert post.link == "https://phuong1.example.vn/tin/goi-113"
    assert post.text == "Số 113 trực 24/7.\n\nhttps://phuong1.example.vn/tin/goi-113"
    assert set(_deliveries(engine, post.id)) == {"tinh-fb", "xa-fb"}
    items = _items(engine, source.id)
    assert [(i.state, i.post_id) for i in items] == [("drafted", p.id) for p in _posts(engine)]
    assert result.source.title == "Công an phường 1 – Tin tức"


def test_second_poll_of_the_same_feed_finds_only_duplicates(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml")
    poll(engine, make_queue(), source.id)
    (again,) = poll(engine, make_queue(), source.id)
    assert (again.new, again.duplicate, again.drafted) == (0, 3, 0)
    assert len(_posts(engine)) == 3


@pytest.mark.parametrize(("name", "count"), [("atom.xml", 3), ("rdf.xml", 2)])
def test_atom_and_rdf_feeds_are_imported(engine, make_queue, directory, name, count):
    source = _add(engine, directory, FEEDS / name, make_drafts=False)
    (result,) = poll(engine, make_queue(), source.id)
    assert (result.new, result.error) == (count, None)
    assert len(_items(engine, source.id)) == count


def test_malformed_feed_imports_what_was_recovered_and_stores_the_error(
    engine, make_queue, directory
):
    source = _add(engine, directory, FEEDS / "bozo.xml")
    (result,) = poll(engine, make_queue(), source.id)
    assert result.new == 2 and result.drafted == 2
    assert result.error is not None and result.error.startswith("malformed feed, 2 entries")
    assert list_feeds(engine)[0].last_error == result.error


def test_a_clean_poll_clears_the_stored_error(engine, make_queue, directory, tmp_path):
    path = tmp_path / "feed.xml"
    shutil.copy(FEEDS / "bozo.xml", path)
    source = _add(engine, directory, path, make_drafts=False)
    poll(engine, make_queue(), source.id)
    path.write_bytes(_rss([("g1", None)]))
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error is None
    assert list_feeds(engine)[0].last_error is None


def test_entries_without_a_date_get_the_fetch_time(engine, make_queue, directory, clock):
    source = _add(engine, directory, FEEDS / "undated.xml", make_drafts=False)
    (result,) = poll(engine, make_queue(), source.id)
    assert result.new == 2
    assert result.skipped == [("(untitled entry)", "the entry has no title, link or text")]
    assert [i.published_at for i in _items(engine, source.id)] == [clock.now, clock.now]
    assert {i.dedupe_key for i in _items(engine, source.id)} == {
        "link:https://undated.example.vn/tin/1",
        "title:tin chỉ có tiêu đề",
    }


def test_per_poll_cap_spreads_drafts_over_polls_oldest_first(
    engine, make_queue, directory, clock, tmp_path
):
    days = [datetime(2026, 11, d, 8, 0, tzinfo=UTC) for d in range(10, 17)]
    path = tmp_path / "seven.xml"
    # Newest first, as feeds list them; guid "g10" is the oldest.
    path.write_bytes(_rss([(f"g{d.day}", d) for d in reversed(days)]))
    source = _add(engine, directory, path, max_new_per_poll=3)
    counts = []
    for _ in range(4):
        (result,) = poll(engine, make_queue(), source.id)
        counts.append((result.drafted, result.pending))
        clock.advance(minutes=15)
    assert counts == [(3, 4), (3, 1), (1, 0), (0, 0)]
    assert [p.title for p in _posts(engine)] == [f"Tin g{d.day}" for d in days]


def test_mark_seen_takes_current_items_as_seen_and_drafts_only_later_ones(
    engine, make_queue, directory, tmp_path
):
    path = tmp_path / "feed.xml"
    shutil.copy(FEEDS / "rss2.xml", path)
    source = _add(engine, directory, path)
    (first,) = poll(engine, make_queue(), source.id, mark_seen=True)
    assert (first.new, first.seen, first.drafted, first.pending) == (3, 3, 0, 0)
    assert _posts(engine) == []
    path.write_bytes(_rss([("later", datetime(2026, 11, 22, 12, 0, tzinfo=UTC))]))
    (second,) = poll(engine, make_queue(), source.id)
    assert (second.new, second.drafted) == (1, 1)
    assert [p.title for p in _posts(engine)] == ["Tin later"]
    assert item_counts(engine)[source.id] == {"new": 0, "drafted": 1, "skipped": 0, "seen": 3}


def test_utm_gives_each_channel_a_variant_with_its_tagged_link(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml", channels=["tinh-fb", "tinh-zalo"])
    poll(engine, make_queue(), source.id, utm=UtmSettings(campaign="canh-bao-11"))
    post = _posts(engine)[0]
    link = "https://phuong1.example.vn/tin/goi-113"
    assert post.link == link and post.text.endswith(f"\n\n{link}")
    variants = {c: d.text_variant for c, d in _deliveries(engine, post.id).items()}
    tags = "utm_medium=social&utm_campaign=canh-bao-11"
    assert variants == {
        "tinh-fb": f"Số 113 trực 24/7.\n\n{link}?utm_source=facebook&{tags}",
        "tinh-zalo": f"Số 113 trực 24/7.\n\n{link}?utm_source=zalo&{tags}",
    }


def test_without_utm_no_variants_are_made(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml", channels=["tinh-fb", "tinh-zalo"])
    poll(engine, make_queue(), source.id, utm=False)
    post = _posts(engine)[0]
    assert all(d.text_variant is None for d in _deliveries(engine, post.id).values())


def test_feed_with_a_template_drafts_an_infographic(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml", template="warning")
    poll(engine, make_queue(), source.id)
    assert _posts(engine)[0].infographic == {
        "template": "warning",
        "fields": {"title": "Gọi 113 khi phát hiện tội phạm", "body": "Số 113 trực 24/7."},
    }


def test_long_titles_are_fitted_to_zalo(engine, make_queue, directory, tmp_path):
    title = "Cảnh báo " + "thủ đoạn lừa đảo mới " * 12
    path = tmp_path / "long.xml"
    path.write_text(
        f"<rss version='2.0'><channel><item><title>{title}</title><guid>l</guid>"
        "<link>https://l.example.vn/1</link></item></channel></rss>",
        encoding="utf-8",
    )
    source = _add(engine, directory, path, channels=["tinh-zalo"])
    (result,) = poll(engine, make_queue(), source.id)
    assert result.drafted == 1
    post_title = _posts(engine)[0].title
    assert post_title is not None and len(post_title) <= 149 and post_title.endswith("…")


def test_an_item_the_queue_refuses_is_skipped_and_does_not_use_the_cap(
    engine, make_queue, directory, tmp_path
):
    path = tmp_path / "feed.xml"
    # The older item (drafted first) has a link the queue refuses.
    bad = (
        "<item><title>FTP</title><link>ftp://x.example.vn/a</link><guid>ftp</guid>"
        "<pubDate>Fri, 20 Nov 2026 08:00:00 +0700</pubDate></item>"
    )
    path.write_bytes(_rss([("ok", datetime(2026, 11, 22, tzinfo=UTC))], extra=bad))
    source = _add(engine, directory, path, max_new_per_poll=1)
    (result,) = poll(engine, make_queue(), source.id)
    assert result.drafted == 1
    assert [(t, "is not an http(s) URL" in r) for t, r in result.skipped] == [("FTP", True)]
    states = {i.dedupe_key: i.state for i in _items(engine, source.id)}
    assert states == {"id:ftp": "skipped", "id:ok": "drafted"}


def test_feed_without_drafts_only_records_items(engine, make_queue, directory):
    source = _add(engine, directory, FEEDS / "rss2.xml", channels=[], make_drafts=False)
    (result,) = poll(engine, make_queue(), source.id)
    assert (result.new, result.drafted, result.pending) == (3, 0, 3)
    assert _posts(engine) == []


def test_a_feed_that_fails_is_reported_and_the_others_still_polled(
    engine, make_queue, directory, tmp_path
):
    gone = tmp_path / "gone.xml"
    gone.write_bytes(_rss([("g", None)]))
    broken = _add(engine, directory, gone, make_drafts=False)
    gone.unlink()
    good = _add(engine, directory, FEEDS / "rss2.xml", make_drafts=False)
    results = {r.source.id: r for r in poll(engine, make_queue())}
    assert results[good.id].new == 3
    assert results[broken.id].error == f"{gone}: cannot read (No such file or directory)"
    assert {f.id: f.last_error for f in list_feeds(engine)}[broken.id] == results[broken.id].error


def test_add_feed_refuses_bad_input_and_writes_nothing(engine, directory, tmp_path):
    path = FEEDS / "rss2.xml"
    cases = [
        (dict(url="ftp://x.example.vn/rss"), "url"),
        (dict(url=str(tmp_path / "missing.xml")), "url"),
        (dict(channels=["nope"]), "channel"),
        (dict(channels=[]), "channel"),
        (dict(template="nope"), "template"),
        (dict(max_new_per_poll=0), "max_new_per_poll"),
    ]
    for change, field in cases:
        args = dict(url=str(path), channels=["tinh-fb"]) | change
        with pytest.raises(ValidationError) as err:
            add_feed(engine, args.pop("url"), args.pop("channels"), directory=directory, **args)
        assert err.value.field == field, change
    assert list_feeds(engine) == []


def test_the_same_feed_cannot_be_added_twice(engine, directory):
    first = _add(engine, directory, FEEDS / "rss2.xml")
    with pytest.raises(ValidationError, match=f"already feed {first.id}"):
        _add(engine, directory, FEEDS / ".." / "feeds" / "rss2.xml")


def test_import_source_adds_a_new_file_then_finds_it_by_path_or_id(engine, make_queue):
    queue = make_queue()
    first = import_source(engine, queue, str(FEEDS / "rdf.xml"), channels=["tinh-fb"])
    assert (first.new, first.drafted) == (2, 2)
    by_path = import_source(engine, queue, str(FEEDS / "rdf.xml"))
    by_id = import_source(engine, queue, str(first.source.id))
    assert by_path.duplicate == by_id.duplicate == 2
    assert [f.url for f in list_feeds(engine)] == [(FEEDS / "rdf.xml").resolve().as_uri()]
    with pytest.raises(NotFound):
        import_source(engine, queue, "999")


def test_the_bundled_sample_feed_imports_cleanly(engine, make_queue):
    sample = REPO / "content" / "samples" / "bocongan-sample.xml"
    result = import_source(engine, make_queue(), str(sample), channels=["tinh-fb", "tinh-zalo"])
    assert (result.new, result.drafted, result.pending, result.error) == (6, 5, 1, None)
    assert result.skipped == []
    for post in _posts(engine):
        assert post.title and len(post.title) <= 149
        assert "<" not in post.text and "trackView" not in post.text


def test_a_draft_made_but_not_recorded_before_a_crash_is_linked_not_made_again(
    engine, make_queue, directory, monkeypatch
):
    source = _add(engine, directory, FEEDS / "rss2.xml", max_new_per_poll=1)

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # the process dies between the post and the item update

    monkeypatch.setattr("content.feeds._attach", crash)
    with pytest.raises(KeyboardInterrupt):
        poll(engine, make_queue(), source.id)
    (post,) = _posts(engine)
    assert [(i.state, i.post_id) for i in _items(engine, source.id)][0] == ("drafted", None)
    monkeypatch.undo()
    (result,) = poll(engine, make_queue(), source.id)
    assert result.drafted == 1
    first = _items(engine, source.id)[0]
    assert (first.state, first.post_id) == ("drafted", post.id)
    assert len(_posts(engine)) == 2
