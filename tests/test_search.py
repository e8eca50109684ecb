"""Search ignores case and Vietnamese diacritics, the same in the CLI and the TUI, on both
databases; % and _ are literal; a date range narrows both faces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, text

from content.db import _alembic_config, make_engine, upgrade
from content.listing import PostFilter, find_posts
from content.models import Post
from content.queue import PostInput
from content.search import fold, search_text
from content.ui import data
from tests.helpers import local


def cli_ids(engine, term: str, **kw) -> list[int]:
    return [p.id for p, _ in find_posts(engine, PostFilter(text=term, **kw))]


def tui_ids(engine, term: str, **kw) -> list[int]:
    return [r.id for r in data.load_queue(engine, data.QueueQuery(text=term, **kw)).rows]


@pytest.fixture
def posts(make_queue) -> dict[str, int]:
    queue = make_queue("lan")
    made = {}
    for key, title, body in (
        ("scam", "Cảnh giác LỪA ĐẢO qua mạng", "Không chuyển tiền cho người lạ."),
        ("scam2", None, "Thủ đoạn lừa đảo mới: giả danh công an gọi điện."),
        ("hotline", "Đường dây nóng", "Gọi 113 khi cần."),
        ("percent", None, "Giảm 50% tai nạn giao thông"),
        ("underscore", None, "Tài khoản mat_khau bị lộ"),
        ("other", None, "Tin phong trào toàn dân bảo vệ an ninh Tổ quốc"),
    ):
        made[key] = queue.create(PostInput(text=body, title=title, channels=["tinh-fb"])).post.id
    return made


def test_fold_drops_case_diacritics_and_d_stroke():
    assert fold("LỪA ĐẢO") == fold("lừa đảo") == fold("lua dao") == "lua dao"
    assert fold("Đường  dây\nnóng") == "duong day nong"
    assert search_text("Tiêu đề", "Nội dung", "Lan") == "tieu de\nnoi dung\nlan"


@pytest.mark.parametrize("term", ["lua dao", "LỪA ĐẢO", "lừa đảo", "Lừa Đảo", "LUA DAO"])
def test_every_spelling_finds_the_same_posts_in_both_faces(engine, posts, term):
    expected = sorted([posts["scam"], posts["scam2"]])
    assert sorted(cli_ids(engine, term)) == expected
    assert sorted(tui_ids(engine, term)) == expected


def test_d_stroke_matches_d_and_unaccented_words_match(engine, posts):
    assert cli_ids(engine, "duong day") == [posts["hotline"]]
    assert tui_ids(engine, "canh giac") == [posts["scam"]]
    assert cli_ids(engine, "giả danh CÔNG AN") == [posts["scam2"]]


def test_percent_and_underscore_are_literal(engine, posts):
    assert cli_ids(engine, "%") == [posts["percent"]]
    assert tui_ids(engine, "%") == [posts["percent"]]
    assert cli_ids(engine, "_") == [posts["underscore"]]
    assert tui_ids(engine, "g_am") == []  # as a wildcard, it would match "giảm"
    assert cli_ids(engine, "50_") == []
    assert data.load_queue(engine, data.QueueQuery(text="_")).total == 1


def test_the_author_is_searched_in_both_faces(engine, posts, make_queue):
    other = make_queue("Đức").create(PostInput(text="Bài viết", channels=["tinh-fb"])).post.id
    assert cli_ids(engine, "duc") == [other]
    assert tui_ids(engine, "ĐỨC") == [other]


def test_an_edit_is_searched_by_its_new_words(engine, posts, make_queue):
    make_queue("lan").edit(posts["other"], text="Phòng chống ma tuý học đường")
    assert cli_ids(engine, "ma tuy") == [posts["other"]]
    assert tui_ids(engine, "bao ve an ninh") == []


def test_a_date_range_narrows_both_faces(engine, make_queue, directory):
    queue = make_queue("lan")
    ids = [
        queue.create(
            PostInput(text=f"Ngày {d}", channels=["tinh-fb"], at=local(f"2026-12-{d} 23:30"))
        ).post.id
        for d in ("01", "02", "03")
    ]
    start, end = local("2026-12-02 00:00"), local("2026-12-03 00:00")
    assert [p.id for p, _ in find_posts(engine, PostFilter(scheduled_from=start))] == ids[1:]
    window = dict(scheduled_from=start, scheduled_to=end)
    assert [p.id for p, _ in find_posts(engine, PostFilter(**window))] == [ids[1]]
    assert [r.id for r in data.load_queue(engine, data.QueueQuery(**window)).rows] == [ids[1]]


def test_a_row_inserted_without_the_orm_is_searchable(engine):
    # Bulk inserts (benchmarks, tools) do not know the column: its default folds the row.
    now = datetime(2026, 11, 23, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Post),
            [
                dict(
                    text="Cảnh báo lừa đảo",
                    title=None,
                    author="bench",
                    image_ids=[],
                    tags=[],
                    state="draft",
                    fingerprint="x",
                    created_at=now,
                    updated_at=now,
                )
            ],
        )
    assert len(cli_ids(engine, "LUA DAO")) == 1


def test_the_migration_fills_the_column_of_existing_posts(db_url):
    engine = make_engine(db_url)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    when = now.replace(tzinfo=None) if engine.dialect.name == "sqlite" else now
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0005")
        for i, body in enumerate(("Cảnh giác lừa đảo", "Đường dây nóng 113", "Tin khác")):
            conn.execute(
                text(
                    "INSERT INTO post (title, text, image_ids, author, tags, state, "
                    "fingerprint, created_at, updated_at) VALUES (:title, :text, '[]', "
                    ":author, '[]', 'draft', 'x', :at, :at)"
                ),
                {
                    "title": "ĐẶC BIỆT" if i == 0 else None,
                    "text": body,
                    "author": "Lan",
                    "at": when,
                },
            )
    upgrade(engine)
    assert cli_ids(engine, "lua dao") == [1]
    assert cli_ids(engine, "dac biet") == [1]
    assert tui_ids(engine, "duong day") == [2]
    engine.dispose()


def test_a_search_keystroke_still_walks_the_time_index(engine, make_queue, clock):
    # The queue's page is ordered by time; the search must not need a sort of every match
    # (see content.ui.data._ordered): pages are stable and complete across offsets.
    queue = make_queue("lan")
    base = clock() + timedelta(days=1)
    for i in range(7):
        queue.create(
            PostInput(text=f"Lừa đảo số {i}", channels=["tinh-fb"], at=base + timedelta(hours=i))
        )
    first = data.load_queue(engine, data.QueueQuery(text="lua dao", limit=4))
    second = data.load_queue(engine, data.QueueQuery(text="lua dao", limit=4, offset=4))
    assert first.total == 7
    assert [r.text for r in first.rows + second.rows] == [f"Lừa đảo số {i}" for i in range(7)]
