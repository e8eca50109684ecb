"""appsecret_proof, token scopes and tasks, debug_token, and Zalo permission groups."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import GRAPH_VERSION, TINH_OA, TINH_PAGE


def proof(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def page_get(sb: SandboxHandle, path: str, **params: str) -> httpx.Response:
    token = sb.page_token(TINH_PAGE)
    return httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_required_proof_refuses_calls_without_it_and_accepts_the_right_one(sb: SandboxHandle):
    token = sb.page_token(TINH_PAGE)
    assert page_get(sb, TINH_PAGE).status_code == 200  # not required yet
    sb.require_appsecret_proof()
    missing = page_get(sb, TINH_PAGE)
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert (error["code"], error["type"]) == (100, "GraphMethodException")
    assert error["message"] == "API calls from the server require an appsecret_proof argument"
    good = page_get(sb, TINH_PAGE, appsecret_proof=proof(token, sb.graph_app_secret))
    assert good.status_code == 200 and good.json()["id"] == TINH_PAGE


def test_a_wrong_proof_is_refused_even_when_not_required(sb: SandboxHandle):
    token = sb.page_token(TINH_PAGE)
    wrong = page_get(sb, TINH_PAGE, appsecret_proof=proof(token, "not-the-secret"))
    error = wrong.json()["error"]
    assert (error["code"], error["message"]) == (
        100,
        "Invalid appsecret_proof provided in the API argument",
    )


def test_a_batch_is_covered_by_its_proof_and_an_operation_token_needs_its_own(sb: SandboxHandle):
    sb.require_appsecret_proof()
    token, user = sb.page_token(TINH_PAGE), sb.user_token
    batch = [
        {"method": "GET", "relative_url": TINH_PAGE},
        {"method": "GET", "relative_url": f"me?access_token={user}"},
        {
            "method": "GET",
            "relative_url": f"me?access_token={user}"
            f"&appsecret_proof={proof(user, sb.graph_app_secret)}",
        },
    ]
    answer = httpx.post(
        f"{sb.graph_url}/{GRAPH_VERSION}/",
        params={"appsecret_proof": proof(token, sb.graph_app_secret)},
        data={"batch": json.dumps(batch), "access_token": token},
    ).json()
    assert [element["code"] for element in answer] == [200, 400, 200]
    assert "appsecret_proof" in json.loads(answer[1]["body"])["error"]["message"]
    refused = httpx.post(
        f"{sb.graph_url}/{GRAPH_VERSION}/", data={"batch": json.dumps(batch), "access_token": token}
    )
    assert refused.json()["error"]["code"] == 100


def test_the_app_token_needs_no_proof(sb: SandboxHandle):
    sb.require_appsecret_proof()
    app_token = sb.tokens()["graph"]["app_token"]
    answer = httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/debug_token",
        params={"input_token": sb.page_token(TINH_PAGE), "access_token": app_token},
    )
    assert answer.json()["data"]["type"] == "PAGE"


def test_a_page_token_without_pages_manage_posts_cannot_publish(graph: httpx.Client, sb):
    sb.set_page_grant(TINH_PAGE, scopes=["pages_show_list", "pages_read_engagement"])
    answer = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Không được đăng"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == 200
    assert "pages_manage_posts" in answer.json()["error"]["message"]
    assert sb.posts() == []


def test_publishing_without_pages_read_engagement_is_code_283(graph: httpx.Client, sb):
    sb.set_page_grant(TINH_PAGE, scopes=["pages_show_list", "pages_manage_posts"])
    answer = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Không được đăng"})
    assert answer.json()["error"]["code"] == 283


def test_an_admin_without_the_create_content_task_cannot_publish(graph: httpx.Client, sb):
    sb.set_page_grant(TINH_PAGE, tasks=["ANALYZE"])
    answer = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Không được đăng"})
    assert answer.json()["error"]["code"] == 200


def test_reading_needs_pages_read_engagement_and_insights_read_insights(graph, sb):
    post_id = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Bài đọc"}).json()["id"]
    sb.set_page_grant(TINH_PAGE, scopes=["pages_manage_posts", "pages_read_engagement"])
    insights = graph.get(f"/{post_id}/insights", params={"metric": "post_media_view"}).json()
    assert insights["error"]["code"] == 10 and "read_insights" in insights["error"]["message"]
    field = graph.get(f"/{post_id}", params={"fields": "insights.metric(post_media_view)"})
    assert field.json()["error"]["code"] == 10
    assert graph.get(f"/{post_id}", params={"fields": "message"}).status_code == 200
    sb.set_page_grant(TINH_PAGE, scopes=["pages_manage_posts", "read_insights"])
    listed = graph.get(f"/{TINH_PAGE}/published_posts").json()
    assert listed["error"]["code"] == 10
    assert "pages_read_engagement" in listed["error"]["message"]


def test_debug_token_shows_the_grant_and_the_expiry(sb: SandboxHandle, graph: httpx.Client):
    sb.set_page_grant(TINH_PAGE, scopes=["pages_show_list", "read_insights"])
    data = graph.get("/debug_token", params={"input_token": sb.page_token(TINH_PAGE)}).json()
    data = data["data"]
    assert (data["type"], data["is_valid"], data["expires_at"]) == ("PAGE", True, 0)
    assert data["scopes"] == ["pages_show_list", "read_insights"]
    assert data["profile_id"] == TINH_PAGE
    soon = sb.now() + 3600
    sb.set_page_grant(TINH_PAGE, expires_at=soon)
    data = graph.get("/debug_token", params={"input_token": sb.page_token(TINH_PAGE)}).json()
    assert data["data"]["expires_at"] == int(soon)
    sb.advance_clock(7200)
    expired = graph.get(f"/{TINH_PAGE}").json()["error"]
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    app_token = sb.tokens()["graph"]["app_token"]
    data = httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/debug_token",
        params={"input_token": sb.page_token(TINH_PAGE), "access_token": app_token},
    ).json()["data"]
    assert data["is_valid"] is False and data["error"]["subcode"] == 463


def test_me_permissions_follow_the_user_scopes(sb: SandboxHandle):
    sb.set_user_scopes(["pages_show_list"])
    data = httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/me/permissions", params={"access_token": sb.user_token}
    ).json()["data"]
    status = {d["permission"]: d["status"] for d in data}
    assert status["pages_show_list"] == "granted"
    assert status["pages_manage_posts"] == "declined"


def test_reset_restores_the_configured_grants(sb: SandboxHandle, graph: httpx.Client):
    sb.set_page_grant(TINH_PAGE, scopes=[])
    sb.require_appsecret_proof()
    sb.reset()
    assert graph.post(f"/{TINH_PAGE}/feed", data={"message": "Lại được"}).status_code == 200


def test_an_oa_without_the_article_group_is_refused_with_223(sb: SandboxHandle, zalo, media):
    sb.set_zalo_permissions(["message", "oa_info"], TINH_OA)
    answer = zalo.get("/v2.0/article/getslice", params={"type": "normal"}).json()
    assert answer == {"error": -223, "message": "Official Account has not authorized this API"}
    assert zalo.get("/v2.0/oa/getoa").json()["error"] == 0
    sb.set_zalo_permissions(["article"], TINH_OA)
    assert zalo.get("/v2.0/article/getslice", params={"type": "normal"}).json()["error"] == 0


def test_zalo_token_answers_expired_220_and_unknown_216(sb: SandboxHandle, zalo):
    # docs/platforms/zalo-oa.md#tokens-and-refresh: -220 expired or revoked, -216 malformed or
    # unknown.
    sb.expire_access_token(TINH_OA)
    assert zalo.get("/v2.0/oa/getoa").json()["error"] == -220
    unknown = httpx.get(f"{sb.zalo_url}/v2.0/oa/getoa", headers={"access_token": "nope"})
    assert unknown.json()["error"] == -216
