"""The official runwayml SDK, pointed at a mock server, as a user would."""

from __future__ import annotations

from runwayml import RunwayML

KEY = "key_" + "0123456789abcdef" * 8


def client(base_url: str, key: str = KEY, **kwargs) -> RunwayML:
    kwargs.setdefault("max_retries", 0)
    return RunwayML(api_key=key, base_url=base_url, **kwargs)


def image_to_video(c: RunwayML, **overrides):
    params = dict(model="gen4_turbo", prompt_image="https://example.com/cat.png", prompt_text="a cat",
                  ratio="1280:720", duration=5)
    params.update(overrides)
    return c.image_to_video.create(**params)
