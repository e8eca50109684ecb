"""Zalo's under-18 flag (``is_sensitive`` in the citizen's profile,
docs/platforms/zalo-oa.md#reading-conversations-and-profiles, docs/personal-data.md#minors): the
daemon asks once per new Zalo citizen, flags the thread, and once accounts exist only an
approver sees where a minor said he is."""

from __future__ import annotations

from content.accounts import Access
from content.inbox import Inbox
from content.inbox_json import summary_json
from content.models import Role
from tests.test_inbox_e2e import OA, subscribe
from tests.test_inbox_e2e import _no_proxy as _no_proxy  # noqa: F401 - fixtures
from tests.test_inbox_e2e import sandbox as sandbox  # noqa: F401
from tests.test_inbox_e2e import world as world  # noqa: F401


def test_a_minor_is_flagged_after_the_profile_check_and_his_location_is_withheld(world):
    w = world
    w.sb.citizen("be-nam", name="Bé Nam", minor=True)
    with w.receiver_up():
        subscribe(w)
        w.sb.citizen_zalo("be-nam", OA, type="location", latitude=10.76, longitude=106.66)
        w.sb.citizen_zalo("lan-anh", OA, "Cho hỏi giờ làm việc")
        w.deliver()
        assert not any(t.minor for t in w.inbox().threads())  # not asked yet
        w.backfill()  # the daemon's backfill asks each new Zalo citizen's profile once
        w.backfill()
    threads = {t.minor: t for t in w.inbox().threads()}
    assert set(threads) == {True, False}
    minor = threads[True]
    assert summary_json(minor, w.config.directory().office.timezone, w.clock())["minor"] is True
    # Before accounts exist (and for an approver) the location is there...
    [message] = w.inbox().thread(minor.id).messages
    assert message.attachments[0]["latitude"] == "10.76"

    def as_role(role: Role) -> Inbox:
        access = Access("lan", "lan", role=role, channels=None)
        return Inbox(w.engine, w.config.directory(), w.sealer, access=access, clock=w.clock)

    assert as_role(Role.APPROVER).thread(minor.id).messages[0].attachments[0]["latitude"]
    # ...an author sees that there was one, not where.
    [withheld] = as_role(Role.AUTHOR).thread(minor.id).messages[0].attachments
    assert withheld == {"type": "location", "restricted": True}
    # The other citizen's thread stays as it was.
    assert as_role(Role.AUTHOR).thread(threads[False].id).messages[0].text
