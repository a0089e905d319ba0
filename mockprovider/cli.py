"""``mockprovider serve`` (the fake provider server), ``mockprovider proxy`` (the chaos proxy alone) and
``mockprovider profiles`` (list and check profile files)."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
from pathlib import Path

from . import __version__
from .context import Settings
from .engine.profile import ProfileError

ENV = "MOCKPROVIDER_"


def _env(name: str, default: str | None = None) -> str | None:
    """``MOCKPROVIDER_<name>``; an empty value counts as unset (compose files often pass empty variables)."""
    return os.environ.get(ENV + name) or default


def _state_url(value: str) -> str:
    from .state import check_url

    try:
        return check_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def state_problem(url: str) -> str | None:
    """Why the state backend at ``url`` cannot be used, checked before the banner, else None."""
    if url == "memory":
        return None
    import redis
    from redis.exceptions import RedisError

    from .state import Backend

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        return f"cannot reach the state backend at {Backend(url).redacted}: {exc}"
    finally:
        client.close()
    return None


def _number(kind: type, minimum: float | None = None, maximum: float | None = None, positive: bool = False):
    """An argparse type: a finite number of ``kind`` within bounds, else an argparse error (for flags and for
    MOCKPROVIDER_* defaults alike: argparse parses string defaults with the same type)."""
    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                             f"got {text[:40]!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text[:40]!r}")
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text[:40]!r}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text[:40]!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g}, got {text[:40]!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


PORT = _number(int, 1, 65535)
MAX_WORKERS = 64
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the fake provider server",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Every flag can also be set by the MOCKPROVIDER_* variable in brackets; "
                                   "a flag given on the command line wins.")
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="bind address [MOCKPROVIDER_HOST]")
    p.add_argument("--port", type=PORT, default=_env("PORT", "8000"), help="port [MOCKPROVIDER_PORT]")
    p.add_argument("--profile", default=_env("PROFILE", "default"),
                   help="profile name, or path to a YAML file [MOCKPROVIDER_PROFILE]")
    p.add_argument("--profiles-dir", type=Path, default=_env("PROFILES_DIR"),
                   help="extra folder of profiles [MOCKPROVIDER_PROFILES_DIR]")
    p.add_argument("--seed", type=_number(int, 0, 2**63 - 1), default=_env("SEED"),
                   help="random seed; without one each run (and each /__mock/reset) draws its own, printed in the "
                        "banner and /__mock/health, so ids never repeat across runs [MOCKPROVIDER_SEED]")
    p.add_argument("--time-scale", type=_number(float, 1e-6, 1e6, positive=True), default=_env("TIME_SCALE", "1"),
                   help="real seconds per provider second: 0.01 makes a 60 s job take 0.6 s; profile TTLs and "
                        "retry hints stay in real time (see --scale-latency) [MOCKPROVIDER_TIME_SCALE]")
    p.add_argument("--scale-latency", action="store_true", default=_flag("SCALE_LATENCY"),
                   help="compress request latency and hangs with --time-scale too (default: they are real time, "
                        "as a load test measures them) [MOCKPROVIDER_SCALE_LATENCY]")
    p.add_argument("--admin-token", default=_env("ADMIN_TOKEN"),
                   help="guard /__mock/ with this token (set it whenever the port is reachable by others) "
                        "[MOCKPROVIDER_ADMIN_TOKEN]")
    p.add_argument("--public-url", default=_env("PUBLIC_URL"),
                   help="base URL clients reach us at, for output links [MOCKPROVIDER_PUBLIC_URL]")
    p.add_argument("--providers", default=_env("PROVIDERS"),
                   help="comma-separated providers to serve (default: all) [MOCKPROVIDER_PROVIDERS]")
    p.add_argument("--max-jobs", type=_number(int, 1, 10**8), default=_env("MAX_JOBS", "200000"),
                   help="jobs kept at most; the oldest finished ones go first [MOCKPROVIDER_MAX_JOBS]")
    p.add_argument("--max-header-bytes", type=_number(int, 1024, 2**24), default=_env("MAX_HEADER_BYTES", "65536"),
                   help="largest request head (request line and headers); larger is answered 431 "
                        "[MOCKPROVIDER_MAX_HEADER_BYTES]")
    p.add_argument("--head-timeout", type=_number(float, 0, 3600), default=_env("HEAD_TIMEOUT", "30"),
                   help="real seconds a connection has to send a complete request head before it is closed "
                        "(idle and slowloris connections); 0 disables [MOCKPROVIDER_HEAD_TIMEOUT]")
    p.add_argument("--journal-size", type=_number(int, 0, 10**8), default=_env("JOURNAL_SIZE", "10000"),
                   help="provider requests kept in the request journal, 0 to keep none [MOCKPROVIDER_JOURNAL_SIZE]")
    p.add_argument("--metrics-token", default=_env("METRICS_TOKEN"),
                   help="a token that lets a scraper read /__mock/metrics (as a Bearer token) when "
                        "--admin-token guards the rest [MOCKPROVIDER_METRICS_TOKEN]")
    p.add_argument("--state", type=_state_url, default=_env("STATE", "memory"),
                   help="where shared state lives: memory (this process) or redis://HOST:PORT/DB, shared by "
                        "replicas and workers [MOCKPROVIDER_STATE]")
    p.add_argument("--workers", type=_number(int, 1, MAX_WORKERS), default=_env("WORKERS", "1"),
                   help="processes serving the same port (and --tls-port), sharing the state in Redis: needs "
                        "--state redis://...; a worker that dies is replaced [MOCKPROVIDER_WORKERS]")
    p.add_argument("--media-dir", type=Path, default=_env("MEDIA_DIR"),
                   help="disk cache for rendered MP4s [MOCKPROVIDER_MEDIA_DIR]")
    p.add_argument("--media-bitrate", choices=("small", "realistic"), default=_env("MEDIA_BITRATE", "small"),
                   help="output file sizes: small test patterns, or constant bitrates typical of real outputs "
                        "per resolution (480p 2.5, 720p 6, 1080p 12, 4K 40 Mbit/s) [MOCKPROVIDER_MEDIA_BITRATE]")
    p.add_argument("--proxy", action="store_true", default=_flag("PROXY"),
                   help="also run the chaos proxy's API in this process [MOCKPROVIDER_PROXY]")
    p.add_argument("--proxy-host", default=_env("PROXY_HOST", "127.0.0.1"),
                   help="the chaos proxy API's bind address [MOCKPROVIDER_PROXY_HOST]")
    p.add_argument("--proxy-port", type=PORT, default=_env("PROXY_PORT", "8474"),
                   help="the chaos proxy API's port [MOCKPROVIDER_PROXY_PORT]")
    p.add_argument("--toxiproxy-url", default=_env("TOXIPROXY_URL"),
                   help="apply profiles' network sections to a real Toxiproxy at this URL instead "
                        "[MOCKPROVIDER_TOXIPROXY_URL]")
    p.add_argument("--webhook-allow", default=_env("WEBHOOK_ALLOW"),
                   help="comma-separated hosts, .domain suffixes, IPs and CIDRs webhooks may be sent to "
                        "(default: any but link-local and mockprovider's own APIs) [MOCKPROVIDER_WEBHOOK_ALLOW]")
    p.add_argument("--tls", action="store_true", default=_flag("TLS"),
                   help="also listen with TLS on --tls-port [MOCKPROVIDER_TLS]")
    p.add_argument("--tls-port", type=PORT, default=_env("TLS_PORT", "8443"),
                   help="the HTTPS port [MOCKPROVIDER_TLS_PORT]")
    p.add_argument("--tls-cert", type=Path, default=_env("TLS_CERT"),
                   help="PEM certificate (chain) to serve; default: one signed by a local CA mockprovider "
                        "generates [MOCKPROVIDER_TLS_CERT]")
    p.add_argument("--tls-key", type=Path, default=_env("TLS_KEY"), help="its PEM key [MOCKPROVIDER_TLS_KEY]")
    p.add_argument("--tls-name", action="append", default=None,
                   help="another DNS name or IP for the generated certificate, besides 127.0.0.1, ::1 and "
                        "localhost (repeatable) [MOCKPROVIDER_TLS_NAMES, comma-separated]")
    p.add_argument("--tls-dir", type=Path, default=_env("TLS_DIR"),
                   help="where the generated CA (ca.pem, kept and reused) and certificate go "
                        "(default ~/.cache/mockprovider/tls) [MOCKPROVIDER_TLS_DIR]")
    p.add_argument("--log-level", type=str.lower, choices=LOG_LEVELS, default=_env("LOG_LEVEL", "info"),
                   help="what the server logs: info shows profile switches, TTL reverts, network changes, "
                        "rejected profiles, fault windows and webhooks that gave up [MOCKPROVIDER_LOG_LEVEL]")
    p.add_argument("--access-log", action="store_true", default=_flag("ACCESS_LOG"),
                   help="also log one line per request [MOCKPROVIDER_ACCESS_LOG]")


def settings_from(args: argparse.Namespace) -> Settings:
    providers = [p.strip() for p in args.providers.split(",") if p.strip()] if args.providers else None
    allow = [a.strip() for a in args.webhook_allow.split(",") if a.strip()] if args.webhook_allow else None
    if allow:
        from .webhooks.targets import AllowEntry

        for entry in allow:
            AllowEntry(entry)  # a bad entry is a ValueError: an argparse error, before the server starts
    if args.log_level not in LOG_LEVELS:
        raise ValueError(f"--log-level / MOCKPROVIDER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if args.media_bitrate not in ("small", "realistic"):
        raise ValueError("--media-bitrate / MOCKPROVIDER_MEDIA_BITRATE must be small or realistic")
    names = args.tls_name if args.tls_name is not None else (_env("TLS_NAMES") or "").split(",")
    if args.tls:
        from .tls import check_names

        names = check_names(names)
        if not 0 < args.tls_port < 65536:
            raise ValueError("--tls-port must be a port number")
        if (args.tls_cert is None) != (args.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
    return Settings(host=args.host, port=args.port, profile=args.profile, seed=args.seed,
                    time_scale=args.time_scale, profiles_dir=args.profiles_dir, admin_token=args.admin_token,
                    public_url=args.public_url, providers=providers, max_jobs=args.max_jobs,
                    media_dir=args.media_dir, media_bitrate=args.media_bitrate, webhook_allow=allow,
                    tls=args.tls, tls_port=args.tls_port, tls_cert=args.tls_cert, tls_key=args.tls_key,
                    tls_names=[n for n in names if n.strip()], tls_dir=args.tls_dir,
                    journal_size=max(args.journal_size, 0),
                    metrics_token=args.metrics_token, state=args.state,
                    max_head=args.max_header_bytes, head_timeout=args.head_timeout,
                    scale_latency=args.scale_latency, access_log=args.access_log,
                    extra={"proxy": args.proxy, "proxy_host": args.proxy_host, "proxy_port": args.proxy_port,
                           "toxiproxy_url": args.toxiproxy_url})


def _banner(app, settings: Settings, tls=None, workers: int = 1) -> str:
    origin = settings.public_url or f"http://{settings.host}:{settings.port}"
    if workers > 1 and settings.seed is None:
        seed = f"{workers} workers, seed: shared through the state backend (/__mock/health)"
    elif workers > 1:
        seed = f"{workers} workers, seed: {settings.seed}"
    else:
        seed = f"seed: {app.engine.seed}{'' if app.engine.fixed_seed else ' (random; --seed replays)'}"
    lines = [f"mockprovider {__version__} on {origin}  (profile: {app.engine.selector.active.profile.name}, "
             f"{seed}, time scale: {settings.time_scale:g}, state: {app.ctx.state.redacted})"]
    for name, urls in app.base_urls(origin).items():
        for how, url in urls.items():
            lines.append(f"  {name:<8} {how:<22} {url}")
    lines.append(f"  admin    {'':<22} {origin}/__mock/")
    lines.append(f"  live     {'page':<22} {origin}/__mock/ui")
    if settings.extra.get("toxiproxy_url"):
        lines.append(f"  network  {'driving Toxiproxy at':<22} {settings.extra['toxiproxy_url']}")
    if settings.extra.get("proxy"):
        lines.append(f"  proxy    toxiproxy API          http://{settings.extra['proxy_host']}:"
                     f"{settings.extra['proxy_port']}")
    if tls is not None:
        lines.append(f"  tls      {'HTTPS, same API':<22} https://{settings.host}:{settings.tls_port}")
        if tls.ca is not None:
            lines.append(f"  tls      {'CA to trust':<22} {tls.ca}  (SSL_CERT_FILE / REQUESTS_CA_BUNDLE / "
                         f"NODE_EXTRA_CA_CERTS)")
        else:
            lines.append(f"  tls      {'certificate':<22} {tls.cert}")
    return "\n".join(lines)


def setup_logging(level: str) -> None:
    """mockprovider's own lines (profile switches, reverts, network, webhooks) at ``level`` on stderr; uvicorn's
    startup chatter only at debug."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger("mockprovider")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (taken, not ours), checked before the banner, else None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def workers_problem(settings: Settings, workers: int) -> str | None:
    """Why ``--workers`` cannot be used with these settings, else None."""
    if workers <= 1:
        return None
    if settings.state == "memory":
        return (f"--workers {workers} needs --state redis://HOST:PORT/DB (or MOCKPROVIDER_STATE): each worker is "
                "its own process, and only Redis lets them share jobs, limits and profiles")
    if settings.extra.get("proxy"):
        return ("--proxy cannot run with --workers: the chaos proxy keeps its proxies and toxics in one process and "
                "binds each proxy's port; run `mockprovider proxy` beside the workers and give them "
                "--toxiproxy-url http://HOST:8474, which every worker drives")
    return None


