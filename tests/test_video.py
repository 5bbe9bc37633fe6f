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
                               video_routes, video_url_for)


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
