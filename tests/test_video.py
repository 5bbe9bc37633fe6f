"""Video discovery, mkv → mp4 conversion (cached), allow-listed Range serving."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from spotting.errors import InputError
from spotting.soccernet import Game
from spotting.ui import video
from spotting.ui.video import (MAX_REGISTERED_GAMES, needs_conversion, playable_video, register_video,
                               registered_file, video_routes, video_url_for)


def write_video(path: Path, codec: str, seconds: int = 2, fps: int = 10, size: tuple[int, int] = (64, 48)) -> Path:
    """A tiny real video file: ``seconds * fps`` frames of changing grey."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (i * 11) % 256, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def probe(path: Path) -> tuple[str, int, float]:
    """(codec, frames, duration s) of the first video stream, by decoding every frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, frames, container.duration / 1e6


def top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        boxes.append(data[offset + 4:offset + 8].decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def reversed_timestamps_mkv(path: Path) -> Path:
    """An H.264 .mkv whose block timestamps run backwards: FFmpeg's MP4 muxer refuses to remux it."""
    write_video(path, "libx264")
    data = bytearray(path.read_bytes())

    def vint(pos: int, marker: bool) -> tuple[int, int]:
        first, length = data[pos], 1
        while not first & (0x80 >> (length - 1)):
            length += 1
        value = first if marker else first & (0xFF >> length)
        for byte in data[pos + 1:pos + length]:
            value = (value << 8) | byte
        return value, length

    def blocks(start: int, end: int) -> list[int]:
        found, pos = [], start
        while pos < end:
            element, n = vint(pos, True)
            size, m = vint(pos + n, False)
            body = pos + n + m
            if element in (0x18538067, 0x1F43B675, 0xA0):  # Segment, Cluster, BlockGroup
                found += blocks(body, min(end, body + size))
            elif element in (0xA3, 0xA1):  # SimpleBlock, Block: track number, then a 16-bit timestamp
                found.append(body + vint(body, False)[1])
            pos = body + size
        return found

    offsets = blocks(0, len(data))
    assert offsets
    for i, offset in enumerate(offsets):
        data[offset:offset + 2] = (1000 - 50 * i).to_bytes(2, "big", signed=True)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv(video.CACHE_ENV, str(tmp_path / "cache"))
    video.clear_registry()
    yield
    video.clear_registry()


@pytest.fixture()
def client() -> TestClient:
    return TestClient(Starlette(routes=video_routes()))


def game_folder(root: Path, name: str = "game") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    return folder


def test_h264_mkv_is_remuxed_once_to_faststart_mp4(tmp_path):
    source = write_video(game_folder(tmp_path) / "1_224p.mkv", "libx264")
    assert needs_conversion(source)
    reports: list[tuple[float, float]] = []
    converted = playable_video(source, progress=lambda done, total: reports.append((done, total)))
    assert converted.suffix == ".mp4" and converted.parent == video.cache_dir()
    assert probe(converted)[:2] == ("h264", 20)  # same codec and every frame: a remux, not a re-encode
    assert probe(converted)[2] == pytest.approx(2.0, abs=0.15)
    boxes = top_level_boxes(converted)
    assert boxes.index("moov") < boxes.index("mdat"), "+faststart: the index must come first"
    assert reports and reports[-1][0] == reports[-1][1] == pytest.approx(2.0, abs=0.15)
    assert not needs_conversion(source)
    stamp = converted.stat().st_mtime_ns
    again = playable_video(source, progress=lambda *_: pytest.fail("converted twice"))
    assert again == converted and again.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in source.parent.iterdir()) == ["1_224p.mkv"], "nothing written beside the user's file"


def test_other_codecs_are_transcoded_to_h264(tmp_path):
    source = write_video(game_folder(tmp_path) / "2_720p.mkv", "mpeg4")
    codec, frames, duration = probe(playable_video(source))
    assert (codec, frames) == ("h264", 20)
    assert duration == pytest.approx(2.0, abs=0.15)


