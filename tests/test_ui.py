"""The live page in a real headless browser (Debian's chromium, driven by Playwright), behind an admin token,
watching runwayml SDK traffic and steering the server; plus its event stream's auth and the job census."""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import runwayml
from kling_client import Kling, Receiver
from runway_client import client, image_to_video
from system_packages import binary

from mockprovider.engine.clock import Clock
from mockprovider.engine.engine import Engine, JobRequest
from mockprovider.engine.profile import ProfileLibrary
from mockprovider.testing import MockServer, done, free_port
from mockprovider.ui import auth
from mockprovider.ui.census import LIVE_STATES, STATES, JobCensus

TOKEN = "ui-test-token"
SCREENSHOT = os.environ.get("MOCKPROVIDER_UI_SCREENSHOT")  # where to keep the page's picture, if anywhere


def chromium_binary() -> str:
    return binary(("chromium", "chromium-browser"), "chromium")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_binary()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, admin_token=TOKEN,
                    extra={"proxy": True, "proxy_port": free_port(), "ui_interval": 0.25,
                           "ui_stream_seconds": 1}) as running:  # the page resumes its stream every 1 s
        yield running


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            streaming = reply.headers.get("content-type", "").startswith("text/event-stream")
            return reply.status, dict(reply.headers), reply.read(200) if streaming else reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_page_shows_sdk_jobs_and_profile_switches_and_steers_the_server(server, browser, tmp_path):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # the page updates once a second; a loaded CI machine may lag behind
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server.url + "/__mock/ui")
    # The server has an admin token: the page asks for it once, then keeps it.
    expect(page.locator("#login-dialog")).to_be_visible()
    page.fill("#login-token", "wrong")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_contain_text("refused")
    page.fill("#login-token", TOKEN)
    page.click("#login-button")
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#profile-name")).to_have_text("happy")

    runway = client(server.url)
    tasks = [image_to_video(runway, prompt_text=f"shot {i}") for i in range(6)]
    for task in tasks:
        expect(page.locator(f'#jobs button[data-job="{task.id}"]')).to_be_visible()
    expect(page.locator('#idle-providers [data-idle="kling"]')).to_be_visible()  # no Kling traffic: one line
    runway_card = page.locator('.provider[data-provider="runway"]')
    expect(runway_card).to_contain_text("6 jobs")
    expect(runway_card.locator(".count.succeeded .n")).to_have_text("6", timeout=10_000)
    finished = runway.tasks.retrieve(tasks[0].id)
    assert finished.status == "SUCCEEDED"
    # The journal's newest requests include that poll, tied to its job.
    expect(page.locator(f'#requests button[data-job="{tasks[0].id}"]').first).to_be_visible()
    # The headline's cost is the report's: every job has finished, so nothing is an estimate.
    report = server.admin("GET", "/report").json()
    assert report["total_cost_usd"] > 0
    expect(page.locator("#headline .figure.cost .value")).to_have_text(f"${report['total_cost_usd']:,.2f}")

    # A Kling task with a callback URL: its webhooks show on its timeline, and on Kling's card.
    kling = Kling(server.url)
    with Receiver() as receiver:
        kling_task = kling.create("text2video", {"model_name": "kling-v2-6", "prompt": "a cat", "duration": "5",
                                                 "mode": "std", "callback_url": receiver.url})
        receiver.wait_for(lambda: len(receiver.accepted()) >= 3)
    kling.close()
    page.click(f'#jobs button[data-job="{kling_task["task_id"]}"]')
    dialog = page.locator("#job-dialog")
    expect(dialog.locator(".timeline .kind.webhook").first).to_be_visible()
    expect(dialog.locator(".timeline")).to_contain_text("delivered")
    dialog.locator("button[value=close]").click()
    expect(page.locator('.provider[data-provider="kling"]')).to_contain_text("delivered 3")

    # A switch through the admin API shows, with its TTL and what it reverts to, and the proxy it configures.
    proxy_port = free_port()
    network = {"proxies": [{"name": "provider-api", "listen": f"127.0.0.1:{proxy_port}",
                            "upstream": f"127.0.0.1:{server.settings.port}",
                            "toxics": [{"name": "slow", "type": "latency", "stream": "downstream",
                                        "attributes": {"latency": 250}}]}]}
    # TTLs are engine time, 100x faster than real time here: hours, so that none runs out during the test.
    tight = {"limits": {"concurrent_jobs": 2, "requests_per_minute": 600}, "network": network}
    reply = server.admin("PUT", "/profile", {"name": "tight-net", "ttl": "24h", "profile": tight})
    assert reply.status_code == 200, reply.content
    expect(page.locator("#profile-name")).to_have_text("tight-net")
    expect(page.locator("#profile-ttl")).to_contain_text("→ happy")
    proxies = page.locator("#proxies")
    expect(proxies).to_contain_text("provider-api")
    expect(proxies).to_contain_text("latency")

    # Jobs over the concurrency limit wait for a slot (Runway queues them): the limits panel shows it.
    waiting = [image_to_video(runway, prompt_text=f"busy {i}") for i in range(5)]
    expect(page.locator(f'#jobs button[data-job="{waiting[-1].id}"]')).to_be_visible()
    expect(runway_card.locator('[data-row="slots"]')).to_contain_text("/ 2")
    expect(runway_card.locator('[data-row="rpm"]')).to_contain_text("/ 600")

    # Injected faults show per provider, by kind.
    reply = server.admin("PUT", "/profile", {"name": "failing-polls", "ttl": "1h", "profile": {
        "extends": "happy", "faults": {"status": [{"kind": "error", "status": 503, "rate": 1.0}]}}})
    assert reply.status_code == 200, reply.content
    with pytest.raises(runwayml.APIStatusError):
        runway.tasks.retrieve(tasks[1].id)
    expect(runway_card.locator('[data-row="faults"]')).to_contain_text("error 1")
    assert server.admin("DELETE", "/profile").status_code == 200  # back to happy, the startup profile
    assert server.admin("PUT", "/profile", {"name": "tight-net", "ttl": "24h", "profile": tight}).status_code == 200

    # A job opens to its plan and its timeline: its state changes and the requests that touched it.
    page.click(f'#jobs button[data-job="{tasks[0].id}"]')
    expect(dialog).to_be_visible()
    expect(dialog.locator(".timeline")).to_contain_text("succeeded")
    expect(dialog.locator(".plan")).to_contain_text("gen4_turbo")
    expect(dialog.locator(".timeline .kind.request").first).to_be_visible()
    expect(dialog.locator(".timeline")).to_contain_text("GET /v1/tasks/")
    dialog.locator("button[value=close]").click()

    # The page's own control switches the profile on the server.
    page.select_option("#switch-name", "degraded")
    page.fill("#switch-ttl", "10h")
    page.click("#switch-button")
    expect(page.locator("#toast")).to_contain_text("degraded is active")
    expect(page.locator("#profile-name")).to_have_text("degraded")
    expect(page.locator("#profile-ttl")).to_contain_text("→ tight-net")
    active = server.admin("GET", "/profile").json()
    assert active["name"] == "degraded" and active["reverts_to"] == "tight-net"

    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "ui.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # A bad TTL is refused with the admin API's own message, and nothing changes.
    page.fill("#switch-ttl", "soon")
    page.click("#switch-button")
    expect(page.locator("#toast")).to_contain_text("ttl")
    assert server.admin("GET", "/profile").json()["name"] == "degraded"

    # The page resumes its event stream (every 1 s here), with its ticket cookie: wait for two more resumptions
    # rather than count on how long the steps above took.
    opened = server.call(lambda: server.app.live_page.streams)
    deadline = time.monotonic() + 20
    while server.call(lambda: server.app.live_page.streams) < opened + 2:
        assert time.monotonic() < deadline, "the page did not resume its event stream"
        time.sleep(0.1)
    expect(page.locator("#profile-name")).to_have_text("degraded")  # and still shows live state

    # Reset through the page: jobs are forgotten and the default profile returns.
    page.once("dialog", lambda d: d.accept())
    page.click("#reset-button")
    expect(page.locator("#profile-name")).to_have_text("happy")
    expect(page.locator("#jobs")).to_contain_text("no jobs yet")
    assert server.admin("GET", "/jobs").json()["total"] == 0
    page.close()


