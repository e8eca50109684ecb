"""CSV files an office's Excel can live with: a BOM, defused formula cells, comma or
semicolon, re-imports noticed, images beside the file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from content.errors import LoaError
from content.listing import PostFilter, find_posts
from content.queue import ImageInput, PostInput
from content.transfer import BOM, export_csv, export_images, read_csv
from tests.helpers import HCM, local


def png(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, "PNG")
    return out.getvalue()


def test_export_starts_with_a_bom_and_defuses_formulas(engine, make_queue):
    make_queue().create(
        PostInput(
            text='=HYPERLINK("http://x";"bấm")',
            title="+84 gọi ngay",
            channels=["tinh-fb"],
            tags=["-gạch", "@ai"],
            at=local("2026-12-20 09:00"),
        )
    )
    text = export_csv(find_posts(engine, PostFilter()), HCM)
    assert text.startswith(BOM + "id,state,at,")
    row = text.splitlines()[1]
    assert "'+84 gọi ngay" in row
    assert '"\'=HYPERLINK(""http://x"";""bấm"")"' in row
    assert "'-gạch;@ai" in row
    assert ",2026-12-20 09:00," in row  # times and ids are left alone


def test_a_defused_export_imports_back_to_the_same_text(engine, make_queue, tmp_path: Path):
    queue = make_queue()
    queue.create(
        PostInput(
            text="-50% phí: lừa đảo!",
            title="=1+1",
            channels=["tinh-fb"],
            at=local("2026-12-20 09:00"),
        )
    )
    sheet = tmp_path / "x.csv"
    sheet.write_text(export_csv(find_posts(engine, PostFilter()), HCM), encoding="utf-8")
    plan = read_csv(sheet, queue, keep_duplicates=True)
    [request] = plan.requests
    assert (request.text, request.title) == ("-50% phí: lừa đảo!", "=1+1")


def test_a_semicolon_file_with_a_bom_imports(engine, make_queue, tmp_path: Path):
    sheet = tmp_path / "excel-vn.csv"
    sheet.write_bytes(
        (
            BOM
            + "at;channels;title;text;campaign\r\n"
            + '20/12/2026 09:00;tinh-fb xa-fb;;"Cảnh giác; lừa đảo";ANTT\r\n'
            + "21/12/2026 09:00;fb;;Ngày 2;ANTT\r\n"
        ).encode("utf-8")
    )
    plan = read_csv(sheet, make_queue())
    assert [r.text for r in plan.requests] == ["Cảnh giác; lừa đảo", "Ngày 2"]
    assert plan.requests[0].at == local("2026-12-20 09:00")
    assert plan.skipped == []


def test_a_date_without_a_time_in_a_row_is_refused_with_a_hint(make_queue, tmp_path: Path):
    sheet = tmp_path / "t.csv"
    sheet.write_text("at,channels,text\n20/12/2026,tinh-fb,x\n", encoding="utf-8")
    with pytest.raises(LoaError) as refused:
        read_csv(sheet, make_queue())
    assert [str(line) for line in refused.value.details] == [
        f"{sheet}: row 2, column 'at': '20/12/2026' has no time of day; "
        "add a time, e.g. 20/12/2026 09:00"
    ]


def test_a_second_import_of_the_same_rows_is_skipped_and_counted(engine, make_queue, tmp_path):
    queue = make_queue()
    sheet = tmp_path / "thang12.csv"
    sheet.write_text(
        "at,channels,text\n"
        "20/12/2026 09:00,tinh-fb,Bài một\n"
        "21/12/2026 09:00,tinh-fb,Bài hai\n"
        "21/12/2026 09:00,tinh-fb,Bài hai\n",
        encoding="utf-8",
    )
    first = read_csv(sheet, queue)
    assert len(first.requests) == 2
    assert first.skipped == [f"{sheet}: row 4: the same post as row 3; skipped"]
    created = queue.create_many(first.requests).posts
    again = read_csv(sheet, queue)
    assert again.requests == []
    assert again.skipped[0] == (
        f"{sheet}: row 2: already queued as post {created[0].id} "
        "(same text, channels and time); skipped"
    )
    assert len(again.skipped) == 3
    # Another time, other channels or a cancelled post are not the same post.
    queue.cancel(created[0].id)
    sheet.write_text(
        "at,channels,text\n"
        "20/12/2026 09:00,tinh-fb,Bài một\n"
        "21/12/2026 10:00,tinh-fb,Bài hai\n"
        "21/12/2026 09:00,fb,Bài hai\n",
        encoding="utf-8",
    )
    assert len(read_csv(sheet, queue).requests) == 3


def test_images_are_written_beside_the_export_and_found_again(engine, make_queue, tmp_path):
    queue = make_queue()
    queue.create(
        PostInput(
            text="Có ảnh",
            channels=["tinh-fb"],
            images=[ImageInput("../canh-bao.png", png())],
            at=local("2026-12-20 09:00"),
        )
    )
    rows = find_posts(engine, PostFilter())
    names = export_images(engine, rows, tmp_path)
    [(media_id, name)] = names.items()
    assert name == f"{media_id}-canh-bao.png"  # only the name: never outside the folder
    assert (tmp_path / name).read_bytes() == png()
    sheet = tmp_path / "out.csv"
    sheet.write_text(export_csv(rows, HCM, images=names), encoding="utf-8")
    [request] = read_csv(sheet, queue, keep_duplicates=True).requests
    assert [i.data for i in request.images] == [png()]
    assert export_images(engine, rows, None) == names  # to stdout: named only
