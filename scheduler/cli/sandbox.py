"""``loa sandbox``: run the local Facebook Graph / Zalo OA stand-ins on one port.

The sandbox package is imported lazily inside :func:`run`, so nothing in ``scheduler`` depends
on it at import time.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from content.errors import LoaError
from content.messages import os_reason

if TYPE_CHECKING:  # the sandbox is imported lazily at run time
    from sandbox.config import SandboxConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MEDIA_DIR = "media-public"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``sandbox`` subcommand."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run local stand-ins of the Facebook Graph and Zalo OA APIs",
        description="Serve local stand-ins of the Facebook Graph API (/graph), Zalo OpenAPI "
        "(/zalo), Zalo OAuth (/zalo-oauth) and a control API (/_sandbox) on one port.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback)")
    parser.add_argument("--port", default=str(DEFAULT_PORT), help="port (default 8765)")
    parser.add_argument("--seed", default=None, help="seed for tokens, ids, engagement, faults")
    parser.add_argument(
        "--latency-ms", default=None, metavar="A-B", help="added latency: N or A-B milliseconds"
    )
    parser.add_argument(
        "--fail-rate", default=None, metavar="F", help="fraction of calls answered with a 5xx"
    )
    parser.add_argument(
        "--state", default=None, metavar="PATH", help="JSON file the state is kept in"
    )
    # Not --config: the main CLI's global --config names channels.toml.
    parser.add_argument(
        "--setup",
        dest="sandbox_setup",
        default=None,
        metavar="PATH",
        help="JSON sandbox description (seed, pages, OAs, faults, limits)",
    )
    parser.add_argument(
        "--media-dir",
        default=None,
        metavar="DIR",
        help="directory served at /media (default: ./media-public)",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print `export NAME=value` lines for channels.toml's demo secrets and exit",
    )
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise LoaError("port_range", field="--port", port=text, low=0)
    return int(text)


def _seed(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise LoaError("seed_format", field="--seed", text=text) from None


def _latency(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = text.split("-")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or any(v < 0 for v in values) or values[0] > values[-1]:
        raise LoaError("latency_format", field="--latency-ms", text=text)
    return (values[0], values[-1])


def _fail_rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise LoaError("fail_rate_format", field="--fail-rate", text=text)
    return value


def build_sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the flags describe (flags override a --setup file)."""
    from sandbox.config import DEFAULT_SEED, SandboxConfig, load_config_file, with_options
    from sandbox.faults import FaultSpec

    seed = _seed(args.seed)
    latency = _latency(args.latency_ms)
    fail_rate = _fail_rate(args.fail_rate)
    setup = getattr(args, "sandbox_setup", None)
    if setup:
        try:
            config = load_config_file(setup)
        except (OSError, ValueError, TypeError) as exc:
            raise LoaError(
                "file_unreadable", field="--setup", path=str(setup), reason=os_reason(exc)
            ) from None
        if seed is not None and seed != config.seed:
            raise LoaError("seed_conflict", field="--seed")
    else:
        config = SandboxConfig(seed=DEFAULT_SEED if seed is None else seed)
    faults = dict(config.faults)
    if latency is not None or fail_rate is not None:
        base = faults.get("*", FaultSpec())
        faults["*"] = FaultSpec.from_dict(
            {
                **base.to_dict(),
                **({"latency_ms": list(latency)} if latency is not None else {}),
                **({"error_rate": fail_rate} if fail_rate is not None else {}),
            }
        )
    # channels.toml's demo [media] store: served even if Loa only creates it later.
    media_dir = os.path.abspath(args.media_dir or DEFAULT_MEDIA_DIR)
    if os.path.exists(media_dir) and not os.path.isdir(media_dir):
        raise LoaError("not_a_directory", field="--media-dir", path=media_dir)
    return with_options(config, faults=faults, media_dir=media_dir, state_path=args.state)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop."""
    port = _port(str(args.port))
    config = build_sandbox_config(args)
    from sandbox.demo import demo_environment
    from sandbox.server import base_urls, bind_socket, serve

    if args.print_env:
        for name, value in demo_environment(config.seed).items():
            print(f"export {name}={value}")
        return 0
    try:
        sock = bind_socket(args.host, port)
    except OSError as exc:
        raise LoaError(
            "cannot_listen", field="--port", host=args.host, port=port, reason=os_reason(exc)
        ) from None
    actual_port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{actual_port}"
    urls = base_urls(url)
    print(f"Loa sandbox (seed {config.seed}) listening on {url}")
    print(f"  Facebook Graph  {urls['graph']}")
    print(f"  Zalo OpenAPI    {urls['zalo']}")
    print(f"  Zalo OAuth      {urls['zalo_oauth']}")
    print(f"  Control         {urls['control']}/")
    if config.media_dir:
        print(f"  Media           {url}/media  (from {config.media_dir})")
    if config.state_path:
        print(f"  State file      {config.state_path}")
    names = ", ".join(demo_environment(config.seed))
    print(f"Demo secrets for channels.toml: {names}")
    print("  (print them with: loa sandbox --print-env" + _seed_flag(config.seed) + ")")
    try:
        serve(config, sock)
    except KeyboardInterrupt:
        pass
    return 0


def _seed_flag(seed: int) -> str:
    from sandbox.config import DEFAULT_SEED

    return "" if seed == DEFAULT_SEED else f" --seed {seed}"
