"""Feed documents to clean entries: formats, malformed feeds, HTML, encodings, keys, UTM."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from content.feeds_drafts import fit
from content.feeds_parse import ParsedEntry, html_to_text, parse_feed
from content.feeds_utm import add_utm

FEEDS = Path(__file__).parent / "feeds"


def _parse(name: str):
    return parse_feed((FEEDS / name).read_bytes())


def test_rss2_entries_keep_id_link_title_summary_and_utc_date():
    feed = _parse("rss2.xml")
    assert (feed.version, feed.title, feed.error) == ("rss20", "Công an phường 1 – Tin tức", None)
    first = feed.entries[0]
    assert first == ParsedEntry(
        entry_id="p1-0003",
        link="https://phuong1.example.vn/tin/sms-gia-mao-ngan-hang",
        title="Cảnh báo lừa đảo qua tin nhắn SMS giả mạo ngân hàng",
        summary="Không bấm vào đường link trong tin nhắn tự xưng là ngân hàng.",
        published_at=datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
    )


def test_atom_html_title_xhtml_content_and_literal_text_summary():
    feed = _parse("atom.xml")
    assert feed.version == "atom10"
    html_title, xhtml_content, plain = feed.entries
    assert html_title.title == "Ngày hội Toàn dân bảo vệ an ninh Tổ quốc năm 2026"
    # No <summary>: the xhtml <content> stands in, paragraphs kept apart.
    assert xhtml_content.summary == "Tổ tự quản tuần tra mỗi tối.\n\nNgười dân đồng tình hưởng ứng."
    assert xhtml_content.published_at == datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    # type="text": a "<" is a character, not markup.
    assert plain.title == "Mức phạt khi nồng độ cồn < 0,25 mg/l"
    assert plain.summary is not None and "<b> là chữ" in plain.summary


def test_rdf_items_are_keyed_by_their_about_uri():
    feed = _parse("rdf.xml")
    assert feed.version == "rss10"
    assert [(e.entry_id, e.title) for e in feed.entries] == [
        ("https://rdf.example.vn/tin/2", "Cảnh giác mua bán hàng online"),
        ("https://rdf.example.vn/tin/1", "Đăng ký thường trú trực tuyến"),
    ]
    assert feed.entries[1].published_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_malformed_feed_recovers_entries_and_reports_the_error():
    feed = _parse("bozo.xml")
    assert [e.entry_id for e in feed.entries] == ["bozo-1", "bozo-2"]
    assert feed.entries[1].title == "Mua bán & trao đổi: cảnh giác"
    assert feed.error is not None
    assert feed.error.startswith("malformed feed, 2 entries recovered: ")
    assert "not well-formed" in feed.error


def test_a_document_that_is_no_feed_is_an_error_without_entries():
    feed = parse_feed("<html><body><p>Trang chủ</p></body></html>".encode())
    assert feed.entries == []
    assert feed.error is not None and feed.error.startswith("not an RSS, Atom or RDF feed")
    assert parse_feed(b"  \n").error == "the document is empty"


def test_html_summary_drops_scripts_and_styles_decodes_entities_and_breaks_blocks():
    (entry,) = _parse("html-heavy.xml").entries
    assert entry.title == 'Tin "nhiều HTML"'
    assert entry.summary == (
        "Ba điều cần nhớ\n"
        "\n"
        'Đừng chuyển tiền & đừng cung cấp mã OTP – dù người gọi "xưng là" công an.\n'
        "\n"
        "• Cúp máy\n"
        "• Kiểm tra lại\n"
        "• Báo 113\n"
        "\n"
        "Dòng một\n"
        "Dòng hai"
    )


def test_html_to_text_keeps_inline_spacing_and_drops_empty_items():
    html = "<p>đối tượng <strong>tự xưng</strong>, gọi<em> 113</em></p><ul><li></li><li>x</li></ul>"
    assert html_to_text(html) == "đối tượng tự xưng, gọi 113\n\n• x"


def test_windows_1258_feed_is_decoded_and_nfc_normalised():
    raw = (FEEDS / "windows-1258.xml").read_bytes()
    assert b'encoding="windows-1258"' in raw
    (entry,) = parse_feed(raw).entries
    expected = "Cảnh báo lừa đảo chiếm đoạt tài sản"
    assert entry.title == expected
    assert unicodedata.is_normalized("NFC", entry.title)
    assert entry.summary == "Người dân cần cảnh giác, gọi 113 khi nghi ngờ."


def test_charset_from_the_http_header_decodes_an_undeclared_latin1_feed():
    body = (
        '<rss version="2.0"><channel><title>Café</title><item><title>Noël à Hà Nội?</title>'
        "<guid>l1</guid></item></channel></rss>"
    )
    latin1 = body.replace("Hà Nội", "Ha Noi").encode("iso-8859-1")
    feed = parse_feed(latin1, {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    assert [e.title for e in feed.entries] == ["Noël à Ha Noi?"]
    assert feed.title == "Café"


def test_dedupe_key_prefers_id_then_link_then_normalised_title():
    def entry(entry_id=None, link=None, title=None) -> ParsedEntry:
        return ParsedEntry(entry_id, link, title, None, None)

    assert entry("g1", "https://a/1", "T").dedupe_key() == "id:g1"
    assert entry(None, "https://a/1", "T").dedupe_key() == "link:https://a/1"
    nfd = unicodedata.normalize("NFD", "Cảnh   BÁO\tlừa đảo")
    assert entry(title=nfd).dedupe_key() == entry(title="cảnh báo lừa đảo").dedupe_key()
    assert entry(title="cảnh báo lừa đảo").dedupe_key() == "title:cảnh báo lừa đảo"
    assert entry().dedupe_key() is None
    long_key = entry("x" * 3000).dedupe_key()
    assert long_key is not None and long_key.startswith("sha256:") and len(long_key) == 71


def test_entry_without_title_link_or_text_is_skipped_with_a_reason():
    feed = _parse("undated.xml")
    assert [e.title for e in feed.entries] == ["Tin không có ngày", "Tin CHỈ có tiêu đề"]
    assert feed.skipped == [("(untitled entry)", "the entry has no title, link or text")]


def test_add_utm_keeps_existing_parameters_and_fragment_untouched():
    url = "https://a.example.vn/tin?id=7&q=c%C3%B4ng+an&empty=#doan-2"
    assert add_utm(url, "zalo", "social", "tet 2027") == (
        "https://a.example.vn/tin?id=7&q=c%C3%B4ng+an&empty="
        "&utm_source=zalo&utm_medium=social&utm_campaign=tet+2027#doan-2"
    )


def test_add_utm_replaces_utm_tags_already_on_the_link():
    url = "https://a.example.vn/tin?utm_source=old&id=7&utm_campaign=old"
    assert add_utm(url, "facebook", "social", "c1") == (
        "https://a.example.vn/tin?id=7&utm_source=facebook&utm_medium=social&utm_campaign=c1"
    )
    assert add_utm("https://a.example.vn", "zalo", "social", "c") == (
        "https://a.example.vn?utm_source=zalo&utm_medium=social&utm_campaign=c"
    )


def test_fit_cuts_at_a_word_boundary_with_an_ellipsis():
    assert fit("ngắn", 10) == "ngắn"
    assert fit("Cảnh báo lừa đảo qua mạng xã hội", 20) == "Cảnh báo lừa đảo…"
    assert len(fit("x" * 50, 20)) == 20
