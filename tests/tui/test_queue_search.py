"""The queue's search box, at the data layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from content.queue import PostInput
from content.ui import data


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The search is SQL: on both databases (the other TUI tests run on SQLite only)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


def test_search_ignores_case_and_looks_in_text_title_and_author(engine, make_queue):
    queue = make_queue("lan")
    queue.create(PostInput(text="Cảnh giác lừa đảo qua ZALO", channels=["tinh-fb"]))
    queue.create(PostInput(text="Đường dây nóng", title="Zalo OA mới", channels=["tinh-fb"]))
    make_queue("Zalo-team").create(PostInput(text="Tin phong trào", channels=["tinh-fb"]))
    make_queue("lan").create(PostInput(text="Không liên quan", channels=["tinh-fb"]))
    page = data.load_queue(engine, data.QueueQuery(text="zalo"))
    assert page.total == 3
    assert sorted(r.text for r in page.rows) == [
        "Cảnh giác lừa đảo qua ZALO",
        "Tin phong trào",
        "Đường dây nóng",
    ]
