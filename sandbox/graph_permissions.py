"""Who may do what on the Graph stand-in: token scopes, Page tasks, ``appsecret_proof``.

References: docs/platforms/facebook-graph.md#app-secret-proof,
docs/platforms/facebook-graph.md#permissions-and-tasks and docs/platforms/facebook-graph.md#errors
(codes 10 and 200-299). The exact wordings below are Graph's as seen in client issues (cited beside
each); where none was found the wording is ours and says so.
"""

from __future__ import annotations

import hashlib
import hmac

from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, Principal
from sandbox.graph_errors import GraphError
from sandbox.runtime import Sandbox

#: Graph's answer when a Page-only endpoint gets another token.
PAGE_TOKEN_REQUIRED = "(#190) This method must be called with a Page Access Token"

PUBLISH = "publish"
READ = "read"
INSIGHTS = "insights"
#: The inbox (docs/platforms/facebook-graph.md#permissions-and-tasks): reading comment bodies,
#: answering and hiding comments, sending in Messenger and reading conversations.
READ_USER_CONTENT = "read_user_content"
ENGAGE = "engage"
HIDE = "hide"
MESSAGING = "messaging"
CONVERSATIONS = "conversations"


def expected_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of the token keyed by the app secret."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def check_proof(sb: Sandbox, principal: Principal, call: GraphCall) -> None:
    """Refuse a missing proof when the app requires one, and a wrong proof always.

    Both answers are code 100, ``GraphMethodException`` (php-graph-sdk#984, bottender#271,
    facebook-python-business-sdk#528). The app token carries the secret itself: no proof.
    """
    if principal.kind == "app":
        return
    if not call.proof:
        if sb.app.require_appsecret_proof:
            raise GraphError(
                100,
                "API calls from the server require an appsecret_proof argument",
                type_="GraphMethodException",
            )
        return
    expected = expected_proof(principal.token, sb.config.graph_app_secret)
    if not hmac.compare_digest(str(call.proof), expected):
        raise GraphError(
            100,
            "Invalid appsecret_proof provided in the API argument",
            type_="GraphMethodException",
        )


def require(sb: Sandbox, principal: Principal, page: PageIdentity, action: str) -> None:
    """Raise Graph's permission error when ``principal`` may not do ``action`` on ``page``."""
    if principal.kind == "app":
        return
    if principal.kind == "page":
        grant = sb.app.page_grants[page.page_id]
        scopes, tasks = grant.scopes, grant.tasks
    else:
        scopes, tasks = sb.app.user_scopes, set(sb.app.page_grants[page.page_id].tasks)
    if action == PUBLISH:
        if "pages_manage_posts" not in scopes or "CREATE_CONTENT" not in tasks:
            # pipedream#7581 and Meta's posts guide: both permissions, and a task that may post.
            raise GraphError(
                200,
                "(#200) If posting to a page, requires both pages_read_engagement and "
                "pages_manage_posts as an admin with sufficient administrative permission",
                status=403,
            )
        if "pages_read_engagement" not in scopes:
            # PipedreamHQ/pipedream#7581, #18935.
            raise GraphError(
                283, "(#283) Requires pages_read_engagement permission to manage the object"
            )
    elif action == READ:
        if "pages_read_engagement" not in scopes:
            # sns-sdks/python-facebook#102, restfb#1190.
            raise GraphError(
                10,
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
                "'Page Public Content Access' feature. Refer to "
                "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages "
                "and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS"
                " for details.",
            )
    elif action == INSIGHTS and ("read_insights" not in scopes or "ANALYZE" not in tasks):
        # Code 10 per docs/platforms/facebook-graph.md#errors; the wording is the sandbox's own
        # [unverified].
        raise GraphError(10, "(#10) This endpoint requires the 'read_insights' permission")
    elif action in (READ_USER_CONTENT, ENGAGE, HIDE, MESSAGING, CONVERSATIONS):
        _require_inbox(action, scopes, tasks)


def _require_inbox(action: str, scopes: set[str], tasks: set[str]) -> None:
    """The inbox's permissions (docs/platforms/facebook-graph.md#permissions-and-tasks)."""
    if action == READ_USER_CONTENT and "pages_read_user_content" not in scopes:
        # Comment bodies need pages_read_user_content
        # (docs/platforms/facebook-graph.md#permissions-and-tasks); code 10 like the other read
        # permissions, the wording is the sandbox's [unverified].
        raise GraphError(
            10, "(#10) This endpoint requires the 'pages_read_user_content' permission"
        )
    if action in (ENGAGE, HIDE):
        if "pages_manage_engagement" not in scopes:
            # The permission Meta lists for replying and hiding
            # (docs/platforms/facebook-graph.md#replying-to-and-hiding-comments); wording ours.
            raise GraphError(
                200,
                "(#200) Requires pages_manage_engagement permission to manage the object",
                status=403,
            )
        allowed = {"MODERATE"} if action == HIDE else {"MODERATE", "CREATE_CONTENT"}
        if not tasks & allowed:
            raise GraphError(200, "(#200) Permissions error", status=403)
    if action in (MESSAGING, CONVERSATIONS):
        if "pages_messaging" not in scopes:
            # Messenger's own code for it, as integrators quote it ("(#230) Requires
            # pages_messaging permission"); not in Meta's pages.
            raise GraphError(230, "(#230) Requires pages_messaging permission to manage the object")
        # Send API: the MESSAGING task; Conversations API: MESSAGING or MODERATE
        # (docs/platforms/facebook-graph.md#messenger).
        allowed = {"MESSAGING"} if action == MESSAGING else {"MESSAGING", "MODERATE"}
        if not tasks & allowed:
            raise GraphError(200, "(#200) Permissions error", status=403)


def require_page_token(principal: Principal, page: PageIdentity) -> None:
    """The inbox's endpoints act as the Page: its own Page token, nothing else."""
    if principal.kind != "page":
        raise GraphError(190, PAGE_TOKEN_REQUIRED)
    if principal.page is None or principal.page.page_id != page.page_id:
        raise GraphError(200, "(#200) Permissions error", status=403)
