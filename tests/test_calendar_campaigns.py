"""The movement's calendar: one campaign draft per unit for each fixed date, named after the
unit, made once (by hand or by the daemon, also with two daemons racing), never over a unit's
own edits; bad entries said in one line; the CLI in Vietnamese and English."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlmodel import Session, select

from content import calendar_campaigns as cal
from content.db import _alembic_config, make_engine, open_database
from content.evaluation import CAMPAIGN, span, status
from content.messages import render
from content.models import AuditEvent, Delivery, JobRun, Post
from content.queue import Queue
from content.ui.data import QueueQuery, load_queue
from scheduler.calendar_jobs import JOB, prepare_due
from scheduler.cli import main
from scheduler.config import ConfigError, load
from tests.helpers import HCM, FakeClock

OFFICE = """\
[office]
name = "Công an tỉnh Demo"
timezone = "Asia/Ho_Chi_Minh"
require_second_approver = true

[channels.tinh-fb]
kind = "facebook"
name = "Công an tỉnh Demo (Facebook)"
page_id = "100000000000001"
token = { env = "FB_TOKEN" }

[channels.p1-fb]
kind = "facebook"
name = "Công an phường 1 (Facebook)"
page_id = "100000000000002"
token = { env = "FB_TOKEN" }

[channels.p2-fb]
kind = "facebook"
name = "Công an phường 2 (Facebook)"
page_id = "100000000000003"
token = { env = "FB_TOKEN" }

[channels.p2-zalo]
kind = "zalo_oa"
name = "Công an phường 2 (Zalo OA)"
oa_id = "4300000000000000002"
app_id = "3100000000000000001"
app_secret = { env = "ZALO_SECRET" }

[units.tinh]
name = "Công an tỉnh Demo"
channels = ["tinh-fb"]

[units.p1]
name = "Công an phường 1"
parent = "tinh"
channels = ["p1-fb"]

[units.p2]
name = "Công an phường 2"
parent = "tinh"
channels = ["p2-fb", "p2-zalo"]

[units.xa3]
name = "Công an xã 3"
parent = "tinh"

[targets.campaigns."Ngày hội toàn dân bảo vệ ANTQ"]
from = 2027-08-01
to = 2027-08-19
posts_per_unit = 1
"""
AUGUST_19 = cal.AUGUST_19
#: Units with channels, in tree order: each gets one draft (xa3 has no channel).
WITH_CHANNELS = ["tinh", "p1", "p2"]


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    """Office time on ``day`` as the UTC clock reads it."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=HCM).astimezone(UTC)


def office_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(OFFICE + extra, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path):
    return load(office_file(tmp_path))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at("2027-08-01"))


def queue_for(engine, config, clock, actor: str = "loa-daemon") -> Queue:
    return Queue(engine, config.directory(), actor=actor, clock=clock)


def calendar_posts(engine) -> list[Post]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Post).where(Post.campaign == AUGUST_19).order_by(Post.id)  # type: ignore[arg-type]
            ).all()
        )


def channels_of(engine, post_id: int) -> list[str]:
    with Session(engine) as session:
        return sorted(
            d.channel for d in session.exec(select(Delivery).where(Delivery.post_id == post_id))
        )


# ---------------------------------------------------------------------------- configuration


def test_august_19_is_built_in_and_the_office_can_change_or_drop_it(tmp_path, config):
    (entry,) = config.calendar
    assert (entry.name, entry.month, entry.day, entry.lead_days) == (AUGUST_19, 8, 19, 14)
    assert entry.builtin and entry.units == () and "{unit}" in entry.text
    changed = load(
        office_file(
            tmp_path,
            f'\n[calendar."{AUGUST_19}"]\ntime = "08:00"\nunits = ["p1", "p2"]\n'
            '\n[calendar."Sơ kết phong trào"]\ndate = "10-20"\nlead_days = 7\n'
            'title = "Sơ kết phong trào năm {year}"\ntext = "{unit} sơ kết phong trào."\n',
        )
    )
    first, second = changed.calendar
    # The built-in text stays; the time and the units are the office's.
    assert (first.at.hour, first.units, first.text) == (8, ("p1", "p2"), entry.text)
    assert (second.name, second.month, second.day, second.builtin) == (
        "Sơ kết phong trào",
        10,
        20,
        False,
    )
    dropped = load(office_file(tmp_path, f'\n[calendar."{AUGUST_19}"]\nenabled = false\n'))
    assert dropped.calendar == ()


