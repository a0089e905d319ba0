"""Make docs/ui.png: the live page during a small mixed load (Runway through its SDK, Kling and the Veo Gemini
API over REST), with a concurrency limit, a per-key profile, a TTL'd switch and the embedded chaos proxy.
Run by hand: ``python docs/ui_screenshot.py [OUT.png]`` (needs Debian's chromium and the dev extras)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx
import jwt
from playwright.sync_api import sync_playwright
from runwayml import RunwayML

from mockprovider.testing import MockServer, free_port

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("ui.png"))
RUN_SECONDS = 25


def kling_token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": "ak_test", "exp": now + 1800, "nbf": now - 5}, "sk_test", algorithm="HS256")


def runway_worker(url: str, key: str, stop: threading.Event) -> None:
    client = RunwayML(api_key=key, base_url=url, max_retries=0)
    while not stop.is_set():
        try:
            task = client.image_to_video.create(model="gen4_turbo", prompt_image="https://example.com/cat.png",
                                                prompt_text="a cat surfing", ratio="1280:720", duration=5)
            for _ in range(20):
                if stop.wait(0.4) or client.tasks.retrieve(task.id).status in ("SUCCEEDED", "FAILED"):
                    break
        except Exception:
            stop.wait(0.3)


def kling_worker(url: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {kling_token()}"}) as http:
        while not stop.is_set():
            reply = http.post("/v1/videos/text2video", json={"model_name": "kling-v2-6", "prompt": "a cat",
                                                             "duration": "5", "mode": "std"})
            task = reply.json().get("data") or {}
            for _ in range(20):
                if stop.wait(0.5) or "task_id" not in task:
                    break
                state = http.get(f"/v1/videos/text2video/{task['task_id']}").json().get("data", {})
                if state.get("task_status") in ("succeed", "failed"):
                    break


def veo_worker(url: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers={"x-goog-api-key": "any-key"}) as http:
        while not stop.is_set():
            op = http.post("/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                           json={"instances": [{"prompt": "a dog on a beach"}],
                                 "parameters": {"durationSeconds": 8}}).json()
            for _ in range(20):
                if stop.wait(0.5) or "name" not in op:
                    break
                if http.get(f"/v1beta/{op['name']}").json().get("done"):
                    break


def main() -> None:
    with MockServer(profile="realistic", time_scale=0.05, extra={"proxy": True, "proxy_port": free_port()}) as server:
        proxy_port = free_port()
        network = {"proxies": [{"name": "provider-api", "listen": f"127.0.0.1:{proxy_port}",
                                "upstream": f"127.0.0.1:{server.settings.port}",
                                "toxics": [{"name": "slow", "type": "latency", "stream": "downstream",
                                            "attributes": {"latency": 120, "jitter": 40}}]}]}
        server.admin("PUT", "/profile", {"name": "spike-test", "profile": {
            "extends": "realistic", "description": "realistic timings, 4 concurrent jobs per key, a slow network",
            "limits": {"concurrent_jobs": 4, "requests_per_minute": 600}, "network": network}})
        server.admin("PUT", "/keys/key_tenant_b_0123456789/profile", {"name": "rate-limited"})
        stop = threading.Event()
        workers = [threading.Thread(target=runway_worker, args=(server.url, f"key_tenant_a_{i:02d}_abcdef", stop))
                   for i in range(3)]
        workers.append(threading.Thread(target=runway_worker, args=(server.url, "key_tenant_b_0123456789", stop)))
        workers += [threading.Thread(target=kling_worker, args=(server.url, stop)) for _ in range(3)]
        time.sleep(0.5)  # the profile's network section sets up the proxy; Veo's callers go through it
        via_proxy = f"http://127.0.0.1:{proxy_port}"
        workers += [threading.Thread(target=veo_worker, args=(via_proxy, stop)) for _ in range(3)]
        for worker in workers:
            worker.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(server.url + "/__mock/ui")
            time.sleep(RUN_SECONDS - 6)
            server.admin("PUT", "/profile", {"name": "bad-minute", "ttl": "10m", "profile": {
                "extends": "degraded", "description": "the degraded profile behind the same slow proxy",
                "limits": {"concurrent_jobs": 4}, "network": network}})
            time.sleep(6)
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
        stop.set()
        for worker in workers:
            worker.join(10)
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
