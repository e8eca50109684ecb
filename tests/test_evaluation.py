"""Targets, roll-up and ranking on a year of generated data (tests/year_data.py), each figure
recomputed here from the generated plain values, never through content.evaluation.

The office: a province, six wards and two communes under ward 3. The data was generated as
of Wednesday 2026-11-18 12:00 (office time): the year's last week is still running, with
posts scheduled for the rest of it. Follower counts exist from March 2026, for the commune
x2's Page only from June: spans ending before June rank per publication, later ones per
follower.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from content.evaluation import publications, ranking, span, status
from scheduler.cli import main
from tests.helpers import HCM
from tests.year_data import (
    CAMPAIGN,
    FIRST_DAY,
    LATE_COUNTED,
    NOW,
    QUOTA_FROM,
    QUOTA_POSTS,
    QUOTA_TO,
    UNITS,
    WEEKS,
    GenPublication,
    Office,
    Year,
    generated_office,
)

RUNNING_MONDAY = date(2026, 11, 16)
SPEC = {u.id: u for u in UNITS}
CHANNELS = {c for u in UNITS for c in u.channels}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def office(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Office]:
    """The year, written once per database for the whole module."""
    with generated_office(request.param, tmp_path_factory.mktemp("year")) as generated:
        yield generated


# ---------------------------------------------------------------------- the recomputation


def local_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=HCM).astimezone(UTC)


def latest(pub: GenPublication, end: datetime) -> dict[str, float]:
    """Each metric's value at its latest collection before ``end``."""
    best: dict[str, tuple[datetime, float]] = {}
    for at, name, value in pub.samples:
        if at < end and (name not in best or at >= best[name][0]):
            best[name] = (at, value)
    return {name: value for name, (_at, value) in best.items()}


@dataclass
class Sums:
    publications: int = 0
    on_time: int = 0
    audience: float = 0.0
    engagement: float = 0.0
    views: float = 0.0


def channel_sums(year: Year, first: date, last: date) -> dict[str, Sums]:
    start, end = local_start(first), local_start(last + timedelta(days=1))
    result: dict[str, Sums] = defaultdict(Sums)
    for pub in year.published():
        assert pub.published_at is not None
        if not start <= pub.published_at < end:
            continue
        m = latest(pub, end)
        sums = result[pub.channel]
        sums.publications += 1
        sums.on_time += pub.published_at - pub.scheduled_at <= timedelta(hours=1)
        sums.audience += m["reach"] if "reach" in m else m.get("views", 0.0)
        sums.engagement += m.get("reactions", 0) + m.get("comments", 0) + m.get("shares", 0)
        sums.views += m.get("views", 0.0)
    return result


def ancestors(unit: str) -> list[str]:
    """The unit and every unit above it, walking the parents."""
    chain = [unit]
    while SPEC[chain[-1]].parent:
        chain.append(SPEC[chain[-1]].parent)  # type: ignore[arg-type]
    return chain


def subtree(unit: str) -> list[str]:
    return [u.id for u in UNITS if unit in ancestors(u.id)]


def judge(required: int, done: int, share: float) -> str:
    if done >= required:
        return "met"
    if share >= 1 or done < math.floor(required * share):
        return "behind"
    return "on_track"


#: [inbox] response_target_hours, left at its default in the generated office.
RESPONSE_TARGET = timedelta(hours=24)


def replies(year: Year, unit: str, start: datetime, end: datetime) -> tuple[int, int, float | None]:
    """(received, answered before ``end``, median wait in seconds) of the citizens' messages
    to ``unit``'s own channels in ``[start, end)``; each generated message is its own thread."""
    mine = [m for m in year.messages if m.channel in SPEC[unit].channels and start <= m.at < end]
    waits = sorted(
        (m.answered_at - m.at).total_seconds()
        for m in mine
        if m.answered_at is not None and m.answered_at < end
    )
    return len(mine), len(waits), statistics.median(waits) if waits else None


