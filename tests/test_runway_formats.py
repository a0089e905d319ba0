"""runwayml 5.24.0's ``outputFormat`` values, unchanged, against a served mock: each task delivers the file its
docstring names (ProRes in a MOV with the asked profile, 10/12-bit HEVC with HDR colour tags, PNG and OpenEXR
sequences in a ZIP with their sidecars), decoded with PyAV; the rules stated beyond the enums are enforced."""

from __future__ import annotations

import io
import json
import zipfile

import av
import httpx
import pytest
import runwayml
from runway_client import client

from mockprovider.testing import MockServer

VIDEO = "https://example.com/in.mp4"
FPS = 6  # few frames per second keep the real encodes (x265, ProRes, EXR) short on a shared machine
FRAMES = 2 * FPS  # the 2 s gen4.5 outputs


@pytest.fixture(scope="module")
def c():
    with MockServer(profile="happy", time_scale=0.01, seed=5) as server:
        profile = {"jobs": {"queue": "0s", "run": "1s"}, "outputs": {"fps": FPS}}
        assert server.admin("PUT", "/profile", {"profile": profile}).status_code == 200
        yield client(server.url)


def fetch(task) -> tuple[str, str, bytes]:
    url = task.wait_for_task_output(timeout=120).output[0]
    reply = httpx.get(url, timeout=120)  # a cold render may queue behind others on a loaded machine
    assert reply.status_code == 200, reply.text
    return url.partition("?")[0].rpartition(".")[2], reply.headers["content-type"], reply.content


