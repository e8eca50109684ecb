"""The Page inbox's Graph endpoints, routed from :class:`sandbox.graph.GraphApi`: comments
(``graph_comments``), Messenger and conversations (``graph_messenger``). Citizens' actions are in
``graph_citizens``, the webhook in ``graph_webhook`` (docs/platforms/facebook-graph.md#webhooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, Principal, Reply
from sandbox.graph_comments import GraphComments
from sandbox.graph_messenger import GraphMessenger
from sandbox.state import GraphPost

if TYPE_CHECKING:
    from sandbox.graph import GraphApi


class GraphInbox:
    """The inbox's Graph endpoints, served through :class:`sandbox.graph.GraphApi`."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.sb = api.sb
        self.comments = GraphComments(api)
        self.messenger = GraphMessenger(api)

    async def page_edge(
        self, call: GraphCall, principal: Principal, page: PageIdentity, rest: list[str]
    ) -> Reply | None:
        """``/{page-id}/messages``, ``/conversations``, ``/subscribed_apps``; None otherwise."""
        if len(rest) != 1:
            return None
        edge = rest[0]
        if edge == "messages" and call.method == "POST":
            return self.messenger.send(call, principal, page)
        if edge == "conversations" and call.method == "GET":
            return self.messenger.conversations(call, principal, page)
        if edge == "subscribed_apps":
            return self.messenger.subscribed_apps(call, principal, page)
        return None

    def post_comments(self, call: GraphCall, principal: Principal, post: GraphPost) -> Reply:
        """``/{post-id}/comments``: read, or the Page comments."""
        return self.comments.post_comments(call, principal, post)

    def comment_count(self, post_id: str) -> int:
        """Comments and replies on a post (they add to its synthetic ``comments`` figure)."""
        return sum(1 for c in self.sb.state.inbox.comments.values() if c.post_id == post_id)

    async def node(
        self, call: GraphCall, principal: Principal, head: str, rest: list[str]
    ) -> Reply | None:
        """A comment, conversation or message id; None when ``head`` is none of them."""
        inbox = self.sb.state.inbox
        comment = inbox.comments.get(head)
        if comment is not None:
            return self.comments.comment_node(call, principal, comment, rest)
        thread = inbox.threads.get(head)
        if thread is not None:
            return self.messenger.thread_node(call, principal, thread, rest)
        if head.startswith("m_"):
            for message in inbox.messages:
                if message.mid == head:
                    return self.messenger.message_node(call, principal, message, rest)
        return None