def expected_status(year: Year, first: date, last: date, now: datetime) -> dict[str, dict]:
    """Per unit: its targets (subject -> (done, required, status)), status and roll-up."""
    days = (last - first).days + 1
    start, end = local_start(first), local_start(last + timedelta(days=1))
    share = min(1.0, max(0.0, (now - start) / (end - start)))
    sums = channel_sums(year, first, last)
    quota_on = QUOTA_FROM <= last and QUOTA_TO >= first
    q_start, q_end = local_start(QUOTA_FROM), local_start(QUOTA_TO + timedelta(days=1))
    q_share = min(1.0, max(0.0, (now - q_start) / (q_end - q_start)))
    units: dict[str, dict] = {}
    for unit in UNITS:
        required = math.ceil(unit.posts_per_week * days / 7)
        targets = {
            c: (sums[c].publications, required, judge(required, sums[c].publications, share))
            for c in unit.channels
        }
        if quota_on and unit.parent == "tinh":  # the quota names the six wards
            posts = {
                p.post_id
                for p in year.published()
                if p.channel in unit.channels
                and p.campaign == CAMPAIGN
                and q_start <= p.published_at < min(q_end, max(now, q_start))  # type: ignore[operator]
            }
            targets[CAMPAIGN] = (len(posts), QUOTA_POSTS, judge(QUOTA_POSTS, len(posts), q_share))
        received, _answered, median = replies(year, unit.id, start, min(max(now, start), end))
        if received:
            late = median is None or median > RESPONSE_TARGET.total_seconds()
            state = "behind" if late else ("met" if share >= 1 else "on_track")
            minutes = None if median is None else round(median / 60)
            targets[""] = (minutes, round(RESPONSE_TARGET.total_seconds() / 60), state)
        states = {t[2] for t in targets.values()}
        overall = next((s for s in ("behind", "on_track", "met") if s in states), "no_target")
        units[unit.id] = {"targets": targets, "status": overall}
    for unit in UNITS:
        below = subtree(unit.id)
        units[unit.id]["rolled"] = {
            "required": sum(
                t[1] for u in below for s, t in units[u]["targets"].items() if s in CHANNELS
            ),
            "done": sum(
                t[0] for u in below for s, t in units[u]["targets"].items() if s in CHANNELS
            ),
            "behind": sum(units[u]["status"] == "behind" for u in below),
            "publications": sum(sums[c].publications for u in below for c in SPEC[u].channels),
            "engagement": sum(sums[c].engagement for u in below for c in SPEC[u].channels),
        }
    return units


def counts_before(year: Year, end: datetime) -> dict[str, int]:
    """Each channel's follower count at its latest collection before ``end``."""
    best: dict[str, tuple[datetime, int]] = {}
    for sample in year.followers:
        if sample.at < end and (sample.channel not in best or sample.at > best[sample.channel][0]):
            best[sample.channel] = (sample.at, sample.followers)
    return {channel: followers for channel, (_at, followers) in best.items()}


def unit_followers(year: Year, unit: str, last: date) -> int | None:
    """The sum of ``unit``'s own channels' counts at the end of ``last``; None if one lacks."""
    counts = counts_before(year, local_start(last + timedelta(days=1)))
    if any(c not in counts for c in SPEC[unit].channels):
        return None
    return sum(counts[c] for c in SPEC[unit].channels)


def expected_basis(year: Year, last: date) -> str:
    """Per follower when every channel has a count at the span's end, else per publication."""
    counts = counts_before(year, local_start(last + timedelta(days=1)))
    return "follower" if CHANNELS <= set(counts) else "publication"