def test_the_event_stream_needs_the_token_or_a_ticket(server):
    events = server.url + "/__mock/ui/events"
    stream = {"accept": "text/event-stream"}
    assert get(events, stream)[0] == 401
    assert get(server.url + "/__mock/ui/state")[0] == 401
    assert get(server.url + "/__mock/ui")[0] == 200  # the page itself holds no data
    assert get(events + "?token=" + TOKEN, stream)[0] == 401  # never a token in a URL

    status, headers, _ = get(events, {"x-mockprovider-admin-token": TOKEN, **stream})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    status, _, body = get(events, {"x-mockprovider-admin-token": TOKEN})
    assert status == 406 and b"text/event-stream" in body

    request = urllib.request.Request(server.url + "/__mock/ui/session", method="POST",
                                     headers={"x-mockprovider-admin-token": TOKEN})
    with urllib.request.urlopen(request, timeout=5) as reply:
        cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/__mock/ui" in cookie
    ticket = cookie.split(";")[0].split("=", 1)[1]
    status, _, body = get(server.url + "/__mock/ui/state", {"cookie": f"{auth.COOKIE}={ticket}"})
    assert status == 200 and "providers" in json.loads(body)
    forged = ticket[:-1] + ("0" if ticket[-1] != "0" else "1")
    assert get(events, {"cookie": f"{auth.COOKIE}={forged}", **stream})[0] == 401
    expired = auth.issue(TOKEN, now=0)
    assert get(events, {"cookie": f"{auth.COOKIE}={expired}", **stream})[0] == 401
    assert not auth.valid("another-token", auth.issue(TOKEN))
    # The ticket opens only the page's read-only routes, never the admin API.
    assert get(server.url + "/__mock/jobs", {"cookie": f"{auth.COOKIE}={ticket}"})[0] == 401