def test_browser_ready_files_are_used_as_they_are(tmp_path):
    source = write_video(game_folder(tmp_path) / "1_224p.webm", "libvpx")
    assert not needs_conversion(source)
    assert playable_video(source) == source
    assert not video.cache_dir().exists()


def test_unreadable_video_is_an_input_error(tmp_path):
    source = game_folder(tmp_path) / "1_224p.mkv"
    source.write_bytes(b"this is not a matroska file" * 10)
    with pytest.raises(InputError, match="1_224p.mkv"):
        playable_video(source)
    assert not list(video.cache_dir().glob("*.mp4")), "no cache entry for a failed conversion"
    with pytest.raises(InputError, match="not found"):
        playable_video(tmp_path / "missing.mkv")


def test_video_url_for_finds_the_half_and_serves_it_with_ranges(tmp_path, client):
    folder = game_folder(tmp_path)
    source = write_video(folder / "1_224p.webm", "libvpx")
    game = Game(directory=folder, name="league/season/game")
    assert video_url_for(game, 2) is None  # no video for the second half
    url = video_url_for(game, 1)
    assert url.startswith(video.VIDEO_ROUTE_PREFIX) and url.endswith(".webm")
    assert str(folder) not in url and "1_224p" not in url, "the URL reveals no path"

    content = source.read_bytes()
    full = client.get(url)
    assert full.status_code == 200 and full.content == content
    assert full.headers["content-type"].startswith("video/webm")
    assert full.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(content)}"
    tail = client.get(url, headers={"Range": f"bytes={len(content) - 10}-"})
    assert tail.status_code == 206 and tail.content == content[-10:]
    assert client.head(url).status_code == 200


def test_mkv_half_gets_an_mp4_url(tmp_path, client):
    folder = game_folder(tmp_path)
    write_video(folder / "1_224p.mkv", "libx264")
    url = video_url_for(Game(directory=folder, name="g"), 1)
    assert url.endswith(".mp4")
    response = client.get(url, headers={"Range": "bytes=0-7"})
    assert response.status_code == 206 and response.content[4:8] == b"ftyp"


@pytest.mark.parametrize("path", [
    "/studio/video/../../etc/passwd",
    "/studio/video/..%2F..%2Fetc%2Fpasswd",
    "/studio/video/%2Fetc%2Fpasswd",
    "/studio/video//etc/passwd",
    "/studio/video/etc/passwd",
    "/studio/video/passwd",
    "/studio/video/" + "0" * 32 + ".webm",
    "/studio/video/" + "0" * 32 + ".json",
])
def test_crafted_paths_are_refused(tmp_path, client, path):
    folder = game_folder(tmp_path)
    write_video(folder / "1_224p.webm", "libvpx")
    video_url_for(Game(directory=folder, name="g"), 1)  # something is registered
    response = client.get(path)
    assert response.status_code in (403, 404)
    assert b"root:" not in response.content


def test_only_registered_files_and_extensions_are_served(tmp_path, client):
    folder = game_folder(tmp_path)
    write_video(folder / "1_224p.webm", "libvpx")
    (folder / "Labels-v2.json").write_text("{}")
    url = video_url_for(Game(directory=folder, name="g"), 1)
    token = url.rsplit("/", 1)[1].split(".")[0]
    assert client.get(f"{video.VIDEO_ROUTE_PREFIX}{token}.mp4").status_code == 404  # wrong extension for the token
    assert client.get(f"{video.VIDEO_ROUTE_PREFIX}{token}.json").status_code == 404
    with pytest.raises(ValueError):
        register_video(folder / "Labels-v2.json", "g")  # only video files can be allowed at all
    (folder / "1_224p.webm").unlink()
    assert client.get(url).status_code == 404  # a registered file that vanished


def test_old_games_drop_out_of_the_allow_list(tmp_path, client):
    urls = []
    for i in range(MAX_REGISTERED_GAMES + 1):
        folder = game_folder(tmp_path, f"game{i}")
        write_video(folder / "1_224p.webm", "libvpx", seconds=1)
        urls.append(video_url_for(Game(directory=folder, name=f"game{i}"), 1))
    assert client.get(urls[0]).status_code == 404, "the least recently used game is no longer servable"
    assert all(client.get(url).status_code == 200 for url in urls[1:])