def expected_scores(
    year: Year, first: date, last: date, basis: str | None = None
) -> dict[str, float]:
    """The documented score of each unit; ``basis`` forces A and E's divisor (default: the
    span's own, :func:`expected_basis`)."""
    days = (last - first).days + 1
    sums = channel_sums(year, first, last)
    basis = basis or expected_basis(year, last)
    parts = {}
    for unit in UNITS:
        required = math.ceil(unit.posts_per_week * days / 7)
        delivery = sum(min(1, sums[c].on_time / required) for c in unit.channels) / len(
            unit.channels
        )
        if basis == "follower":
            divisor = unit_followers(year, unit.id, last) or 0
        else:
            divisor = sum(sums[c].publications for c in unit.channels)
        aud = sum(sums[c].audience for c in unit.channels) / divisor if divisor else 0.0
        eng = sum(sums[c].engagement for c in unit.channels) / divisor if divisor else 0.0
        received, answered, _median = replies(
            year, unit.id, local_start(first), local_start(last + timedelta(days=1))
        )
        parts[unit.id] = (delivery, aud, eng, answered / received if received else 1.0)
    best_aud = max(p[1] for p in parts.values())
    best_eng = max(p[2] for p in parts.values())
    return {
        u: 40 * d
        + 20 * (a / best_aud if best_aud else 0)
        + 20 * (e / best_eng if best_eng else 0)
        + 20 * r
        for u, (d, a, e, r) in parts.items()
    }


def expected_order(year: Year, first: date, last: date, basis: str | None = None) -> list[str]:
    scores = expected_scores(year, first, last, basis)
    sums = channel_sums(year, first, last)
    order = [u.id for u in UNITS]  # the tree order, as channels.toml writes it here

    def key(unit: str) -> tuple:
        on_time = sum(sums[c].on_time for c in SPEC[unit].channels)
        engagement = sum(sums[c].engagement for c in SPEC[unit].channels)
        return (-round(scores[unit], 9), -on_time, -engagement, order.index(unit))

    return sorted(scores, key=key)


# ---------------------------------------------------------------------- the tests


def _compare_status(office: Office, first: date, last: date, now: datetime) -> list[str]:
    period = span(first, last, HCM)
    got = status(office.engine, office.config.directory(), period, now=now)
    want = expected_status(office.year, first, last, now)
    assert [u.unit.id for u in got.units] == [
        "tinh",
        "p1",
        "p2",
        "p3",
        "x1",
        "x2",
        "p4",
        "p5",
        "p6",
    ]
    for unit in got.units:
        expected = want[unit.unit.id]
        assert {t.subject: (t.done, t.required, t.status) for t in unit.targets} == expected[
            "targets"
        ], (unit.unit.id, first)
        assert unit.status == expected["status"], (unit.unit.id, first)
        rolled = expected["rolled"]
        assert (unit.required, unit.done, unit.behind_below) == (
            rolled["required"],
            rolled["done"],
            rolled["behind"],
        ), (unit.unit.id, first)
        assert unit.total.publications == rolled["publications"]
        assert unit.total.engagement == pytest.approx(rolled["engagement"])
    return [u.unit.id for u in got.behind()]


