"""Kling's task families beyond text2video and image2video, as the 2025-12 and 2026-06 doc copies describe them:
omni-video, multi-image2video, video-extend, advanced-lip-sync (after the synchronous identify-face), effects and
images/generations. Each validator returns the same kind of parameters the dialect submits, or an ``Invalid``.

Units follow the reference's price table (per-second models, per-clip models, image units, lip-sync 0.5 per 5 s);
effect templates are UNCONFIRMED there and cost the mock's 2 units per 5 s (``# mock``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...engine.rng import uuid4_text
from ...media.render import VideoSpec
from ...media.stills import ImageSpec
from ...web.values import brief, http_url, parse_int
from . import images
from .models import MAX_CALLBACK_URL, MAX_EXTERNAL_ID, MAX_PROMPT, MAX_SHOT_PROMPT, RATIOS, Invalid, Reject

OMNI = "omni-video"
MULTI_IMAGE = "multi-image2video"
EXTEND = "video-extend"
LIP_SYNC = "advanced-lip-sync"
EFFECTS = "effects"
IMAGES = "generations"  # under /v1/images/
FAMILIES = (OMNI, MULTI_IMAGE, EXTEND, LIP_SYNC, EFFECTS, IMAGES)
PATHS = {kind: f"/v1/videos/{kind}" for kind in FAMILIES if kind != IMAGES} | {IMAGES: "/v1/images/generations"}

OMNI_MODELS = {"kling-video-o1": 10, "kling-v3-omni": 15}  # model -> longest duration
EXTENDABLE = ("kling-v1", "kling-v1-5", "kling-v1-6")
EXTEND_SECONDS = 5.0  # each extension adds 4-5 s [DOC]; the mock adds 5
MAX_EXTENDED = 180.0
DUAL_SCENES = ("hug", "kiss", "heart_gesture", "fight")
# a sample of the 148 single-image scenes in the 2025-12 doc copy
SINGLE_SCENES = ("bullet_time", "pet_lion", "squish", "expansion", "firework_2026", "balloon_flyaway", "melting",
                 "dizzydizzy", "jelly_press", "paper_fall", "fuzzyfuzzy", "bloombloom", "rocketrocket", "pinch",
                 "flower_receive", "pet_moto_rider", "pet_delivery", "inflate", "crush", "cake_explosion")
IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1", "kling-v3")
IMAGE_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
IMAGE_UNITS = {"kling-v1": 1, "kling-v1-5": 4, "kling-v2": 4, "kling-v2-new": 4, "kling-v2-1": 4, "kling-v3": 8}
SESSION_TTL = 24 * 3600.0
MAX_SESSIONS = 10_000
MAX_SOUND_BYTES = 5 * 2**20


@dataclass(frozen=True)
class FamilyModel:
    name: str
    fps: int = 24


@dataclass
class FamilyParams:
    """What the dialect needs to submit a task of a newer family (the same names ``models.Params`` has)."""

    model: FamilyModel
    kind: str
    mode: str
    output: Any  # VideoSpec | ImageSpec
    units: float
    sound: bool = False
    watermark: bool = False
    callback_url: str | None = None
    external_task_id: str | None = None
    count: int = 1  # outputs (images: n)
    data: dict[str, Any] = field(default_factory=dict)  # extra task data (parent video, ...)

    @property
    def duration(self) -> str:
        return f"{self.output.duration:g}" if isinstance(self.output, VideoSpec) else "0"

    @property
    def size(self) -> tuple[int, int]:
        return self.output.width, self.output.height


@dataclass
class Session:
    account: str
    created: float
    duration_ms: int
    width: int
    height: int
    faces: tuple[str, ...]


class FaceSessions:
    """identify-face sessions (24 h), bounded, in a state table (a session made on one replica is used on
    another)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    async def clear(self) -> None:
        await self.table.clear()

    async def add_new(self, rng: Any, session: Session) -> str:
        """Store ``session`` under a fresh id (a seeded UUID, drawn again if another replica has it)."""
        session_id, _ = await self.table.add_new(uuid4_text, rng, lambda _: [
            session.account, session.created, session.duration_ms, session.width, session.height,
            list(session.faces)])
        return session_id

    async def get(self, session_id: Any, account: str, now: float) -> Session | None:
        if not isinstance(session_id, str) or not session_id or len(session_id) > 64:
            return None
        found = await self.table.get(session_id)
        if found is None:
            return None
        session = Session(found[0], found[1], found[2], found[3], found[4], tuple(found[5]))
        if session.account != account or now - session.created > SESSION_TTL:
            return None
        return session