def test_conversion_inside_a_streamlit_run_shows_progress_and_returns_the_url(tmp_path):
    """The page calls video_url_for without a callback: the conversion then drives an st.progress bar."""
    from streamlit.testing.v1 import AppTest

    folder = game_folder(tmp_path)
    write_video(folder / "1_224p.mkv", "libx264")
    script = tmp_path / "page.py"
    script.write_text(
        "import streamlit as st\n"
        "from pathlib import Path\n"
        "from spotting.soccernet import Game\n"
        "from spotting.ui.video import video_url_for\n"
        f"st.session_state['url'] = video_url_for(Game(directory=Path({str(folder)!r}), name='g'), 1)\n")
    app = AppTest.from_file(str(script), default_timeout=30).run()
    assert not app.exception
    assert app.session_state["url"].endswith(".mp4")
    assert not needs_conversion(folder / "1_224p.mkv")


# ------------------------------------------------------------------ issue #20: files that are no video

def test_symlink_to_a_non_video_is_an_input_error_naming_the_link(tmp_path):
    folder = game_folder(tmp_path)
    (folder / "Labels-v2.json").write_text('{"annotations": []}')
    (folder / "1_224p.mp4").symlink_to(folder / "Labels-v2.json")
    with pytest.raises(InputError, match=r"1_224p.mp4: not an MP4 video") as caught:
        video_url_for(Game(directory=folder, name="g"), 1)
    assert "annotations" not in str(caught.value), "the message quotes nothing of the file"
    (folder / "2_224p.mkv").write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match=r"2_224p.mkv: not a Matroska video"):
        video_url_for(Game(directory=folder, name="g"), 2)
    assert not video._files, "nothing was allowed"


def test_symlink_to_a_video_elsewhere_is_served_under_the_links_kind(tmp_path, client):
    elsewhere = write_video(tmp_path / "stored-without-extension.webm", "libvpx")
    blob = tmp_path / "blob"
    blob.write_bytes(elsewhere.read_bytes())
    folder = game_folder(tmp_path)
    (folder / "1_224p.webm").symlink_to(blob)
    url = video_url_for(Game(directory=folder, name="g"), 1)
    assert url.endswith(".webm")
    response = client.get(url, headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == b"\x1a\x45\xdf\xa3"
    assert response.headers["content-type"].startswith("video/webm")


def test_symlink_out_of_the_data_roots_is_refused_when_restricted(tmp_path, monkeypatch):
    from spotting.ui import paths

    (tmp_path / "outside").mkdir()
    outside = write_video(tmp_path / "outside" / "clip.webm", "libvpx")
    folder = game_folder(tmp_path / "data")
    (folder / "1_224p.webm").symlink_to(outside)
    monkeypatch.setenv(paths.DATA_ROOTS_ENV, str(tmp_path / "data"))
    with pytest.raises(InputError, match="links to a file outside the data folders"):
        video_url_for(Game(directory=folder, name="g"), 1)
    monkeypatch.delenv(paths.DATA_ROOTS_ENV)
    assert video_url_for(Game(directory=folder, name="g"), 1).endswith(".webm")  # local use: allowed


def test_cache_folder_that_cannot_be_created_is_an_input_error(tmp_path, monkeypatch):
    source = write_video(game_folder(tmp_path) / "1_224p.mkv", "libx264")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(video.CACHE_ENV, str(tmp_path / "a-file" / "cache"))
    assert needs_conversion(source)
    with pytest.raises(InputError, match=f"cannot create the video cache folder for 1_224p.mkv .*{video.CACHE_ENV}"):
        playable_video(source)


def test_failed_remux_is_an_input_error_and_leaves_no_cache_entry(tmp_path):
    source = reversed_timestamps_mkv(game_folder(tmp_path) / "1_224p.mkv")
    with pytest.raises(InputError, match="1_224p.mkv: could not be prepared for the browser") as caught:
        playable_video(source)
    assert ".partial" not in str(caught.value), "the temporary file is not shown"
    assert not [p for p in video.cache_dir().iterdir()], "no cache entry, no partial file"


def test_all_zero_timestamps_still_convert(tmp_path):
    """An .mkv whose blocks all carry timestamp 0 remuxes here (FFmpeg accepts equal timestamps in MP4)."""
    source = game_folder(tmp_path) / "1_224p.mkv"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        packets = []
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 11, np.uint8), format="rgb24")
            packets += stream.encode(frame)
        packets += stream.encode(None)
        for packet in packets:
            packet.pts = packet.dts = 0
            out.mux(packet)
    assert playable_video(source).suffix == ".mp4"


