"""`loa demo`: the whole product in about a minute, on a fresh machine, with no accounts.

It starts the sandbox in-process (real HTTP on 127.0.0.1), points the repository's
channels.toml at it, queues the sample posts with rendered infographics and an imported
sample feed, runs the real daemon until everything is published, collects metrics and
prints a summary. Nothing here is a shortcut: the same queue, daemon and clients run as
in production; only the platforms are the sandbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tomllib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from content import infographic
from content.db import open_database, session_scope
from content.errors import LoaError
from content.i18n import _
from content.models import Delivery, DeliveryState, JobRun, Post, PostState
from content.queue import ImageInput, PostInput, Queue
from content.times import utcnow
from scheduler.config import Config, FacebookChannel, Media, ZaloChannel
from scheduler.daemon import DaemonSettings, lateness_summary
from scheduler.metrics import collect
from scheduler.runtime import build_daemon

SAMPLES = Path(__file__).resolve().parent.parent / "content" / "samples"
AUTHOR = "can-bo-truyen-thong"
APPROVER = "truong-phong"


@dataclasses.dataclass
class DemoResult:
    """What the demo did, for the summary table (and its test)."""

    published: Counter[str]
    unsettled: int
    lateness: dict[str, float]
    samples: int
    drafts_from_feed: int
    seconds: float


#: The JobRun a demo database carries; any other database is never replaced by the demo.
DEMO_MARK = "loa-demo"
#: The demo's default database file name.
DEMO_FILE_NAME = "loa-demo.db"


def refuse_unless_demo(db_path: Path) -> None:
    """Raise unless ``db_path`` is absent or a database an earlier `loa demo` made.

    The demo starts from a fresh file. Pointed by mistake at an office's database (``--db
    loa.db``), it must not delete a day's posts: only its own files are replaced.
    """
    if not db_path.exists() or db_path.name == DEMO_FILE_NAME:
        # The demo's own default file (also as made by versions before the mark).
        return
    # Read-only, so that a mistaken path is not even touched.
    engine = create_engine(f"sqlite:///file:{db_path.resolve()}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            marked = conn.execute(
                select(func.count()).select_from(JobRun).where(JobRun.job == DEMO_MARK)
            ).scalar_one()
            posts = conn.execute(select(func.count()).select_from(Post)).scalar_one()
    except DBAPIError:  # not a database, or not Loa's: not the demo's either
        marked, posts = 0, 0
    finally:
        engine.dispose()
    if marked:
        return
    if posts:
        raise LoaError("demo_not_demo_posts", field="--db", path=str(db_path), n=posts)
    raise LoaError("demo_not_demo", field="--db", path=str(db_path))


def run_demo(
    config: Config,
    db_path: Path,
    *,
    seed: int = 20261123,
    deadline_seconds: float = 80.0,
    time_scale: float = 1.0,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo against a fresh database at ``db_path``.

    ``time_scale`` shrinks the sample schedule (the test runs the minute in a few seconds).
    """
    from sandbox.demo import demo_environment
    from sandbox.testing import running_sandbox

    started = utcnow()
    refuse_unless_demo(db_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    media_dir = db_path.parent / "loa-demo-media"
    with running_sandbox(seed=seed, media_dir=str(media_dir), verify_pending_polls=1) as sandbox:
        say(
            _("sandbox: Facebook Graph {graph}, Zalo OA {zalo}").format(
                graph=sandbox.graph_url, zalo=sandbox.zalo_url
            )
        )
        os.environ.update(demo_environment(seed))
        config = _point_at_sandbox(config, sandbox, media_dir)
        engine = open_database(f"sqlite:///{db_path.resolve()}")
        with session_scope(engine) as session:
            # Marks the file as the demo's own: the next `loa demo` may replace it.
            session.add(JobRun(job=DEMO_MARK, key="database", started_at=started, worker="demo"))
        posts = _queue_samples(engine, config, started, time_scale)
        drafts = _import_feed(engine, config)
        say(
            _(
                "queued {posts} posts over the next minute; {drafts} drafts imported from a feed"
            ).format(posts=posts, drafts=drafts)
        )
        lateness, unsettled = asyncio.run(_publish(engine, config, started, deadline_seconds, say))
        sandbox.advance_clock(6 * 3600)  # let engagement grow on the platforms
        samples = asyncio.run(_collect(engine, config))
    published = _published_per_channel(engine)
    return DemoResult(
        published=published,
        unsettled=unsettled,
        lateness=lateness_summary(lateness),
        samples=samples,
        drafts_from_feed=drafts,
        seconds=(utcnow() - started).total_seconds(),
    )


def _point_at_sandbox(config: Config, sandbox: Any, media_dir: Path) -> Config:
    channels: dict[str, Any] = {}
    for cid, channel in config.channels.items():
        if isinstance(channel, FacebookChannel):
            channels[cid] = channel.model_copy(update={"base_url": sandbox.graph_url})
        else:
            assert isinstance(channel, ZaloChannel)
            channels[cid] = channel.model_copy(
                update={"base_url": sandbox.zalo_url, "oauth_url": sandbox.zalo_oauth_url}
            )
    media = Media(directory=media_dir, public_base_url=f"{sandbox.url}/media")
    return dataclasses.replace(config, channels=channels, media=media)


def _queue_samples(engine: Engine, config: Config, start: datetime, time_scale: float) -> int:
    samples = tomllib.loads((SAMPLES / "demo_posts.toml").read_text(encoding="utf-8"))["posts"]
    directory = config.directory()
    author = Queue(engine, directory, actor=AUTHOR)
    chief = Queue(engine, directory, actor=APPROVER)
    branding = infographic.Branding(office_name=config.office.name)
    count = 0
    for sample in samples:
        images = []
        if sample.get("template"):
            card = infographic.render(sample["template"], sample["fields"], branding=branding)
            data, mime = infographic.encode_for_channel(card, "facebook")
            images.append(ImageInput(f"{sample['template']}.png", data))
        request = PostInput(
            text=sample["text"],
            title=sample.get("title"),
            channels=sample["channels"],
            campaign=sample.get("campaign"),
            images=images,
            at=start + timedelta(seconds=sample["offset_seconds"] * time_scale),
        )
        post = author.create(request, submit=True).post
        chief.approve(post.id or 0)
        count += 1
    return count


def _import_feed(engine: Engine, config: Config) -> int:
    from content.feeds import import_source

    queue = Queue(engine, config.directory(), actor=AUTHOR)
    result = import_source(
        engine,
        queue,
        str(SAMPLES / "bocongan-sample.xml"),
        channels=["facebook"],
        max_new_per_poll=3,
    )
    return result.drafted


async def _publish(
    engine: Engine,
    config: Config,
    start: datetime,
    deadline_seconds: float,
    say: Callable[[str], None],
) -> tuple[list[float], int]:
    """Run the daemon until every scheduled delivery is settled (or the deadline passes)."""
    lateness: list[float] = []
    daemon = build_daemon(config, engine, settings=DaemonSettings(poll_seconds=1.0))
    daemon.dispatcher.on_result = lambda r: lateness.append(r.lateness) if r.first else None
    task = asyncio.create_task(daemon.run_forever())
    deadline = start + timedelta(seconds=deadline_seconds)
    reported = -1
    try:
        while utcnow() < deadline:
            done, waiting = await asyncio.to_thread(_progress, engine)
            if done != reported:
                say(
                    "  "
                    + _("published {done}, waiting {waiting}").format(done=done, waiting=waiting)
                )
                reported = done
            if waiting == 0:
                break
            await asyncio.sleep(1.0)
        _done, unsettled = await asyncio.to_thread(_progress, engine)
    finally:
        daemon.stop()
        await task
        await daemon.close()
    return lateness, unsettled


def _progress(engine: Engine) -> tuple[int, int]:
    """(published, still waiting) deliveries of scheduled posts."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Delivery.state)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(col(Post.state).in_([PostState.SCHEDULED, PostState.DONE]))
        ).all()
    states = Counter(rows)
    waiting = states[DeliveryState.PENDING] + states[DeliveryState.SENDING]
    return states[DeliveryState.PUBLISHED], waiting


async def _collect(engine: Engine, config: Config) -> int:
    from scheduler.channels import build_channel

    channels = {c: build_channel(c, config, engine=engine) for c in config.channels}
    try:
        report = await collect(engine, channels)
    finally:
        for channel in channels.values():
            await channel.aclose()
    return report.samples


def _published_per_channel(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(Delivery.channel).where(Delivery.state == DeliveryState.PUBLISHED)
        ).all()
    return Counter(rows)
