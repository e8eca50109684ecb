"""The queue rules' messages (content.queue writes them in English) in the user's language.

The library keeps one language so the CLI, logs and audit trail agree; the TUI recognises
the messages an officer meets most and says them in Vietnamese too. Anything it does not
recognise is shown as the library wrote it.
"""

from __future__ import annotations

import re

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