# ------------------------------------------------------------------ issue #20: several sessions

def test_each_session_keeps_its_videos_whatever_the_others_open(tmp_path, client):
    """Five sessions on five games (more than MAX_REGISTERED_GAMES): every URL in use stays served."""
    urls = {}
    for i in range(MAX_REGISTERED_GAMES + 1):
        folder = game_folder(tmp_path, f"game{i}")
        source = write_video(folder / "1_224p.webm", "libvpx", seconds=1)
        urls[f"session-{i}"] = register_video(source, str(folder), owner=f"session-{i}")
    for owner, url in urls.items():
        assert client.get(url, headers={"Range": "bytes=0-9"}).status_code == 206, owner
    video._release_owner("session-0")  # the first session ends
    assert client.get(urls["session-0"]).status_code == 404
    assert all(client.get(url).status_code == 200 for owner, url in urls.items() if owner != "session-0")


def test_a_file_two_sessions_use_stays_until_both_end(tmp_path, client):
    folder = game_folder(tmp_path)
    source = write_video(folder / "1_224p.webm", "libvpx", seconds=1)
    first = register_video(source, str(folder), owner="a")
    assert register_video(source, str(folder), owner="b") == first
    video._release_owner("a")
    assert client.get(first).status_code == 200
    video._release_owner("b")
    assert client.get(first).status_code == 404 and registered_file(first.rsplit("/", 1)[1]) is None


def test_a_session_keeps_its_last_few_games(tmp_path, client):
    urls = []
    for i in range(MAX_REGISTERED_GAMES + 1):
        folder = game_folder(tmp_path, f"g{i}")
        urls.append(register_video(write_video(folder / "1_224p.webm", "libvpx", seconds=1), str(folder), owner="s"))
    assert client.get(urls[0]).status_code == 404
    assert all(client.get(url).status_code == 200 for url in urls[1:])


# ------------------------------------------------------------------ an .mp4 whose codec browsers refuse

def test_opencv_mp4v_mp4_is_transcoded_to_h264(tmp_path):
    """OpenCV's ``mp4v`` writes MPEG-4 Part 2 into an .mp4: browsers refuse it, so it is converted (once)."""
    import cv2

    source = game_folder(tmp_path) / "1_video.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(25):
        writer.write(np.full((48, 64, 3), (i * 11) % 256, np.uint8))
    writer.release()
    assert probe(source)[0] == "mpeg4"
    assert needs_conversion(source)
    served = playable_video(source)
    assert served != source and served.parent == video.cache_dir()
    codec, frames, duration = probe(served)
    assert (codec, frames) == ("h264", 25)
    assert duration == pytest.approx(2.5, abs=0.15)
    assert not needs_conversion(source)
    assert playable_video(source) == served


def test_webm_and_mp4_with_browser_codecs_are_served_as_they_are(tmp_path):
    folder = game_folder(tmp_path)
    for name, codec in (("1_224p.mp4", "libx264"), ("2_224p.webm", "libvpx-vp9")):
        source = write_video(folder / name, codec)
        assert not needs_conversion(source) and playable_video(source) == source
    other = write_video(folder / "1_720p.mp4", "mpeg4")  # any codec outside the browser list converts
    assert needs_conversion(other) and probe(playable_video(other))[0] == "h264"
