"""Graph stand-in: batch requests."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import PHUONG_PAGE, TINH_PAGE


def _batch(sb: SandboxHandle, operations: list[dict[str, object]]) -> httpx.Response:
    return httpx.post(
        f"{sb.graph_url}/v21.0/",
        data={"access_token": sb.user_token, "batch": json.dumps(operations)},
    )


def test_batch_posts_to_two_pages_with_per_operation_tokens(sb: SandboxHandle) -> None:
    operations = [
        {
            "method": "POST",
            "relative_url": f"{page}/feed",
            "body": urlencode({"message": f"Lô {page}", "access_token": sb.page_token(page)}),
        }
        for page in (TINH_PAGE, PHUONG_PAGE)
    ]
    response = _batch(sb, operations)
    assert response.status_code == 200
    results = response.json()
    assert [r["code"] for r in results] == [200, 200]
    ids = [json.loads(r["body"])["id"] for r in results]  # body is a JSON string
    assert ids[0].startswith(f"{TINH_PAGE}_") and ids[1].startswith(f"{PHUONG_PAGE}_")


def test_batch_of_more_than_50_operations_is_refused_whole(sb: SandboxHandle) -> None:
    operations = [{"method": "GET", "relative_url": TINH_PAGE}] * 51
    response = _batch(sb, operations)
    assert response.status_code == 400
    assert "Maximum batch size is 50" in response.json()["error"]["message"]
    assert _batch(sb, operations[:50]).status_code == 200


def test_failed_operation_is_an_error_element_not_a_failed_batch(sb: SandboxHandle) -> None:
    operations = [
        {"method": "GET", "relative_url": TINH_PAGE},
        {"method": "GET", "relative_url": "999999999999999"},
    ]
    results = _batch(sb, operations).json()
    assert results[0]["code"] == 200
    assert results[1]["code"] == 400
    assert json.loads(results[1]["body"])["error"]["code"] == 100


def test_operation_that_times_out_comes_back_null(sb: SandboxHandle) -> None:
    sb.set_faults(TINH_PAGE, script=["timeout"])
    operations = [
        {"method": "GET", "relative_url": f"{TINH_PAGE}?access_token={sb.page_token(TINH_PAGE)}"},
        {"method": "GET", "relative_url": PHUONG_PAGE},
    ]
    results = _batch(sb, operations).json()
    assert results[0] is None
    assert results[1]["code"] == 200


def test_result_reference_feeds_a_later_operation(sb: SandboxHandle) -> None:
    token = sb.page_token(TINH_PAGE)
    operations = [
        {
            "method": "POST",
            "name": "create",
            "relative_url": f"{TINH_PAGE}/feed",
            "body": urlencode({"message": "Tham chiếu", "access_token": token}),
        },
        {
            "method": "GET",
            "relative_url": f"{{result=create:$.id}}?fields=message&access_token={token}",
        },
    ]
    results = _batch(sb, operations).json()
    assert json.loads(results[1]["body"])["message"] == "Tham chiếu"


def test_include_headers_false_leaves_headers_out(sb: SandboxHandle) -> None:
    response = httpx.post(
        f"{sb.graph_url}/v21.0/",
        data={
            "access_token": sb.user_token,
            "include_headers": "false",
            "batch": json.dumps([{"method": "GET", "relative_url": TINH_PAGE}]),
        },
    )
    assert set(response.json()[0]) == {"code", "body"}