def test_the_census_matches_a_full_count_through_cancels_and_queues():
    clock = Clock()
    library = ProfileLibrary([])
    profile = library.load_inline({"limits": {"concurrent_jobs": 3},
                                   "jobs": {"queue": {"uniform": {"min": 0, "max": 20}},
                                            "run": {"uniform": {"min": 5, "max": 60}},
                                            "failure_rate": {"internal": 0.2}, "stuck_rate": 0.05}}, "census")
    engine = Engine(library=library, profile=profile, seed=7, clock=clock)
    def weigh(job) -> float:  # as the planned charge does, a cancel changes a job's weight
        return 2.0 if job.cancelled_at is None else 0.5

    census = JobCensus(engine.store, sweep=50, weigh=weigh)
    rng = random.Random(3)
    jobs = []
    for step in range(400):
        for _ in range(rng.randrange(3)):
            request = JobRequest(provider=rng.choice(["a", "b"]), model="m", account=rng.choice(["k1", "k2"]),
                                 kind="video", make_id=lambda r: f"job-{r.getrandbits(48):x}")
            job = done(engine.submit(request, engine.selector.for_key(request.account), queue_when_busy=True))
            jobs.append(job)
        if jobs and rng.random() < 0.1:
            done(engine.cancel(rng.choice(jobs)))
        clock.advance(rng.uniform(0.0, 3.0))
        census.update(clock.now(), engine.stats.created if step % 3 else None)
        if step % 40 == 39:
            # A cancel shows within a sweep of the live jobs; let the sweep come round before comparing.
            for _ in range(census.live // census.sweep + 1):
                census.update(clock.now())
            now = clock.now()
            for provider in ("a", "b"):
                truth = Counter(job.state(now)[0] for job in jobs if job.provider == provider)
                assert census.by_state(provider) == {s: truth.get(s, 0) for s in STATES}, step
            live = [job for job in jobs if job.state(now)[0] in LIVE_STATES]
            assert census.weight == pytest.approx(sum(weigh(job) for job in live)), step
    assert sum(census.created.values()) == len(jobs)
    done(engine.reset())
    census.clear()
    assert census.update(clock.now()) == []


def first_event(url: str, headers: dict) -> tuple[str, dict]:
    request = urllib.request.Request(url, headers={"accept": "text/event-stream", **headers})
    with urllib.request.urlopen(request, timeout=5) as reply:
        event, data = None, None
        for line in reply:
            if line.startswith(b"event: "):
                event = line[7:].strip().decode()
            elif line.startswith(b"data: ") and event:
                data = json.loads(line[6:])
                return event, data
    raise AssertionError("no event")


def test_a_resumed_stream_sends_only_the_history_it_missed_and_viewers_are_bounded(server_factory):
    server = server_factory(profile="happy", extra={"ui_interval": 0.05, "ui_max_viewers": 2})
    events = server.url + "/__mock/ui/events"
    deadline = time.monotonic() + 10
    while (state := json.loads(get(server.url + "/__mock/ui/state")[2]))["seq"] < 3:  # a few ticks of history
        assert time.monotonic() < deadline
        time.sleep(0.05)
    event, history = first_event(events, {})
    assert event == "history" and len(history["points"]) >= 1
    newest = history["points"][-1]["seq"]
    assert newest >= state["seq"]
    boot = server.app.live_page.boot
    event, resumed = first_event(events, {"last-event-id": f"{boot}.{newest - 2}"})
    assert event == "history" and resumed["resumed"]
    assert [p["seq"] for p in resumed["points"]][:2] == [newest - 1, newest]
    # An id from another run of the server (a restart) gets the whole history again.
    event, fresh = first_event(events, {"last-event-id": f"0000.{newest - 2}"})
    assert not fresh["resumed"] and fresh["points"][0]["seq"] <= 2

    def viewers() -> int:
        return server.call(lambda: len(server.app.live_page.viewers))

    while viewers():  # the streams above end once the server sees their clients go
        assert time.monotonic() < deadline + 10
        time.sleep(0.02)
    request = urllib.request.Request(events, headers={"accept": "text/event-stream"})
    with urllib.request.urlopen(request, timeout=5) as first, urllib.request.urlopen(request, timeout=5) as second:
        assert first.readline().startswith(b"retry:") and second.readline().startswith(b"retry:")
        assert viewers() == 2
        status, _, body = get(events, {"accept": "text/event-stream"})
        assert status == 503 and b"viewers" in body


def test_limit_use_counts_the_slots_a_provider_holds_in_windows_of_the_account():
    """Jobs counted per model (JobRequest.limit_scope, as Wan's): the page shows their slots taken, each window
    with its own limit, and the account's own scope adds no slots of its own beside them."""
    from mockprovider.ui.views import limit_use

    clock = Clock()
    library = ProfileLibrary([])
    profile = library.load_inline({"limits": {"concurrent_jobs": 2, "requests_per_minute": 100},
                                   "jobs": {"queue": "0s", "run": "1h"}}, "windows")
    engine = Engine(library=library, profile=profile, seed=7, clock=clock)
    for model, count in (("m1", 3), ("m2", 1)):
        for _ in range(count):
            request = JobRequest(provider="p", model=model, account="k1", kind="video", limit_scope=model,
                                 make_id=lambda r: f"job-{r.getrandbits(48):x}")
            done(engine.submit(request, engine.selector.for_key("k1"), queue_when_busy=True))
    done(engine.take_request("p", "k1", engine.selector.for_key("k1")))
    use = limit_use(engine, ["p"], clock.now())["p"]
    assert (use["slots_taken"], use["slots_total"]) == (3, 4)  # m1: 2 of 2 (one waits), m2: 1 of 2
    assert (use["rpm_used"], use["rpm_limit"]) == (1, 100)  # the account's window
    assert use["scopes"] == 1  # one key: its per-model windows are not keys of their own
    windows = {b.get("window"): b for b in use["busiest"]}
    assert windows["m1"]["slots_taken"] == 2 and windows["m2"]["slots_taken"] == 1
    assert windows[None]["slots_total"] is None and windows[None]["rpm_used"] == 1