BAD_ENTRIES = [
    (
        'date = "02-30"\ntext = "x"',
        "date",
        "'02-30' is not a day of the year; expected MM-DD, e.g. 08-19",
        "'02-30' không phải một ngày trong năm",
    ),
    (
        'date = "09-05"\ntext = "   "',
        "text",
        "the text is empty; write what each unit's post says",
        "Nội dung trống",
    ),
    (
        'date = "09-05"\ntext = "x"\nunits = ["p9"]',
        "units",
        "unknown unit 'p9'; expected one of p1, p2, tinh, xa3, or \"*\"",
        "Không có đơn vị 'p9'",
    ),
    (
        'date = "09-05"\ntext = "{donvi} x"',
        "text",
        "unknown placeholder {donvi}; expected {unit}, {year}, {date}",
        "Không có chỗ điền {donvi}",
    ),
    (
        'date = "09-05"\ntext = "x"\ninfographic = { template = "poster" }',
        "infographic.template",
        "no infographic template 'poster' (see: loa render --list)",
        "Không có mẫu infographic 'poster'",
    ),
    (
        'date = "09-05"\ntext = "x"\ntitle = "' + "Tiêu đề rất dài " * 8 + '{unit} và Nhân dân"',
        "title",
        "with the name of unit p2 the title has 156 characters; p2-zalo takes at most 149: "
        "shorten the title",
        "tiêu đề có 156 ký tự",
    ),
]