# (job id) -> (model name, mode, duration seconds, width, height, kind, state) of one of our finished videos
VideoLookup = Callable[[str], Any]


def _string(body: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Reject(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise Reject(f"{name} must be a string")
    if len(value) > limit:
        raise Reject(f"{name} is too long: at most {limit} characters")
    return value


def _enum(body: dict, name: str, allowed: tuple, default: Any) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or value not in allowed:
        raise Reject(f"{name} value {brief(value)} is invalid; expected one of {', '.join(map(str, allowed))}")
    return value


def _number(body: dict, name: str, low: float, high: float, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise Reject(f"{name} must be a number between {low:g} and {high:g}")
    return float(value)


def _common(body: dict) -> tuple[bool, str | None, str | None]:
    watermark = body.get("watermark_info")
    enabled = False
    if watermark is not None:
        if not isinstance(watermark, dict) or not isinstance(watermark.get("enabled", False), bool):
            raise Reject("watermark_info must be {\"enabled\": boolean}")
        enabled = bool(watermark.get("enabled"))
    callback = _string(body, "callback_url", MAX_CALLBACK_URL)
    if callback is not None and http_url(callback) is None:
        raise Reject("callback_url must be an http(s) URL")
    external = _string(body, "external_task_id", MAX_EXTERNAL_ID)
    return enabled, callback or None, external or None


def _image(value: Any, name: str) -> tuple[int, int] | None:
    found = images.check(value, name)
    if isinstance(found, str):
        raise Reject(found)
    return found


def _video_url(value: Any, name: str) -> None:
    if not isinstance(value, str) or http_url(value) is None:
        raise Reject(f"{name} must be an http(s) URL of an mp4 or mov video")


def _size(ratio: str, height: int) -> tuple[int, int]:
    a, b = (int(x) for x in ratio.split(":"))
    if a >= b:
        return (height * a // b) & ~1, height
    return height, (height * b // a) & ~1


def _duration(body: dict, low: int, high: int, default: str = "5") -> int:
    value = body.get("duration", default)
    if not isinstance(value, str):
        raise Reject('duration must be a string, e.g. "5"')
    seconds = parse_int(value, low, high)
    if seconds is None:
        raise Reject(f"duration value {brief(value)} is invalid; expected a string from \"{low}\" to \"{high}\"")
    return seconds


def _shots(body: dict, duration: int) -> bool:
    multi = body.get("multi_shot")
    if multi is None or multi is False:
        return False
    if multi is not True:
        raise Reject("multi_shot must be a boolean")
    shot_type = _enum(body, "shot_type", ("customize", "intelligence"), None)
    if shot_type is None:
        raise Reject("shot_type is required when multi_shot is true")
    if shot_type != "customize":
        return False
    shots = body.get("multi_prompt")
    if not isinstance(shots, list) or not 1 <= len(shots) <= 6:
        raise Reject("multi_prompt must be an array of 1 to 6 shots when shot_type is customize")
    total = 0
    for i, shot in enumerate(shots):
        if not isinstance(shot, dict):
            raise Reject(f"multi_prompt[{i}] must be an object")
        _string(shot, "prompt", MAX_SHOT_PROMPT, required=True)
        length = parse_int(shot.get("duration"), 1, 15)
        if length is None:
            raise Reject(f"multi_prompt[{i}].duration must be a string of whole seconds")
        total += length
    if total != duration:
        raise Reject(f"multi_prompt durations add up to {total}s but duration is {duration}s")
    return True


def omni(body: dict) -> FamilyParams:
    name = _enum(body, "model_name", tuple(OMNI_MODELS), "kling-video-o1")
    mode = _enum(body, "mode", ("std", "pro"), "pro")  # pro is omni-video's default [DOC]
    longest = OMNI_MODELS[name]
    videos = body.get("video_list")
    refer = None
    if videos is not None:
        if not isinstance(videos, list) or len(videos) > 1:
            raise Reject("video_list must be an array of at most 1 video")
        for i, item in enumerate(videos):
            if not isinstance(item, dict):
                raise Reject(f"video_list[{i}] must be an object")
            _video_url(item.get("video_url"), f"video_list[{i}].video_url")
            refer = _enum(item, "refer_type", ("base", "feature"), "base")
            _enum(item, "keep_original_sound", ("yes", "no"), "yes")
        if videos and name == "kling-v3-omni":
            longest = 10  # reference video: 3-10 s [DOC]
    duration = _duration(body, 3, longest)
    customized = _shots(body, duration)
    prompt = _string(body, "prompt", MAX_PROMPT, required=not customized)
    if prompt is not None and not customized and not prompt.strip():
        raise Reject("prompt must not be empty")
    frames = body.get("image_list")
    first_frame = False
    count = 0
    if frames is not None:
        if not isinstance(frames, list):
            raise Reject("image_list must be an array")
        kinds = []
        for i, item in enumerate(frames):
            if not isinstance(item, dict):
                raise Reject(f"image_list[{i}] must be an object")
            _image(item.get("image_url"), f"image_list[{i}].image_url")
            kinds.append(_enum(item, "type", ("first_frame", "end_frame"), None))
        count = len(frames)
        if "end_frame" in kinds and "first_frame" not in kinds:
            raise Reject("image_list: an end_frame needs a first_frame")
        first_frame = "first_frame" in kinds
        if first_frame and body.get("multi_shot") is True:
            raise Reject("multi_shot does not allow first or end frames")
        if first_frame and refer == "base":
            raise Reject("a base (edited) video cannot be combined with first or end frames")
        if first_frame and name == "kling-video-o1" and len(frames) > 2:
            raise Reject("kling-video-o1 cannot set start/end frames with more than two images")
    elements = body.get("element_list")
    if elements is not None:
        if not isinstance(elements, list) or not all(isinstance(e, dict) and isinstance(e.get("element_id"), int)
                                                     and not isinstance(e.get("element_id"), bool)
                                                     for e in elements):
            raise Reject("element_list must be an array of {element_id: integer}")
        count += len(elements)
    if count > (4 if videos else 7):
        raise Reject(f"image_list and element_list may hold at most {4 if videos else 7} items together"
                     f"{' with a reference video' if videos else ''}")
    sound = _enum(body, "sound", ("on", "off"), "off") == "on"
    if sound and videos:
        raise Reject("sound must be off when a reference video is given")
    ratio = body.get("aspect_ratio")
    if ratio is None and not first_frame and refer != "base":
        raise Reject("aspect_ratio is required unless a first frame or a base video is given")
    ratio = _enum(body, "aspect_ratio", RATIOS, "16:9")
    watermark, callback, external = _common(body)
    width, height = _size(ratio, 1080 if mode == "pro" else 720)
    has_video = bool(videos)
    rate = {("kling-video-o1", "std"): (0.6, 0.9), ("kling-video-o1", "pro"): (0.8, 1.2),
            ("kling-v3-omni", "std"): (0.6, 0.9), ("kling-v3-omni", "pro"): (0.8, 1.2)}[(name, mode)]
    per_second = rate[1] if has_video else rate[0]
    if name == "kling-v3-omni" and sound and not has_video:
        per_second = 0.8 if mode == "std" else 1.0
    return FamilyParams(FamilyModel(name), OMNI, mode, VideoSpec(width, height, float(duration), 24, sound),
                        round(per_second * duration, 2), sound, watermark, callback, external)


def multi_image(body: dict) -> FamilyParams:
    name = _enum(body, "model_name", ("kling-v1-6",), "kling-v1-6")
    frames = body.get("image_list")
    if not isinstance(frames, list) or not 1 <= len(frames) <= 4:
        raise Reject("image_list is required: an array of 1 to 4 {image}")
    for i, item in enumerate(frames):
        if not isinstance(item, dict):
            raise Reject(f"image_list[{i}] must be an object")
        _image(item.get("image"), f"image_list[{i}].image")
    prompt = _string(body, "prompt", MAX_PROMPT, required=True)
    if not prompt.strip():
        raise Reject("prompt must not be empty")
    _string(body, "negative_prompt", MAX_PROMPT)
    mode = _enum(body, "mode", ("std", "pro"), "std")
    duration = int(_enum(body, "duration", ("5", "10"), "5"))
    ratio = _enum(body, "aspect_ratio", RATIOS, "16:9")
    watermark, callback, external = _common(body)
    width, height = _size(ratio, 1080 if mode == "pro" else 720)
    units = (2.0 if mode == "std" else 3.5) * duration / 5
    return FamilyParams(FamilyModel(name), MULTI_IMAGE, mode, VideoSpec(width, height, float(duration), 24, False),
                        units, False, watermark, callback, external)


def extend(body: dict, source: Any) -> FamilyParams:
    """``source``: the finished task the ``video_id`` names (found by the dialect), or None."""
    video_id = body.get("video_id")
    if video_id is None:
        raise Reject("video_id is required")
    if not isinstance(video_id, str) or not video_id:
        raise Reject("video_id must be a string")
    if source is None:
        raise Reject(f"video_id {brief(video_id)} does not name a finished video of this account", 1203)
    job, mode = source
    if job.model not in EXTENDABLE:
        raise Reject(f"videos of {job.model} cannot be extended; only kling-v1, kling-v1-5 and kling-v1-6")
    total = job.output.duration + EXTEND_SECONDS
    if total > MAX_EXTENDED:
        raise Reject("an extended video may not exceed 3 minutes")
    prompt = _string(body, "prompt", MAX_PROMPT)
    del prompt
    _string(body, "negative_prompt", MAX_PROMPT)
    _number(body, "cfg_scale", 0, 1, 0.5)
    watermark, callback, external = _common(body)
    units = {"kling-v1": {"std": 1.0, "pro": 3.5}}.get(job.model, {"std": 2.0, "pro": 3.5}).get(mode, 2.0)
    spec = VideoSpec(job.output.width, job.output.height, round(total, 3), job.output.fps, job.output.audio)
    return FamilyParams(FamilyModel(job.model, job.output.fps), EXTEND, mode, spec, units, False, watermark,
                        callback, external, data={"p": job.id})


def _sound_file(value: Any) -> None:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        if http_url(value) is None:
            raise Reject("face_choose[0].sound_file is not a valid URL")
        return
    if not isinstance(value, str) or not value:
        raise Reject("face_choose[0].sound_file must be a URL or raw base64 of an mp3/wav/m4a/aac file")
    if len(value) > MAX_SOUND_BYTES * 4 // 3 + 4:
        raise Reject("face_choose[0].sound_file is larger than 5MB")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Reject("face_choose[0].sound_file is neither a URL nor valid base64") from None


def lip_sync(body: dict, session: Session | None) -> FamilyParams:
    if body.get("session_id") is None:
        raise Reject("session_id is required")
    if session is None:
        raise Reject("session_id is invalid or expired (sessions last 24 hours)")
    faces = body.get("face_choose")
    if not isinstance(faces, list) or len(faces) != 1 or not isinstance(faces[0], dict):
        raise Reject("face_choose must be an array of exactly one face")
    face = faces[0]
    if face.get("face_id") not in session.faces:
        raise Reject(f"face_choose[0].face_id {brief(face.get('face_id'))} is not a face of this session")
    if (face.get("audio_id") is None) == (face.get("sound_file") is None):
        raise Reject("face_choose[0] needs exactly one of audio_id and sound_file")
    if face.get("sound_file") is not None:
        _sound_file(face["sound_file"])
    elif not isinstance(face.get("audio_id"), str):
        raise Reject("face_choose[0].audio_id must be a string")
    times = {}
    for name in ("sound_start_time", "sound_end_time", "sound_insert_time"):
        value = face.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**7:
            raise Reject(f"face_choose[0].{name} is required: milliseconds, a non-negative integer")
        times[name] = value
    length = times["sound_end_time"] - times["sound_start_time"]
    if not 2000 <= length <= 60_000:
        raise Reject("the cropped sound must last between 2 and 60 seconds")
    overlap = min(times["sound_insert_time"] + length, session.duration_ms) - times["sound_insert_time"]
    if overlap < 2000:
        raise Reject("the sound must overlap the face's interval by at least 2 seconds")
    for name in ("sound_volume", "original_audio_volume"):
        _number(face, name, 0, 2, 1)
    watermark, callback, external = _common(body)
    seconds = session.duration_ms / 1000
    units = max(0.5, round(0.5 * seconds / 5, 2))  # 0.5 units per 5 s, 5 s minimum
    return FamilyParams(FamilyModel("kling-lip-sync"), LIP_SYNC, "", VideoSpec(session.width, session.height,
                        seconds, 24, True), units, True, watermark, callback, external)


def effects(body: dict) -> FamilyParams:
    scene = body.get("effect_scene")
    if scene is None:
        raise Reject("effect_scene is required")
    if not isinstance(scene, str) or not scene:
        raise Reject("effect_scene must be a string")
    given = body.get("input")
    if not isinstance(given, dict):
        raise Reject("input is required: an object")
    _, callback, external = _common({k: v for k, v in body.items() if k != "watermark_info"})
    if scene in DUAL_SCENES:
        models = ("kling-v1-6",) if scene == "fight" else ("kling-v1", "kling-v1-5", "kling-v1-6")
        name = _enum(given, "model_name", models, models[0])
        mode = _enum(given, "mode", ("std", "pro"), "std")
        pair = given.get("images", given.get("image"))  # the field table says image, the example images
        if not isinstance(pair, list) or len(pair) != 2:
            raise Reject("input.images must be an array of exactly 2 images (left, right)")
        for i, item in enumerate(pair):
            _image(item, f"input.images[{i}]")
        if given.get("duration") is None:
            raise Reject("input.duration is required")
        duration = int(_enum(given, "duration", ("5", "10"), "5"))
        height = 1080 if mode == "pro" and name != "kling-v1" else 720
        return FamilyParams(FamilyModel(name), EFFECTS, mode, VideoSpec(*_size("16:9", height), float(duration), 24),
                            2.0 * duration / 5, callback_url=callback, external_task_id=external,
                            data={"fx": scene})
    if scene not in SINGLE_SCENES:
        raise Reject(f"effect_scene value {brief(scene)} is invalid", 1201)
    size = _image(given.get("image"), "input.image") if given.get("image") is not None else None
    if given.get("image") is None:
        raise Reject("input.image is required")
    if given.get("duration") is None:
        raise Reject("input.duration is required")
    _enum(given, "duration", ("5",), "5")
    width, height = _size("9:16" if size and size[1] > size[0] else "16:9", 720)
    return FamilyParams(FamilyModel("kling-effects"), EFFECTS, "", VideoSpec(width, height, 5.0, 24), 2.0,  # mock
                        callback_url=callback, external_task_id=external, data={"fx": scene})


def generations(body: dict) -> FamilyParams:
    name = body.get("model_name")
    name = "kling-v1" if name is None else name
    name = _enum({"model_name": name}, "model_name", IMAGE_MODELS, "kling-v1")
    prompt = _string(body, "prompt", MAX_PROMPT, required=True)
    if not prompt.strip():
        raise Reject("prompt must not be empty")
    image = body.get("image")
    if image is not None:
        _image(image, "image")
        if body.get("negative_prompt") is not None:
            raise Reject("negative_prompt is not supported together with image")
    _string(body, "negative_prompt", MAX_PROMPT)
    reference = _enum(body, "image_reference", ("subject", "face"), None)
    if reference is not None and name != "kling-v1-5":
        raise Reject("image_reference is only supported by kling-v1-5")
    if name == "kling-v1-5" and image is not None and reference is None:
        raise Reject("image_reference is required with image on kling-v1-5")
    _number(body, "image_fidelity", 0, 1, 0.5)
    if body.get("human_fidelity") is not None and reference != "subject":
        raise Reject("human_fidelity is only used with image_reference subject")
    _number(body, "human_fidelity", 0, 1, 0.45)
    resolution = _enum(body, "resolution", ("1k", "2k"), "1k")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 9:
        raise Reject("n must be an integer from 1 to 9")
    ratio = _enum(body, "aspect_ratio", IMAGE_RATIOS, "16:9")
    _, callback, external = _common({k: v for k, v in body.items() if k != "watermark_info"})
    a, b = (int(x) for x in ratio.split(":"))
    short = 1024 if resolution == "1k" else 2048
    width, height = ((short * a // b) & ~1, short) if a >= b else (short, (short * b // a) & ~1)
    units = IMAGE_UNITS[name] * (2 if resolution == "2k" and name == "kling-v3" else 1) * n
    return FamilyParams(FamilyModel(name), IMAGES, "", ImageSpec(width, height, "png"), float(units),
                        callback_url=callback, external_task_id=external, count=n)


def validate(body: Any, kind: str, *, source: Any = None, session: Session | None = None) -> FamilyParams | Invalid:
    if not isinstance(body, dict):
        return Invalid(1200, "invalid request parameters: the body must be a JSON object")
    try:
        if kind == OMNI:
            return omni(body)
        if kind == MULTI_IMAGE:
            return multi_image(body)
        if kind == EXTEND:
            return extend(body, source)
        if kind == LIP_SYNC:
            return lip_sync(body, session)
        if kind == EFFECTS:
            return effects(body)
        return generations(body)
    except Reject as exc:
        return exc.invalid
