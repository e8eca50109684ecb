"""content.preview: how a post will look on Facebook and on Zalo, and that the channel clients
publish with the same rules."""

from __future__ import annotations

from dataclasses import replace

from content.office import ChannelInfo
from content.preview import (
    COVER_DEFAULT,
    COVER_IMAGE,
    FACEBOOK_FOLD_CHARS,
    FACEBOOK_FOLD_LINES,
    FacebookLook,
    ZaloLook,
    facebook_fold,
    link_host,
    post_looks,
)
from scheduler.channels.base import MediaBlob, OutgoingPost
from scheduler.channels.facebook import compose_message
from scheduler.channels.zalo_article import article_description, article_title


def test_a_short_text_is_not_folded():
    assert facebook_fold("Gọi 113 khi cần.").hidden == 0


def test_a_text_of_many_lines_folds_after_the_fifth():
    lines = [f"Dòng {i}" for i in range(1, 9)]
    fold = facebook_fold("\n".join(lines))
    assert fold.shown.splitlines() == lines[:FACEBOOK_FOLD_LINES]
    assert fold.hidden == len("\n".join(lines)) - len(fold.shown)


def test_one_long_paragraph_folds_between_words_near_the_character_estimate():
    text = " ".join(["cảnh giác"] * 100)
    fold = facebook_fold(text)
    assert FACEBOOK_FOLD_CHARS // 2 < len(fold.shown) <= FACEBOOK_FOLD_CHARS
    assert fold.shown.endswith("cảnh giác") and fold.hidden > 0


def test_link_host():
    assert link_host("https://www.congan.gov.vn/tin/1?a=b") == "congan.gov.vn"
    assert link_host("congan.gov.vn/tin") == "congan.gov.vn"
    assert link_host("  ") is None and link_host(None) is None


def test_looks_per_channel_with_a_variant_and_a_link_card(directory):
    looks = post_looks(
        directory,
        ["fb", "tinh-zalo"],
        title=None,
        text="Cảnh báo lừa đảo\nKhông chuyển tiền.",
        link="https://congan.gov.vn/a",
        images=0,
        variants={"xa-fb": "Bà con xã chú ý"},
    )
    fb, xa, zalo = looks
    assert isinstance(fb, FacebookLook) and isinstance(xa, FacebookLook)
    assert fb.page == "Tỉnh FB" and fb.link_card == "congan.gov.vn" and not fb.own_text
    assert xa.own_text and xa.fold.shown == "Bà con xã chú ý"
    assert isinstance(zalo, ZaloLook)
    # No title: the first line; the description is the text on one line.
    assert zalo.title == "Cảnh báo lừa đảo" and not zalo.title_cut
    assert zalo.description == "Cảnh báo lừa đảo Không chuyển tiền."
    assert zalo.cover == COVER_DEFAULT and zalo.link_in_body == "congan.gov.vn"
    assert not zalo.broadcast


def test_a_photo_post_has_no_link_card_and_zalo_takes_the_image_as_cover(directory):
    oa = replace(directory.channels["tinh-zalo"], broadcast=True)
    broadcasting = replace(directory, channels={**directory.channels, "tinh-zalo": oa})
    fb, zalo = post_looks(
        broadcasting,
        ["tinh-fb", "tinh-zalo"],
        title="T" * 200,
        text="Nội dung",
        link="https://congan.gov.vn/a",
        images=2,
    )
    assert isinstance(fb, FacebookLook) and fb.link_card is None and fb.link_in_text
    assert fb.fold.shown.endswith("https://congan.gov.vn/a")
    assert isinstance(zalo, ZaloLook) and zalo.cover == COVER_IMAGE and zalo.broadcast
    assert zalo.title_cut and len(zalo.title) <= 149 and zalo.title.endswith("…")


def test_the_clients_publish_what_the_preview_shows(directory):
    """The preview and the clients share one rule each (no copy to drift apart)."""
    post = OutgoingPost(
        delivery_id=1,
        channel="tinh-zalo",
        text="Dòng một\n\n" + "chữ " * 120,
        title=None,
        link="https://congan.gov.vn/a",
        images=(MediaBlob(filename="a.png", mime="image/png", data=b""),),
    )
    fb, zalo = post_looks(
        directory,
        ["tinh-fb", "tinh-zalo"],
        title=None,
        text=post.text,
        link=post.link,
        images=1,
    )
    assert isinstance(fb, FacebookLook) and isinstance(zalo, ZaloLook)
    assert facebook_fold(compose_message(post)) == fb.fold
    assert article_title(post) == zalo.title
    assert article_description(post) == zalo.description


def test_no_channel_or_an_unknown_name_gives_no_look(directory):
    assert post_looks(directory, [], title=None, text="x", link=None, images=0) == []
    assert post_looks(directory, ["nope"], title=None, text="x", link=None, images=0) == []


def test_a_channel_of_another_kind_is_left_out(directory):
    other = replace(directory, channels={"x": ChannelInfo("x", "telegram", "X")})
    assert post_looks(other, ["x"], title=None, text="x", link=None, images=0) == []
