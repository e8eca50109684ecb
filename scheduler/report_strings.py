"""The words of the reports and alert mails, in Vietnamese and English, and number formats.

Both tables live here so a translator sees every string at once; a key missing from one
language is a bug the tests catch (:data:`STRINGS` tables must have the same keys).
Vietnamese writes 1.234,5 where English writes 1,234.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "weekly_subject": "Báo cáo tuần {week} — {office}",
        "weekly_heading": "Báo cáo tương tác tuần {week}",
        "period": "Từ {start} đến {end} (giờ {tz})",
        "range_heading": "Báo cáo tương tác từ {start} đến {end}",
        "summary": (
            "{posts} lượt đăng, {views} lượt xem, {engagement} tương tác, tỷ lệ tương tác {rate}."
        ),
        "rate_note": (
            "Tỷ lệ tương tác = (cảm xúc + bình luận + chia sẻ) / lượt xem. Mỗi bài lấy số liệu "
            "thu thập gần nhất trước khi kỳ báo cáo kết thúc."
        ),
        "section_channels": "Theo kênh",
        "section_top": "Năm bài nổi bật",
        "section_campaigns": "Theo chiến dịch",
        "section_problems": "Bài lỗi và bài cần kiểm tra (chưa xử lý)",
        "section_ranking": "Xếp hạng đơn vị theo tương tác mỗi bài",
        "section_groups": "Theo nhóm đơn vị",
        "section_posts": "Từng bài",
        "section_inbox": "Tin nhắn của người dân",
        "inbox_note": (
            "Tin nhận: tin nhắn và bình luận của người dân trong kỳ. Đã trả lời: số tin trong "
            "đó được trả lời trước khi kỳ kết thúc. Trả lời lần đầu: thời gian chờ trung vị từ "
            "khi người dân bắt đầu chờ đến câu trả lời đầu tiên. Ngoài hạn: câu trả lời bị nền "
            "tảng từ chối vì đã quá hạn (Zalo 7 ngày, Messenger 24 giờ, nhắn riêng 7 ngày)."
        ),
        "inbox_none": "Không có tin nhắn nào của người dân trong kỳ này.",
        "received": "Tin nhận",
        "answered": "Đã trả lời",
        "first_response": "Trả lời lần đầu (trung vị)",
        "first_response_minutes": "Trả lời lần đầu, trung vị (phút)",
        "outside_window": "Trả lời ngoài hạn",
        "kind_unit": "đơn vị",
        "duration_days": "{days} ngày {hours} giờ",
        "duration_hours": "{hours} giờ {minutes} phút",
        "duration_minutes": "{minutes} phút",
        "chart_title": "Tương tác theo kênh",
        "chart_alt": "Biểu đồ tương tác theo kênh, tuần này so với tuần trước",
        "this_week": "Tuần này",
        "last_week": "Tuần trước",
        "channel": "Kênh",
        "unit": "Đơn vị",
        "kind": "Loại",
        "kind_group": "nhóm",
        "kind_channel": "kênh",
        "rank": "Hạng",
        "posts": "Lượt đăng",
        "views": "Lượt xem",
        "reach": "Tiếp cận",
        "reactions": "Cảm xúc",
        "comments": "Bình luận",
        "shares": "Chia sẻ",
        "clicks": "Lượt nhấp",
        "engagement": "Tương tác",
        "rate": "Tỷ lệ tương tác",
        "per_post": "Tương tác/bài",
        "change": "So với tuần trước",
        "new": "mới",
        "title": "Bài viết",
        "post_id": "Mã bài",
        "campaign": "Chiến dịch",
        "no_campaign": "(không thuộc chiến dịch)",
        "author": "Người soạn",
        "published": "Đăng lúc",
        "link": "Liên kết",
        "open_link": "Xem bài",
        "total": "Tổng cộng",
        "state": "Trạng thái",
        "state_failed": "Thất bại",
        "state_needs_review": "Cần kiểm tra",
        "reason": "Lý do",
        "since": "Từ lúc",
        "none": "Không có.",
        "no_posts": "Không có bài nào được đăng trong kỳ này.",
        "more": "… và {count} mục khác",
        "week": "Tuần",
        "section": "Mục",
        "footer": "Thư tự động từ Loa. Bảng số liệu từng bài ở tệp CSV đính kèm.",
        "alert_subject": "[Loa] {count} cảnh báo cần xử lý — {office}",
        "alert_heading": "Các việc cần xử lý",
        "alert_intro": "Loa ghi nhận {count} sự việc cần người xử lý:",
        "alert_at": "Lúc",
        "alert_post": "Bài",
        "alert_channel": "Kênh",
        "alert_reason": "Lý do (từ nền tảng)",
        "alert_advice": "Cần làm",
        "alert_no_advice": "Xem chi tiết bằng lệnh: loa post show {post_id}",
        "alert_footer": "Thư tự động từ Loa, gửi tối đa một lần mỗi giờ.",
        "kind_channel_paused": "Kênh tạm dừng",
        "kind_delivery_failed": "Đăng bài thất bại",
        "kind_needs_review": "Cần kiểm tra",
        "section_behind": "Đơn vị chưa đạt chỉ tiêu",
        "behind_none": "Mọi đơn vị đều đạt chỉ tiêu.",
        "targets_missed": "Chỉ tiêu chưa đạt",
        "target_channel": "{channel}: {done}/{required} bài",
        "target_campaign": "chiến dịch «{campaign}»: {done}/{required} bài",
        "target_response": (
            "trả lời người dân: trung vị {done} phút (hẹn {required} phút), "
            "đã trả lời {answered}/{received}"
        ),
    },
    "en": {
        "weekly_subject": "Weekly report {week} — {office}",
        "weekly_heading": "Engagement report, week {week}",
        "period": "From {start} to {end} ({tz} time)",
        "range_heading": "Engagement report from {start} to {end}",
        "summary": (
            "{posts} publications, {views} views, {engagement} engagements, engagement rate {rate}."
        ),
        "rate_note": (
            "Engagement rate = (reactions + comments + shares) / views. Each post's figures are "
            "the latest collected before the end of the period."
        ),
        "section_channels": "By channel",
        "section_top": "Top five posts",
        "section_campaigns": "By campaign",
        "section_problems": "Failed posts and posts to review (still open)",
        "section_ranking": "Units ranked by engagement per post",
        "section_groups": "By group of units",
        "section_posts": "Posts",
        "section_inbox": "Citizens' messages",
        "inbox_note": (
            "Received: citizens' messages and comments in the period. Answered: those of them "
            "answered before the period ended. First response: the median wait from when a "
            "citizen started waiting to the first answer. Outside the window: replies the "
            "platform refused because its window had closed (Zalo 7 days, Messenger 24 hours, "
            "a private reply 7 days)."
        ),
        "inbox_none": "No message from citizens in this period.",
        "received": "Received",
        "answered": "Answered",
        "first_response": "First response (median)",
        "first_response_minutes": "First response, median (minutes)",
        "outside_window": "Replies outside the window",
        "kind_unit": "unit",
        "duration_days": "{days} d {hours} h",
        "duration_hours": "{hours} h {minutes} min",
        "duration_minutes": "{minutes} min",
        "chart_title": "Engagement per channel",
        "chart_alt": "Chart of engagement per channel, this week against last week",
        "this_week": "This week",
        "last_week": "Last week",
        "channel": "Channel",
        "unit": "Unit",
        "kind": "Type",
        "kind_group": "group",
        "kind_channel": "channel",
        "rank": "Rank",
        "posts": "Publications",
        "views": "Views",
        "reach": "Reach",
        "reactions": "Reactions",
        "comments": "Comments",
        "shares": "Shares",
        "clicks": "Clicks",
        "engagement": "Engagement",
        "rate": "Engagement rate",
        "per_post": "Engagement/post",
        "change": "Change from last week",
        "new": "new",
        "title": "Post",
        "post_id": "Post id",
        "campaign": "Campaign",
        "no_campaign": "(no campaign)",
        "author": "Author",
        "published": "Published",
        "link": "Link",
        "open_link": "Open",
        "total": "Total",
        "state": "State",
        "state_failed": "Failed",
        "state_needs_review": "Needs review",
        "reason": "Reason",
        "since": "Since",
        "none": "None.",
        "no_posts": "Nothing was published in this period.",
        "more": "… and {count} more",
        "week": "Week",
        "section": "Section",
        "footer": "Sent automatically by Loa. Per-post figures are in the attached CSV file.",
        "alert_subject": "[Loa] Alerts to act on: {count} — {office}",
        "alert_heading": "Things to act on",
        "alert_intro": "Loa noticed {count} things a person must look at:",
        "alert_at": "At",
        "alert_post": "Post",
        "alert_channel": "Channel",
        "alert_reason": "Reason (from the platform)",
        "alert_advice": "What to do",
        "alert_no_advice": "See the details with: loa post show {post_id}",
        "alert_footer": "Sent automatically by Loa, at most once an hour.",
        "kind_channel_paused": "Channel paused",
        "kind_delivery_failed": "Publishing failed",
        "kind_needs_review": "Needs review",
        "section_behind": "Units behind target",
        "behind_none": "Every unit met its targets.",
        "targets_missed": "Targets missed",
        "target_channel": "{channel}: {done}/{required} publications",
        "target_campaign": "campaign «{campaign}»: {done}/{required} posts",
        "target_response": (
            "answering citizens: median {done} min (promised {required} min), "
            "{answered}/{received} answered"
        ),
    },
}


def strings(language: str) -> Mapping[str, str]:
    """The string table of ``language`` (``vi`` or ``en``; anything else falls back to ``vi``)."""
    return STRINGS.get(language, STRINGS["vi"])


def _separators(language: str) -> tuple[str, str]:
    """(thousands, decimal) separators."""
    return (",", ".") if language == "en" else (".", ",")


def fmt_number(value: float, language: str, decimals: int = 0) -> str:
    """``1.234`` (vi) / ``1,234`` (en); ``decimals`` digits after the decimal mark."""
    thousands, decimal = _separators(language)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def fmt_rate(rate: float | None, language: str) -> str:
    """A ratio as a percentage with one decimal (``5,2%``); ``–`` when undefined."""
    if rate is None:
        return "–"
    return fmt_number(rate * 100, language, 1) + "%"


def fmt_duration(value: timedelta | None, language: str) -> str:
    """``1 giờ 45 phút`` (vi) / ``1 h 45 min``: whole minutes, rounded; ``–`` for none."""
    if value is None:
        return "–"
    s = strings(language)
    minutes = round(value.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return s["duration_days"].format(days=days, hours=hours)
    if hours:
        return s["duration_hours"].format(hours=hours, minutes=minutes)
    return s["duration_minutes"].format(minutes=minutes)


def fmt_change(current: float, previous: float, language: str) -> str:
    """``+12 (+15,0%)``: the change from the week before; ``new`` when there was nothing."""
    diff = current - previous
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    absolute = f"{sign}{fmt_number(abs(diff), language)}"
    if previous == 0:
        return absolute if current == 0 else f"{absolute} ({strings(language)['new']})"
    return f"{absolute} ({sign}{fmt_number(abs(diff) / previous * 100, language, 1)}%)"