def test_every_week_and_month_of_the_year_is_judged_as_recomputed(office):
    behind_weeks: dict[str, int] = defaultdict(int)
    for week in range(WEEKS - 1):  # the last week is still running
        monday = FIRST_DAY + timedelta(weeks=week)
        for unit in _compare_status(office, monday, monday + timedelta(days=6), NOW):
            behind_weeks[unit] += 1
    # The generated rates show: ward 4 (about 2 a week for 3) is behind almost every week,
    # ward 5 (3.8 a week) seldom.
    assert behind_weeks["p4"] > 40 > behind_weeks["p5"]
    for first, last in [
        (date(2026, 8, 1), date(2026, 8, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]:
        _compare_status(office, first, last, NOW)


def test_a_running_week_and_campaign_are_judged_pro_rata(office):
    last = RUNNING_MONDAY + timedelta(days=6)
    _compare_status(office, RUNNING_MONDAY, last, NOW)
    report = status(
        office.engine, office.config.directory(), span(RUNNING_MONDAY, last, HCM), now=NOW
    )
    # By Wednesday noon a channel owing 3 a week must have one (floor(3 x 2.5/7)).
    target = next(t for u in report.units for t in u.targets if t.subject == "p1-fb")
    assert (target.required, target.expected) == (3, 1)
    # Posts still scheduled for the rest of the week are counted beside each channel.
    waiting = defaultdict(int)
    for d in office.year.deliveries:
        if d.published_at is None and d.scheduled_at >= NOW:
            waiting[d.channel] += 1
    scheduled = {t.subject: t.scheduled for u in report.units for t in u.targets}
    assert {c: n for c, n in scheduled.items() if c in CHANNELS} == {
        c: waiting.get(c, 0) for u in UNITS for c in u.channels
    }
    # Mid-August, the campaign's quota is judged on the share of its days gone by.
    mid_august = datetime(2026, 8, 10, 12, tzinfo=HCM).astimezone(UTC)
    _compare_status(office, date(2026, 8, 10), date(2026, 8, 16), mid_august)


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (FIRST_DAY, FIRST_DAY + timedelta(weeks=WEEKS - 1, days=-1)),  # 51 finished weeks
        (date(2026, 5, 25), date(2026, 11, 15)),  # the second half against the first
        (date(2026, 10, 1), date(2026, 10, 31)),
        # One Page without a count yet: every unit per publication, March's too.
        (date(2026, 4, 1), date(2026, 4, 30)),
    ],
)
def test_the_ranking_is_the_documented_score_recomputed(office, first, last):
    period = span(first, last, HCM)
    result = ranking(office.engine, office.config.directory(), period)
    assert [u.unit.id for u in result.units] == expected_order(office.year, first, last)
    want = expected_scores(office.year, first, last)
    for unit in result.units:
        assert unit.score.value == pytest.approx(want[unit.unit.id], abs=1e-9)
        assert unit.followers == unit_followers(office.year, unit.unit.id, last)
    assert result.basis == expected_basis(office.year, last)
    assert result.without_followers == ([] if result.basis == "follower" else [LATE_COUNTED])
    # Authors: every publication counted once, with the units they published for.
    start, end = local_start(first), local_start(last + timedelta(days=1))
    by_author: dict[str, list[GenPublication]] = defaultdict(list)
    for pub in office.year.published():
        if start <= pub.published_at < end:  # type: ignore[operator]
            by_author[pub.author].append(pub)
    assert {a.author: a.figures.publications for a in result.authors} == {
        a: len(p) for a, p in by_author.items()
    }
    helper = next(a for a in result.authors if a.author == "cb-tinh-1")
    unit_of = {c: u.id for u in UNITS for c in u.channels}
    assert set(helper.units) == {unit_of[p.channel] for p in by_author["cb-tinh-1"]}
    before = period.previous()
    if not channel_sums(office.year, before.first_day, before.last_day):
        # Nothing published before the year: no previous score, no most improved unit.
        assert all(u.previous is None for u in result.units)
        assert result.most_improved is None
        return
    then = expected_scores(office.year, before.first_day, before.last_day)
    for unit in result.units:
        assert unit.previous == pytest.approx(then[unit.unit.id], abs=1e-9)
    changes = {u: want[u] - then[u] for u in want}
    best = max(changes, key=changes.__getitem__)
    assert result.most_improved is not None and result.most_improved.unit.id == best
    if first == date(2026, 5, 25):
        # Ward 3 went from about 1 post a week to 4: the most improved of the second half.
        assert best == "p3"