def movie(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        info = {"codec": ctx.name, "profile": ctx.profile, "tag": stream.codec_tag, "trc": ctx.color_trc,
                "primaries": ctx.color_primaries, "audio": [a.codec_context.name for a in container.streams.audio]}
        frames = list(container.decode(stream))
        info.update(frames=len(frames), pix=frames[0].format.name, width=frames[0].width)
    return info


# format, proresProfile -> (extension, MIME type, codec, profile, FourCC, transfer characteristic)
MOVIES = {
    ("prores", None): ("mov", "video/quicktime", "prores", "4444", "ap4h", 1),  # "the default is 4444"
    ("prores", "422 Proxy"): ("mov", "video/quicktime", "prores", "Proxy", "apco", 1),
    ("hdr_prores", None): ("mov", "video/quicktime", "prores", "HQ", "apch", 16),  # "defaults to 422 HQ", PQ
    ("hdr10", None): ("mp4", "video/mp4", "hevc", "Main 10", "hvc1", 16),
    ("hlg", None): ("mp4", "video/mp4", "hevc", "Main 10", "hvc1", 18),
    ("sdr_rec709_10bit", None): ("mp4", "video/mp4", "hevc", "Main 10", "hvc1", 1),
    ("hdr_pq_12bit_master", None): ("mov", "video/quicktime", "hevc", "Rext", "hvc1", 16),
}


@pytest.mark.parametrize(("fmt", "profile"), sorted(MOVIES, key=str))
def test_gen45_movie_formats(c, fmt, profile):
    extra = {"prores_profile": profile} if profile else {}
    task = c.text_to_video.create(model="gen4.5", prompt_text="a kite", ratio="1280:720", duration=2,
                                  output_format=fmt, **extra)
    ext, kind, data = fetch(task)
    want_ext, want_kind, codec, want_profile, tag, trc = MOVIES[(fmt, profile)]
    info = movie(data)
    assert (ext, kind, info["codec"], info["profile"], info["tag"], info["trc"]) == (
        want_ext, want_kind, codec, want_profile, tag, trc)
    assert info["frames"] == FRAMES and info["width"] == 1280 and info["audio"] == []
    assert info["primaries"] == (1 if trc == 1 else 9)  # BT.709, or BT.2020 for PQ and HLG
    if fmt == "hdr_pq_12bit_master":
        assert info["pix"] == "yuv444p12le"  # "12-bit 4:4:4"
    elif codec == "hevc":
        assert info["pix"] == "yuv420p10le"


# format -> (frame names, decoded pixel format, sidecars)
SEQUENCES = {
    "png_sequence": ("frame_{:05d}.png", "rgb24", []),
    "hdr_png_sequence": ("frame_{:05d}.png", "rgb48be", ["colorimetry.json"]),  # "16-bit PNG frames"
    "hdr_exr_sequence": ("frame_{:05d}.exr", "gbrpf16le", ["colorimetry.json"]),  # "half-float OpenEXR"
    "hdr_exr_acescg_sequence_1_3": ("frame.{:04d}.exr", "gbrpf16le", ["colorimetry.json"]),  # frame.0001.exr
}


def frames_of(data: bytes) -> tuple[zipfile.ZipFile, list[str]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive, [n for n in archive.namelist() if not n.endswith(".json")]


def decoded(archive: zipfile.ZipFile, name: str) -> av.VideoFrame:
    with av.open(io.BytesIO(archive.read(name))) as still:
        return next(still.decode(video=0))


@pytest.mark.parametrize("fmt", sorted(SEQUENCES))
def test_gen45_sequence_formats(c, fmt):
    task = c.image_to_video.create(model="gen4.5", prompt_image="https://example.com/a.png", prompt_text="a kite",
                                   ratio="960:960", duration=2, output_format=fmt)
    ext, kind, data = fetch(task)
    assert (ext, kind) == ("zip", "application/zip")
    names, pix, sidecars = SEQUENCES[fmt]
    archive, frames = frames_of(data)
    assert frames == [names.format(i) for i in range(1, FRAMES + 1)]
    assert sorted(set(archive.namelist()) - set(frames)) == sidecars
    for name in (frames[0], frames[-1]):
        frame = decoded(archive, name)
        assert (frame.format.name, frame.width, frame.height) == (pix, 960, 960)
    if sidecars:
        colour = json.loads(archive.read("colorimetry.json"))
        assert colour["frames"] == FRAMES and colour["transfer"] in ("smpte2084", "linear")
    assert archive.comment.decode().startswith(task.id)  # each output's own bytes


def test_rules_beyond_the_enums_and_charges(c):
    def issues(**params) -> list:
        with pytest.raises(runwayml.BadRequestError) as caught:
            c.text_to_video.create(**params)
        return [i["path"] for i in caught.value.body["issues"]]

    base = dict(model="gen4.5", prompt_text="x", ratio="1280:720", duration=2)
    assert issues(**base, prores_profile="422") == [["proresProfile"]]  # "Only valid when outputFormat is prores"
    assert issues(**base, output_format="hdr_prores", prores_profile="422 LT") == [["proresProfile"]]
    assert issues(model="seedance2_5", prompt_text="x", draft=True, output_format="mov") == [["outputFormat"]]
    plain = c.text_to_video.create(**base).estimated_cost.credits
    assert c.text_to_video.create(**base, output_format="png_sequence").estimated_cost.credits == plain + 5 * 2
    assert c.text_to_video.create(**base, output_format="hlg").estimated_cost.credits == plain + 20 * 2


def test_seedance_mov_aleph_prores_and_ruby_deliveries(c):
    mov = c.text_to_video.create(model="seedance2_5", prompt_text="waves", ratio="1280:720", duration=4,
                                 output_format="mov")
    ext, kind, data = fetch(mov)
    info = movie(data)
    assert (ext, kind, info["codec"], info["audio"]) == ("mov", "video/quicktime", "prores", ["aac"])
    aleph = c.video_to_video.create(model="aleph2", video_uri=VIDEO, prompt_text="snow", output_format="prores",
                                    prores_profile="422 LT")
    assert movie(fetch(aleph)[2])["profile"] == "LT"
    hdr = c.video_to_hdr.create(model="ruby", video_uri=VIDEO)  # "hdr10 (default)"
    assert hdr.estimated_cost.credits == 20 * 5  # 20 credits per second of a 5 s (unknown-length) source
    info = movie(fetch(hdr)[2])
    assert (info["codec"], info["pix"], info["trc"]) == ("hevc", "yuv420p10le", 16)
    exr = c.video_to_hdr.create(model="ruby", video_uri=VIDEO, output_format="hdr_exr_acescg_sequence_2_0")
    archive, frames = frames_of(fetch(exr)[2])
    assert frames[0] == "frame.0001.exr" and "provenance.json" in archive.namelist()  # "declaring the upconvert"
    with pytest.raises(runwayml.BadRequestError):
        c.video_to_hdr.create(model="ruby", video_uri=VIDEO, output_format="hlg", prores_profile="422")
