"""runwayml 5.24.0's own types as the source of truth: every generation resource's models, required fields and enums
agree with the mock's catalog, and a body built from the SDK's required fields alone is accepted by every model,
created through the resource's own ``create`` (real HTTP, module-scoped server)."""

from __future__ import annotations

import importlib
import typing
from typing import Annotated, Literal, get_args, get_origin

import pytest
import runwayml
from runway_client import client
from typing_extensions import NotRequired, Required, get_type_hints

from mockprovider.dialects.runway.catalog import FIELDS
from mockprovider.testing import MockServer

RESOURCES = ("image_to_video", "text_to_video", "video_to_video", "video_upscale", "character_performance",
             "video_to_hdr", "text_to_image", "image_upscale", "sound_effect", "text_to_speech", "speech_to_speech",
             "voice_isolation", "voice_dubbing", "video_to_audio", "avatar_videos")
MEDIA = {"video": "https://example.com/in.mp4", "audio": "https://example.com/in.mp3",
         "media": "https://example.com/in.mp3", "image": "https://example.com/cat.png",
         "uri": "https://example.com/cat.png"}


@pytest.fixture(scope="module")
def server():
    with MockServer(profile="happy", time_scale=0.01, seed=12) as s:
        yield s


def variants(resource: str) -> list[type]:
    name = "avatar_video" if resource == "avatar_videos" else resource
    module = importlib.import_module(f"runwayml.types.{name}_create_params")
    union = next(getattr(module, n) for n in module.__all__ if n.endswith("CreateParams"))
    return list(get_args(union)) or [union]


def unwrap(hint: typing.Any) -> tuple[typing.Any, bool, str | None]:
    """(the bare type, whether Required[], the wire alias) of a TypedDict field's hint."""
    required, alias = False, None
    while True:
        origin = get_origin(hint)
        if origin is Annotated:
            alias = next((m.alias for m in hint.__metadata__ if getattr(m, "alias", None)), alias)
            hint = get_args(hint)[0]
        elif origin in (Required, NotRequired):
            required = origin is Required
            hint = get_args(hint)[0]
        else:
            return hint, required, alias


def literal_values(hint: typing.Any) -> list | None:
    if get_origin(hint) is Literal:
        return list(get_args(hint))
    return None


def sdk_fields(variant: type) -> dict[str, tuple[str, typing.Any, bool]]:
    """wire name -> (python name, bare type, required)."""
    out = {}
    for name, hint in get_type_hints(variant, include_extras=True).items():
        bare, required, alias = unwrap(hint)
        out[alias or name] = (name, bare, required)
    return out


def sample(name: str, hint: typing.Any) -> typing.Any:
    """A plausible value for a required field, from its SDK type alone."""
    hint = unwrap(hint)[0]
    origin = get_origin(hint)
    if origin is Literal:
        return get_args(hint)[0]
    if origin is typing.Union:
        return sample(name, next(a for a in get_args(hint) if a is not type(None)))
    if origin is not None and getattr(origin, "__name__", "") in ("Iterable", "list", "Sequence"):
        return [sample(name, get_args(hint)[0])]
    if isinstance(hint, type) and issubclass(hint, dict):
        return {py: sample(py, bare) for py, bare, req in sdk_fields(hint).values() if req}
    if hint is str:
        lowered = name.lower()
        if "lang" in lowered:
            return "es"
        return next((url for word, url in MEDIA.items() if word in lowered), "a calm lake at dawn")
    if hint in (int, float):
        return 5 if "duration" in name else 1
    return False


CASES = [(resource, variant) for resource in RESOURCES for variant in variants(resource)]


def model_of(variant: type) -> str:
    return get_args(unwrap(get_type_hints(variant, include_extras=True)["model"])[0])[0]


def test_catalog_matches_the_sdks_fields_required_flags_and_enums():
    for resource, variant in CASES:
        model = model_of(variant)
        ours = FIELDS[resource][model]
        theirs = sdk_fields(variant)
        assert set(ours) == set(theirs) - {"model"}, (resource, model)
        for wire, (_, bare, required) in theirs.items():
            if wire == "model":
                continue
            assert ours[wire][0] == required, (resource, model, wire)
            values = literal_values(bare)
            if values is not None:
                assert set(ours[wire][1]["enum"]) == set(values), (resource, model, wire)
    assert {r: len(FIELDS[r]) for r in ("image_to_video", "text_to_video")} == {"image_to_video": 25,
                                                                                 "text_to_video": 24}


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_model_takes_a_body_of_the_sdks_required_fields_alone(server, resource):
    c = client(server.url)
    tier = c.organization.retrieve().tier.models
    for variant in variants(resource):
        assert resource == "avatar_videos" or model_of(variant) in tier, (resource, model_of(variant))
        body = {py: sample(py, bare) for py, bare, required in sdk_fields(variant).values() if required}
        task = getattr(c, resource).create(**body)
        assert task.id, (resource, body["model"])
        cost = getattr(task, "estimated_cost", None)
        assert cost is None or cost.credits > 0, (resource, body["model"])


def test_seedream_lite_takes_free_form_sizes_within_its_pixel_bounds(server):
    c = client(server.url)
    task = c.text_to_image.create(model="seedream5_lite", prompt_text="a poster", ratio="2000:2000")
    assert task.estimated_cost.credits > 0
    # 10k px, 25M px: outside 3,686,400-16,777,216; digits int() refuses ("²" is a digit to str.isdigit) or
    # too many of them (Python's 4,300-digit limit) are refused as sizes too, never a 500
    for ratio in ("100:100", "5000:5000", "big", "2000x2000", "²:²", "9" * 5000 + ":1", "2000:2000:1"):
        with pytest.raises(runwayml.BadRequestError) as caught:
            c.text_to_image.create(model="seedream5_lite", prompt_text="a poster", ratio=ratio)
        assert caught.value.body["issues"][0]["path"] == ["ratio"], ratio


def test_a_fractional_rate_is_estimated_charged_and_debited_in_whole_credits(server):
    c = client(server.url, key="key_" + "5" * 128)
    before = c.organization.retrieve().credit_balance
    task = c.text_to_video.create(model="grok_imagine_1_5", prompt_text="x", duration=5)  # 16.25 credits/s
    done = task.wait_for_task_output(timeout=30)
    assert task.estimated_cost.credits == done.cost.credits == 82
    assert before - c.organization.retrieve().credit_balance == 82