def test_per_follower_is_not_per_publication_and_one_missing_count_reverts_all(office):
    """The two bases rank October differently (the province reaches most per post but has
    the most followers), so the rule is what decides; in April, one commune Page without a
    count puts every unit back on figures per publication, whatever the others' counts."""
    october = (date(2026, 10, 1), date(2026, 10, 31))
    by_follower = expected_order(office.year, *october, basis="follower")
    by_publication = expected_order(office.year, *october, basis="publication")
    assert by_follower != by_publication
    assert by_follower.index("tinh") > by_publication.index("tinh")
    result = ranking(office.engine, office.config.directory(), span(*october, HCM))
    assert result.basis == "follower"
    assert [u.unit.id for u in result.units] == by_follower

    april = (date(2026, 4, 1), date(2026, 4, 30))
    counts = counts_before(office.year, local_start(date(2026, 5, 1)))
    assert set(counts) == CHANNELS - {LATE_COUNTED}
    result = ranking(office.engine, office.config.directory(), span(*april, HCM))
    assert (result.basis, result.without_followers) == ("publication", [LATE_COUNTED])
    assert [u.unit.id for u in result.units] == expected_order(
        office.year, *april, basis="publication"
    )
    # The figures behind each rank still show the counts there are.
    shown = {u.unit.id: u.followers for u in result.units}
    assert shown["x2"] is None
    assert shown["p1"] == counts["p1-fb"] + counts["p1-zalo"]


def test_a_unit_counting_no_follower_scores_nothing_for_audience():
    """Per follower, a unit whose channels count 0 followers has nothing to divide by: 0 on
    audience and engagement, while the others are measured against the best of them."""
    from content.evaluation import Publication, scores
    from content.units import UnitInfo, build_tree

    tree = build_tree(
        [UnitInfo("a", "A", None, ("a-fb",)), UnitInfo("b", "B", None, ("b-fb",))],
        ["a-fb", "b-fb"],
    )
    period = span(date(2026, 10, 5), date(2026, 10, 11), HCM)
    at = local_start(date(2026, 10, 6))
    pubs = [
        Publication(1, 1, "a-fb", "x", None, at, True, {"reach": 300.0, "reactions": 30.0}),
        Publication(2, 2, "b-fb", "x", None, at, True, {"reach": 100.0, "reactions": 5.0}),
    ]
    result = scores(tree, period, pubs, {}, {"a-fb": 0, "b-fb": 1000})
    assert (result["a"].score.audience, result["a"].score.engagement) == (0.0, 0.0)
    assert (result["b"].score.audience, result["b"].score.engagement) == (1.0, 1.0)
    assert (result["a"].followers, result["b"].followers) == (0, 1000)
    # Without b-fb's count, both per publication: a reaches three times more per post.
    fallback = scores(tree, period, pubs, {}, {"a-fb": 0})
    assert fallback["a"].score.audience == 1.0
    assert fallback["b"].score.audience == pytest.approx(1 / 3)