def serve(settings: Settings, log_level: str = "info", workers: int = 1) -> int:
    from .app import create_app
    from .web.protocol import raise_fd_limit

    setup_logging(log_level)
    listeners = [(settings.host, settings.port)] + ([(settings.host, settings.tls_port)] if settings.tls else [])
    if settings.extra.get("proxy"):
        listeners.append((settings.extra.get("proxy_host", "127.0.0.1"), int(settings.extra.get("proxy_port", 8474))))
    for host, port in listeners:
        problem = port_problem(host, port)
        if problem is not None:
            print(f"mockprovider: {problem}", file=sys.stderr)
            return 2
    problem = state_problem(settings.state)
    if problem is not None:
        print(f"mockprovider: {problem}", file=sys.stderr)
        return 2
    limits = raise_fd_limit()

    try:
        app = create_app(settings)
    except ProfileError as exc:
        print(f"mockprovider: cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"mockprovider: unknown provider {exc}", file=sys.stderr)
        return 2
    tls = None
    if settings.tls:
        from .tls import tls_files

        try:
            tls = tls_files(settings.tls_cert, settings.tls_key, settings.tls_dir, settings.tls_names)
        except (ValueError, OSError) as exc:
            print(f"mockprovider: cannot start TLS: {exc}", file=sys.stderr)
            return 2
    if limits is not None and limits[1] > limits[0]:
        logging.getLogger("mockprovider").debug("open-file limit raised from %s to %s", *limits)
    uvicorn_level = "debug" if log_level == "debug" else "warning"
    if workers > 1:
        return serve_workers(app, settings, tls, workers, log_level, uvicorn_level)
    from uvicorn._compat import asyncio_run

    from .serving import GC_THRESHOLDS, serve_all, servers

    main_server, companions = servers(app, settings, tls, log_level=uvicorn_level, access_log=settings.access_log,
                                      timeout_keep_alive=75, backlog=4096)
    if settings.access_log:
        logging.getLogger("uvicorn.access").setLevel("INFO")  # uvicorn set it to its own level
    print(_banner(app, settings, tls), flush=True)
    gc.set_threshold(*GC_THRESHOLDS)
    # uvicorn's own loop choice: uvloop where installed
    asyncio_run(serve_all(main_server, companions), loop_factory=main_server.config.get_loop_factory())
    return 0


def serve_workers(app, settings: Settings, tls, workers: int, log_level: str, uvicorn_level: str) -> int:
    """The banner once, then uvicorn's supervisor over ``workers`` processes (mockprovider/serving.py); its
    own lines (a worker died, was replaced) are logged with ours."""
    from .serving import WorkerConfig, run_workers

    config = WorkerConfig(settings, workers, tls, log_level, log_level=uvicorn_level,
                          access_log=settings.access_log, timeout_keep_alive=75, backlog=4096)
    supervisor_log = logging.getLogger("uvicorn.error")
    supervisor_log.handlers[:] = logging.getLogger("mockprovider").handlers
    supervisor_log.setLevel(log_level.upper())
    supervisor_log.propagate = False
    print(_banner(app, settings, tls, workers), flush=True)
    return run_workers(config)


def profiles_command(args: argparse.Namespace) -> int:
    from .app import library_for

    library = library_for(Settings(profiles_dir=args.profiles_dir))
    if not args.files:
        status = 0
        for name in library.names():
            try:
                profile = library.load(name)
                print(f"{name:<16} {profile.description}")
            except ProfileError as exc:
                print(f"{name:<16} BROKEN: {exc}")
                status = 1
        return status
    status = 0
    for file in args.files:
        try:
            library.load_file(Path(file))
            print(f"{file}: ok")
        except (ProfileError, OSError) as exc:
            print(f"{file}: {exc}")
            status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "proxy":
        from mockprovider.proxy.cli import main as proxy_main

        return proxy_main(argv[1:])
    parser = argparse.ArgumentParser(prog="mockprovider", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mockprovider {__version__}")
    sub = parser.add_subparsers(dest="command")
    _serve_parser(sub)
    sub.add_parser("proxy", help="run the Toxiproxy-compatible chaos proxy alone (see: mockprovider proxy -h)")
    rp = sub.add_parser("report", help="print the client-behaviour report of a running server")
    rp.add_argument("--url", default=_env("URL", "http://127.0.0.1:8000"),
                    help="the server's base URL [MOCKPROVIDER_URL]")
    rp.add_argument("--admin-token", default=_env("ADMIN_TOKEN"), help="[MOCKPROVIDER_ADMIN_TOKEN]")
    rp.add_argument("--json", action="store_true", help="print the report's JSON instead of tables")
    pp = sub.add_parser("profiles", help="list profiles, or check profile files")
    pp.add_argument("files", nargs="*")
    pp.add_argument("--profiles-dir", type=Path, default=_env("PROFILES_DIR"))
    args = parser.parse_args(argv or ["serve"])
    if args.command in (None, "serve"):
        if args.command is None:
            args = parser.parse_args(["serve"])
        try:
            settings = settings_from(args)
        except ValueError as exc:
            parser.error(str(exc))
        problem = workers_problem(settings, args.workers)
        if problem is not None:
            parser.error(problem)
        return serve(settings, args.log_level, args.workers)
    if args.command == "report":
        from .insight.table import report_command

        return report_command(args.url, args.admin_token, args.json)
    return profiles_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
