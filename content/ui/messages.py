"""The queue rules' messages (content.queue writes them in English) in the user's language.

The library keeps one language so the CLI, logs and audit trail agree; the TUI recognises
the messages an officer meets most and says them in Vietnamese too. Anything it does not
recognise is shown as the library wrote it.
"""

from __future__ import annotations

import re
from typing import Any

from content.ui.fmt import delivery_state
from content.ui.i18n import N_, _

#: (pattern, msgid with the pattern's named groups as {placeholders}).
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (
            r"^post (?P<id>\d+): (?P<who>.+) wrote it and cannot approve it; "
            r"the office requires a second approver$",
            N_("Post {id} was written by {who}: another person must approve it."),
        ),
        (
            r"^(?P<channel>\S+) \((?P<kind>\w+)\) needs a title of at most (?P<n>\d+) characters$",
            N_("{channel} needs a title (at most {n} characters)."),
        ),
        (r"^post (?P<id>\d+) does not exist$", N_("Post {id} does not exist.")),
        (r"^choose at least one channel or group$", N_("Choose at least one channel.")),
        (r"^the post has no text$", N_("The post has no text.")),
        (
            r"^(?P<when>.+) is in the past \(now is (?P<now>.+)\)$",
            N_("{when} is in the past (it is now {now})."),
        ),
        (
            r"^the same text is already queued for (?P<channel>\S+) \(post (?P<id>\d+)\)$",
            N_("The same text is already waiting to be posted on {channel} (post {id})."),
        ),
        (
            r"^the same text was published to (?P<channel>\S+) on (?P<when>.+) "
            r"\(post (?P<id>\d+)\)$",
            N_("The same text was already posted on {channel} on {when} (post {id})."),
        ),
        (
            r"^(?P<channel>\S+) already has post (?P<id>\d+) at (?P<when>.+), "
            r"less than (?P<n>\d+) min apart$",
            N_("{channel} already has post {id} at {when}, less than {n} minutes apart."),
        ),
        (
            r"^(?P<channels>.+): Zalo refuses broadcasts from 22:00 to 06:00; .*$",
            N_(
                "{channels}: Zalo does not send broadcasts from 22:00 to 06:00; the article "
                "is published on time and its broadcast waits until 06:00."
            ),
        ),
        (
            r"^post (?P<id>\d+) is already being sent; it can no longer (change|move)$",
            N_("Post {id} is already being sent: it can no longer be changed."),
        ),
        (
            r"^post (?P<id>\d+) is being sent right now; cancel it again in a moment$",
            N_("Post {id} is being sent right now; try cancelling again in a moment."),
        ),
        (
            r"^post (?P<id>\d+) was edited after approval: it is back in review$",
            N_("Post {id} was changed after approval: it must be approved again."),
        ),
        (
            r"^a repeating post needs a first time$",
            N_("A repeating post needs the time of its first post."),
        ),
        (
            r"^until (?P<date>\S+) is before the first post$",
            N_("The last date ({date}) is before the first post."),
        ),
        (
            r"^more than (?P<n>\d+) occurrences; choose an earlier until date$",
            N_("More than {n} posts: choose an earlier last date."),
        ),
        (
            r"^delivery (?P<id>\d+) is (?P<dstate>\w+); only failed ones can be retried$",
            N_("That delivery is {dstate} now: only a failed one can be retried."),
        ),
        (
            r"^delivery (?P<id>\d+) is (?P<dstate>\w+), not needs_review$",
            N_("That delivery is {dstate} now: it no longer needs checking."),
        ),
        (r"^delivery (?P<id>\d+) does not exist$", N_("That delivery no longer exists.")),
        (r"^post (?P<id>\d+) is cancelled$", N_("Post {id} is cancelled.")),
        (
            r"^(?P<link>.+) is not an http\(s\) URL$",
            N_("{link} is not a web address (it must start with http:// or https://)."),
        ),
    )
)


#: Refusals that carry their reason as data (``code`` and ``params``): no pattern needed.
CODES: dict[str, str] = {
    "role": N_("{user} is {role} and may not {action}: that needs {needed}."),
    "unit": N_("{user} may not {action} for {channels}: they are outside his units."),
    "own_post": N_("Post {id} was written by {who}: another person must approve it."),
    "act_as": N_("Only an admin may act for another account."),
    "no_account": N_("{user} has no Loa account: ask an admin to add one."),
    "disabled": N_("The account {user} is disabled: ask an admin."),
    "session": N_("The web session has expired: sign in again."),
    # Typed times (content.times.TimeRefused).
    "time_no_clock": N_("{text} has no time of day: add one, e.g. {example}."),
    "time_impossible": N_("{text} is not a real date and time: check the day, month and hour."),
    "time_format": N_("{text} is not a time: type DD/MM/YYYY HH:MM, for example 20/12/2026 09:00."),
}
#: The words a refusal's ``role``, ``needed`` and ``action`` take (English msgids).
WORDS = (
    N_("an author"),
    N_("an approver"),
    N_("an admin"),
    N_("write posts"),
    N_("edit posts"),
    N_("submit posts"),
    N_("approve posts"),
    N_("send posts back"),
    N_("schedule posts"),
    N_("cancel posts"),
    N_("retry deliveries"),
    N_("settle deliveries"),
    N_("settle deliveries that need review"),
)


def error_in_words(error: Exception) -> str:
    """A library error in the current language: by its code when it has one, else its text."""
    code = getattr(error, "code", None)
    params: dict[str, Any] = dict(getattr(error, "params", None) or {})
    if isinstance(code, str) and code in CODES:
        for key in ("role", "needed"):
            if key in params:
                role = str(params[key])
                params[key] = _(f"an {role}" if role[0] in "aeiou" else f"a {role}")
        if "action" in params:
            params["action"] = _(str(params["action"]))
        if "channels" in params:
            params["channels"] = ", ".join(params["channels"])
        if code == "own_post":
            params = {"id": params.get("post"), "who": params.get("user")}
        try:
            return _(CODES[code]).format(**params)
        except (KeyError, IndexError):  # a parameter the message lacks: say it as written
            pass
    return in_words(getattr(error, "message", None) or str(error))


def in_words(message: str) -> str:
    """``message`` from the library in the current language, when it is a known one."""
    for pattern, msgid in PATTERNS:
        match = pattern.match(message)
        if match:
            values = match.groupdict()
            if "dstate" in values:  # a delivery state, said as the screens say it
                values["dstate"] = delivery_state(values["dstate"])
            return _(msgid).format(**values)
    return message