def test_units_status_and_rank_on_the_command_line(office, capsys):
    base = ["--db", office.url, "--config", str(office.config_path)]
    assert main(["units", "status", "--week", "2026-W40", "--json", *base]) == 0
    shown = json.loads(capsys.readouterr().out)
    monday = date.fromisocalendar(2026, 40, 1)
    want = expected_status(office.year, monday, monday + timedelta(days=6), NOW)
    assert {u["unit"]: u["status"] for u in shown["units"]} == {
        u: w["status"] for u, w in want.items()
    }
    assert shown["units"][0]["rolled_up"]["units_behind"] == want["tinh"]["rolled"]["behind"]
    sunday = monday + timedelta(days=6)
    assert {u["unit"]: u["own"]["followers"] for u in shown["units"]} == {
        u.id: unit_followers(office.year, u.id, sunday) for u in UNITS
    }
    counts = counts_before(office.year, local_start(sunday + timedelta(days=1)))
    assert shown["units"][0]["rolled_up"]["followers"] == sum(counts[c] for c in CHANNELS)
    # The same week as text, in the office's language.
    assert main(["units", "status", "--week", "2026-W40", *base]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"{monday:%d/%m/%Y} đến {sunday:%d/%m/%Y}"
    behind = {u for u, w in want.items() if w["status"] == "behind"}
    if behind:
        assert set(text[-1].removeprefix("chậm tiến độ: ").split(", ")) == behind
    else:
        assert text[-1] == "không đơn vị nào chậm tiến độ"

    assert (
        main(["units", "rank", "--from", "2026-09-01", "--to", "2026-09-30", "--json", *base]) == 0
    )
    ranked_json = json.loads(capsys.readouterr().out)
    assert ranked_json["basis"] == "follower"
    assert ranked_json["channels_without_followers"] == []
    september_end = date(2026, 9, 30)
    for line in ranked_json["units"]:
        followers = unit_followers(office.year, line["unit"], september_end)
        assert line["followers"] == followers
        assert line["audience_per_follower"] == pytest.approx(line["audience"] / followers)
        assert line["engagement_per_follower"] == pytest.approx(line["engagement"] / followers)

    assert main(["units", "rank", "--from", "2026-09-01", "--to", "2026-09-30", *base]) == 0
    lines = capsys.readouterr().out.splitlines()
    order = expected_order(office.year, date(2026, 9, 1), date(2026, 9, 30))
    # In the office's language (Vietnamese), the headings aligned with their columns.
    assert lines[0] == "01/09/2026 đến 30/09/2026 (so với 02/08/2026 đến 31/08/2026)"
    assert lines[1] == (
        "tiếp cận và tương tác tính trên mỗi người theo dõi (số người theo dõi cuối kỳ)"
    )
    assert lines[2].split("  ")[:3] == ["hạng", " điểm", "đăng bài"]
    ranked = [line.split() for line in lines[3 : 3 + len(UNITS)]]
    assert [words[9] for words in ranked] == order
    # The followers behind each rank, beside its unit.
    assert [int(words[8]) for words in ranked] == [
        unit_followers(office.year, u, date(2026, 9, 30)) for u in order
    ]
    assert lines[3 + len(UNITS)].startswith("tiến bộ nhất: ")

    assert main(["units", "status", "--week", "2026-W40", "--from", "2026-01-01", *base]) == 2
    # One line, in the office's language.
    assert capsys.readouterr().err == (
        "loa: lỗi: --week: Chỉ dùng --week, hoặc --from và --to, không dùng cả hai.\n"
    )


def test_the_weekly_mail_lists_the_units_behind(office):
    from scheduler.report import build_weekly

    mail = build_weekly(office.engine, office.config, "2026-W45")
    monday = date.fromisocalendar(2026, 45, 1)
    want = expected_status(office.year, monday, monday + timedelta(days=6), NOW)
    behind = [SPEC[u].name for u, w in want.items() if w["status"] == "behind"]
    assert behind, "the generated week has units behind"
    section = mail.text.split("Đơn vị chưa đạt chỉ tiêu")[1].split("\n\n")[0]
    assert [name for name in (u.name for u in UNITS) if name in section] == behind
    for w in want.values():
        for subject, (done, required, state) in w["targets"].items():
            if state == "behind" and subject in CHANNELS:
                assert f"{subject}: {done}/{required} bài" in section
            elif state == "behind" and subject == "":  # the response target
                median = "–" if done is None else done
                assert f"trả lời người dân: trung vị {median} phút (hẹn {required} phút)" in section
    assert "Đơn vị chưa đạt chỉ tiêu" in mail.html


def test_reading_the_year_is_quick(office):
    import time

    period = span(FIRST_DAY, FIRST_DAY + timedelta(weeks=WEEKS) - timedelta(days=1), HCM)
    started = time.perf_counter()
    pubs = publications(office.engine, period.start, period.end)
    status(office.engine, office.config.directory(), period, now=NOW, pubs=pubs)
    ranking(office.engine, office.config.directory(), period, pubs=pubs)
    assert len(pubs) > 2500
    assert time.perf_counter() - started < 10