@pytest.mark.parametrize(("table", "key", "english", "vietnamese"), BAD_ENTRIES)
def test_a_bad_entry_is_one_line_naming_file_line_and_key(
    tmp_path, table, key, english, vietnamese
):
    path = office_file(tmp_path, f'\n[calendar."Sơ kết"]\n{table}\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    line = render(caught.value, "en")
    assert line == f'{path}:{line.split(":")[1]}: calendar."Sơ kết".{key}: {english}'
    assert vietnamese in render(caught.value, "vi")


def test_the_error_says_the_line_of_the_entry(tmp_path):
    path = office_file(tmp_path, '\n[calendar."Sơ kết"]\ndate = "13-01"\ntext = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    number = OFFICE.count("\n") + 3  # the blank line, the header, then date
    assert render(caught.value, "en").startswith(f"{path}:{number}: ")


# ---------------------------------------------------------------------------- the drafts


def test_each_unit_gets_one_draft_on_its_own_channels_naming_it(engine, config, clock):
    (result,) = cal.prepare(
        queue_for(engine, config, clock), cal.occurrences(config.calendar, 2027, HCM)
    )
    assert result.outcomes == {
        "tinh": cal.CREATED,
        "p1": cal.CREATED,
        "p2": cal.CREATED,
        "xa3": cal.NO_CHANNEL,
    }
    posts = calendar_posts(engine)
    assert [p.source for p in posts] == [f"calendar:2027:{u}:{AUGUST_19}" for u in WITH_CHANNELS]
    names = {"tinh": "Công an tỉnh Demo", "p1": "Công an phường 1", "p2": "Công an phường 2"}
    own = {"tinh": ["tinh-fb"], "p1": ["p1-fb"], "p2": ["p2-fb", "p2-zalo"]}
    for unit, post in zip(WITH_CHANNELS, posts, strict=True):
        assert post.state == "draft" and post.author == "loa-daemon"
        assert post.scheduled_at is not None
        assert post.scheduled_at.replace(tzinfo=UTC) == at("2027-08-19", 7, 30)
        assert channels_of(engine, post.id) == own[unit]
        # Each text names its own unit and no other; the year and date are filled in.
        assert names[unit] in post.text and "{" not in post.text
        assert [n for n in names.values() if n in post.text and n != names[unit]] == []
        assert "năm 2027" in post.text
        assert post.title == "Ngày hội toàn dân bảo vệ an ninh Tổ quốc 19/8/2027"
    # Created through the queue: audited like any other creation.
    with Session(engine) as session:
        created = session.exec(select(AuditEvent).where(AuditEvent.action == "create")).all()
    assert sorted(e.post_id for e in created) == [p.id for p in posts]
    assert {e.actor for e in created} == {"loa-daemon"}


def test_preparing_twice_makes_nothing_new_and_keeps_a_units_edits(engine, config, clock):
    chosen = cal.occurrences(config.calendar, 2027, HCM)
    cal.prepare(queue_for(engine, config, clock), chosen)
    tinh, p1, p2 = calendar_posts(engine)
    # Ward 1 rewrites its draft and submits it; ward 2 decides against it.
    officer = queue_for(engine, config, clock, actor="canbo.p1")
    officer.edit(p1.id, text="Công an phường 1 mời bà con dự Ngày hội tại nhà văn hoá khu phố 3.")
    officer.submit(p1.id)
    queue_for(engine, config, clock, actor="canbo.p2").cancel(p2.id, "đơn vị tự soạn bài khác")
    clock.advance(days=3)
    (again,) = cal.prepare(queue_for(engine, config, clock), chosen)
    assert again.count(cal.CREATED) == 0 and again.count(cal.EXISTS) == 3
    assert again.posts == {"tinh": tinh.id, "p1": p1.id, "p2": p2.id}
    after = {p.id: p for p in calendar_posts(engine)}
    assert len(after) == 3
    assert after[p1.id].text.startswith("Công an phường 1 mời bà con")
    assert after[p1.id].state == "in_review"
    assert after[p2.id].state == "cancelled"
    (listed,) = cal.status(engine, config.directory(), chosen)
    drafts = {u.unit.id: u.draft for u in listed.units}
    assert drafts["p1"] is not None and drafts["p1"].edited
    assert drafts["tinh"] is not None and not drafts["tinh"].edited
    assert drafts["xa3"] is None
    counts = listed.counts()
    assert (counts["draft"], counts["in_review"], counts["cancelled"], counts["missing"]) == (
        1,
        1,
        1,
        0,
    )


def test_a_dry_run_writes_nothing_and_a_past_date_is_left_alone(engine, config, clock):
    chosen = cal.occurrences(config.calendar, 2027, HCM)
    (dry,) = cal.prepare(queue_for(engine, config, clock), chosen, dry_run=True)
    assert dry.count(cal.WOULD_CREATE) == 3 and calendar_posts(engine) == []
    clock.now = at("2027-08-19", 7, 30)
    (late,) = cal.prepare(queue_for(engine, config, clock), chosen)
    assert late.past and late.outcomes == {} and calendar_posts(engine) == []
    # What is coming is then next year's.
    (coming,) = cal.upcoming(config.calendar, clock.now, HCM)
    assert coming.year == 2028


def test_the_drafts_count_for_the_campaign_quota_and_show_in_the_queue(engine, config, clock):
    cal.prepare(queue_for(engine, config, clock), cal.occurrences(config.calendar, 2027, HCM))
    tinh, _p1, _p2 = calendar_posts(engine)
    queue_for(engine, config, clock, actor="canbo.tinh").submit(tinh.id)
    queue_for(engine, config, clock, actor="lanhdao").approve(tinh.id)
    report = status(
        engine, config.directory(), span(date(2027, 8, 1), date(2027, 8, 19), HCM), now=clock()
    )
    quota = {u.unit.id: next(t for t in u.targets if t.kind == CAMPAIGN) for u in report.units}
    # The province's approved post is on its way to its quota; the wards' are still drafts.
    assert (quota["tinh"].scheduled, quota["p1"].scheduled) == (1, 0)
    page = load_queue(engine, QueueQuery(campaign=AUGUST_19))
    assert page.total == 3 and AUGUST_19 in page.campaigns
    # A ward's officer sees his own unit's draft only.
    mine = load_queue(engine, QueueQuery(campaign=AUGUST_19), visible=frozenset({"p1-fb"}))
    assert [r.deliveries[0].channel for r in mine.rows] == ["p1-fb"]


# ---------------------------------------------------------------------------- the daemon


def test_the_daemon_prepares_from_lead_days_ahead_until_the_posts_time(engine, config, clock):
    queue = queue_for(engine, config, clock)
    moment = at("2027-07-01", 7)
    made = []
    while moment < at("2027-09-01"):
        clock.now = moment
        made += [(k, moment) for k in prepare_due(engine, config, queue, moment, worker="d1")]
        moment += timedelta(hours=6)
    # The first look on August 5 (office time), 14 days ahead; none after.
    assert made == [(f"2027/{AUGUST_19}", at("2027-08-05", 1))]
    assert len(calendar_posts(engine)) == 3


def test_two_daemons_racing_prepare_each_entry_once(db_url, config):
    # Two daemons: each its own engine (its own connections, as two processes have).
    engines = [open_database(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def daemon(index: int, moment: datetime) -> None:
        queue = queue_for(engines[index], config, FakeClock(moment))
        barrier.wait()
        results.append(prepare_due(engines[index], config, queue, moment, worker=f"d{index}"))

    try:
        for moment in (at("2027-08-05", 7), at("2027-08-05", 8), at("2027-08-18")):
            threads = [threading.Thread(target=daemon, args=(i, moment)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert sorted(key for keys in results for key in keys) == [f"2027/{AUGUST_19}"]
        posts = calendar_posts(engines[0])
        assert sorted(p.source for p in posts) == sorted(
            f"calendar:2027:{u}:{AUGUST_19}" for u in WITH_CHANNELS
        )
        with Session(engines[0]) as session:
            (run,) = session.exec(select(JobRun).where(JobRun.job == JOB)).all()
        assert run.finished_at is not None and run.detail == "3 drafts (3 made now)"
    finally:
        for one in engines:
            one.dispose()


def test_the_daemon_looks_for_due_entries_every_office_hour(config, tmp_path, monkeypatch):
    from scheduler.runtime import build_daemon

    monkeypatch.setenv("FB_TOKEN", "test-token")
    monkeypatch.setenv("ZALO_SECRET", "test-secret")
    monkeypatch.setenv("LOA_CREDENTIAL_KEY_FILE", str(tmp_path / "key"))
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    daemon = build_daemon(config, engine)
    trigger, _job = daemon.periodic["calendar"]
    assert isinstance(trigger, CronTrigger)
    fires = trigger.get_next_fire_time(None, at("2027-08-05", 6))
    assert fires is not None and fires.astimezone(HCM).hour == 7
    engine.dispose()


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    path = office_file(tmp_path)
    db = f"sqlite:///{tmp_path / 'loa.db'}"
    monkeypatch.setattr("scheduler.cli.calendar.utcnow", lambda: at("2027-08-01"))
    # The command's clock and its queue's: August 1, 2027, whenever the test runs.
    monkeypatch.setattr(
        "scheduler.cli.common.Queue", partial(Queue, clock=lambda: at("2027-08-01"))
    )

    def run(lang: str, *args: str) -> tuple[int, str]:
        monkeypatch.setenv("LOA_LANG", lang)
        code = main(["--config", str(path), "--db", db, "calendar", *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def test_the_cli_in_english(cli):
    code, out = cli("en", "prepare")
    assert code == 0
    assert out.splitlines() == [
        f"19/08/2027 07:30  {AUGUST_19}",
        "  3 drafts made (#1, #2, #3)",
        "  1 unit has no channel",
        "  each unit edits its own draft; to see them:",
        f"    loa post list --campaign '{AUGUST_19}'",
    ]
    code, out = cli("en", "prepare")
    assert "  0 drafts made" in out and "  3 units already have their draft" in out
    code, out = cli("en", "list", "--units")
    assert out.splitlines() == [
        f"19/08/2027 07:30  {AUGUST_19}",
        f"  campaign: {AUGUST_19}",
        "  drafts made from 05/08/2027 (14 days before)",
        "  3 of 4 units have their draft (draft: 3)",
        "    tinh  Công an tỉnh Demo: #1 draft",
        "    p1    Công an phường 1: #2 draft",
        "    p2    Công an phường 2: #3 draft",
        "    xa3   Công an xã 3: no channel",
    ]
    code, out = cli("en", "list", "--json")
    (entry,) = json.loads(out)["entries"]
    assert (entry["date"], entry["with_draft"], entry["counts"]["draft"]) == ("2027-08-19", 3, 3)
    code, out = cli("en", "list", "--entry", "Tết")
    assert code == 2
    assert out.strip() == f"loa: error: no calendar entry 'Tết'; expected one of {AUGUST_19}"


def test_the_cli_in_vietnamese(cli):
    code, out = cli("vi", "prepare", "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        f"19/08/2027 07:30  {AUGUST_19}",
        "  sẽ tạo 3 bản nháp",
        "  1 đơn vị chưa có kênh",
    ]
    cli("vi", "prepare")
    code, out = cli("vi", "list")
    assert out.splitlines() == [
        f"19/08/2027 07:30  {AUGUST_19}",
        f"  chiến dịch: {AUGUST_19}",
        "  tạo bản nháp từ ngày 05/08/2027 (trước 14 ngày)",
        "  3/4 đơn vị đã có bản nháp (bản nháp: 3)",
    ]
    assert all(len(line) <= 80 for line in out.splitlines())
    code, out = cli("vi", "list", "--year", "2026")
    assert out.splitlines()[0] == f"19/08/2026 07:30  {AUGUST_19}  (đã qua)"


def test_a_ward_officer_prepares_his_own_units_draft_only(engine, config, clock):
    from content.accounts import Access
    from content.models import Role

    officer = Access(
        actor="canbo.p1", real="canbo.p1", role=Role.AUTHOR, channels=frozenset({"p1-fb"})
    )
    queue = Queue(engine, config.directory(), access=officer, clock=clock)
    (result,) = cal.prepare(queue, cal.occurrences(config.calendar, 2027, HCM))
    assert result.outcomes == {
        "tinh": cal.OUTSIDE,
        "p1": cal.CREATED,
        "p2": cal.OUTSIDE,
        "xa3": cal.NO_CHANNEL,
    }
    # The daemon later makes the others' and leaves his alone.
    (later,) = cal.prepare(
        queue_for(engine, config, clock), cal.occurrences(config.calendar, 2027, HCM)
    )
    assert later.outcomes["p1"] == cal.EXISTS and later.count(cal.CREATED) == 2
    assert [p.author for p in calendar_posts(engine)] == ["canbo.p1", "loa-daemon", "loa-daemon"]


def test_a_unit_whose_draft_failed_is_tried_again_and_the_others_not_twice(
    engine, config, clock, monkeypatch
):
    from content.errors import ValidationError
    from scheduler.calendar_jobs import RETRY_AFTER

    queue = queue_for(engine, config, clock)
    create = Queue.create
    refusals = {"p2": 1}

    def flaky(self, request, **kwargs):
        unit = request.source.split(":")[2]
        if refusals.get(unit):
            refusals[unit] -= 1
            raise ValidationError("no_text", field="text")
        return create(self, request, **kwargs)

    monkeypatch.setattr(Queue, "create", flaky)
    clock.now = at("2027-08-05", 7)
    assert prepare_due(engine, config, queue, clock.now, worker="d1") == []
    assert len(calendar_posts(engine)) == 2
    with Session(engine) as session:
        (run,) = session.exec(select(JobRun).where(JobRun.job == JOB)).all()
    assert run.finished_at is None and run.detail == "failed: p2: text: the post has no text"
    # Before the retry delay nobody tries again; after it, only ward 2's draft is made.
    clock.now += RETRY_AFTER / 2
    assert prepare_due(engine, config, queue, clock.now, worker="d2") == []
    clock.now += RETRY_AFTER
    assert prepare_due(engine, config, queue, clock.now, worker="d2") == [f"2027/{AUGUST_19}"]
    assert sorted(p.source.split(":")[2] for p in calendar_posts(engine)) == ["p1", "p2", "tinh"]


def test_prepare_says_each_units_outcome_in_json(cli):
    code, out = cli("en", "prepare", "--year", "2027", "--json")
    (entry,) = json.loads(out)["entries"]
    assert code == 0 and not entry["past"]
    assert [(u["unit"], u["outcome"], u["post"]) for u in entry["units"]] == [
        ("tinh", "created", 1),
        ("p1", "created", 2),
        ("p2", "created", 3),
        ("xa3", "no_channel", None),
    ]


def test_an_office_without_units_gets_one_draft_on_every_channel(tmp_path, engine, clock):
    text = OFFICE[: OFFICE.index("[units.tinh]")]
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    config = load(path)
    (result,) = cal.prepare(
        queue_for(engine, config, clock), cal.occurrences(config.calendar, 2027, HCM)
    )
    assert result.outcomes == {cal.OFFICE_UNIT: cal.CREATED}
    (post,) = calendar_posts(engine)
    assert channels_of(engine, post.id) == ["p1-fb", "p2-fb", "p2-zalo", "tinh-fb"]
    assert "Công an tỉnh Demo kêu gọi" in post.text


def test_an_entry_early_in_january_is_prepared_in_the_december_before():
    new_year = cal.CalendarEntry(name="Tết", month=1, day=5, text="{unit} chúc Tết", lead_days=14)
    assert cal.due([new_year], at("2026-12-21", 23), HCM) == []
    (one,) = cal.due([new_year], at("2026-12-22", 0, 5), HCM)
    assert (one.year, one.key, one.prepare_from) == (2027, "2027/Tết", date(2026, 12, 22))
    assert [o.year for o in cal.due([new_year], at("2027-01-05", 7, 29), HCM)] == [2027]
    assert cal.due([new_year], at("2027-01-05", 7, 30), HCM) == []


def test_an_entry_with_an_infographic_fills_it_for_each_unit(tmp_path, engine, clock):
    config = load(
        office_file(
            tmp_path,
            '\n[calendar."Sơ kết phong trào"]\ndate = "10-20"\nunits = ["p1", "p2"]\n'
            'text = "{unit} sơ kết phong trào năm {year}."\ntags = ["phong-trao"]\n'
            'infographic = { template = "announcement", fields = '
            '{ quote = "Toàn dân bảo vệ an ninh Tổ quốc", author = "{unit}" } }\n',
        )
    )
    chosen = cal.occurrences(config.calendar, 2027, HCM, entry="Sơ kết phong trào")
    (result,) = cal.prepare(queue_for(engine, config, clock), chosen)
    assert result.outcomes == {"p1": cal.CREATED, "p2": cal.CREATED}
    with Session(engine) as session:
        posts = session.exec(select(Post).where(Post.campaign == "Sơ kết phong trào")).all()
    assert sorted((p.infographic["fields"]["author"], p.tags[0]) for p in posts) == [
        ("Công an phường 1", "phong-trao"),
        ("Công an phường 2", "phong-trao"),
    ]
    assert {p.infographic["template"] for p in posts} == {"announcement"}
    assert {p.title for p in posts} == {"Sơ kết phong trào"}


def test_a_draft_made_meanwhile_by_someone_else_is_the_units_draft(
    engine, config, clock, monkeypatch
):
    """The daemon and an officer prepare the same entry at the same moment: both read "no
    draft yet", both create; the database keeps one draft per unit and the second says it
    exists (the calendar source is unique)."""
    chosen = cal.occurrences(config.calendar, 2027, HCM)
    (first,) = cal.prepare(queue_for(engine, config, clock), chosen)
    assert first.count(cal.CREATED) == 3
    real = cal.drafts
    reads: list[int] = []

    def read_before_the_others_commit(*args, **kwargs):
        reads.append(1)
        return {} if len(reads) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(cal, "drafts", read_before_the_others_commit)
    (second,) = cal.prepare(queue_for(engine, config, clock), chosen)
    assert second.count(cal.CREATED) == 0 and second.count(cal.EXISTS) == 3
    assert second.posts == first.posts
    assert len(calendar_posts(engine)) == 3


def test_drafts_doubled_before_the_unique_index_are_kept_when_it_is_made(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0010")
        for _ in range(2):
            conn.execute(
                text(
                    "INSERT INTO post (text, author, image_ids, tags, state, fingerprint, source, "
                    "created_at, updated_at) VALUES ('x', 'loa', '[]', '[]', 'draft', 'f', "
                    "'calendar:2027:p1:Ngày hội', :now, :now)"
                ),
                {"now": datetime(2026, 12, 1, 4, 0)},
            )
    engine.dispose()
    engine = open_database(db_url)
    with engine.connect() as conn:
        sources = conn.execute(text("SELECT id, source FROM post ORDER BY id")).all()
    engine.dispose()
    (first_id, first), (second_id, second) = sources
    assert first == "calendar:2027:p1:Ngày hội"
    assert second == f"calendar:2027:p1:Ngày hội:duplicate-{second_id}"
