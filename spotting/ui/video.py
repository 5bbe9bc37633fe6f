"""Video files for the player: find a half's video, make it playable in a browser, serve it seekable.

- ``video_url_for(game, half)`` finds the half's file (``Game.video_path``: ``1_224p.mkv``,
  ``1_720p.mkv``, ``.mp4``, the demo's ``.webm``), remuxes an ``.mkv`` to ``.mp4`` (``+faststart``;
  H.264 stays H.264, other codecs are transcoded to H.264) once into a cache outside the user's
  folder, registers the result in an allow-list and returns a URL on the app's own port. An ``.mp4``
  or ``.webm`` is served as it is only when its video codec plays in browsers (probed with PyAV):
  OpenCV's ``mp4v`` (MPEG-4 Part 2) or HEVC in an ``.mp4`` goes through the same cached conversion.
- Every file is checked before it is converted or served: a regular file (after following
  symlinks) whose first bytes are those of its container (MP4 ``ftyp``/boxes, Matroska/WebM EBML),
  inside the data roots when the app is restricted (``paths``). A bad file, a cache folder that
  cannot be created or a conversion that fails is an :class:`InputError` naming the file: the page
  then works without video.
- ``video_routes()`` gives the Starlette route ``app.py`` mounts: it answers HTTP Range requests
  (206) straight from disk with ``FileResponse`` — never the whole file in memory — and only for
  files registered by ``video_url_for``. Any other name (``../../etc/passwd``, an absolute path, an
  unknown token) is a 404.
- The allow-list is kept per browser session: each session's last few games stay served as long as
  the session lives (a paused player can seek an hour later, whatever other sessions open), and
  go when the session ends (a session-scoped ``st.cache_resource`` releases them).

Why not Streamlit's own media endpoint: it reads the whole file into RAM (a 720p half is hundreds
of MB), and static serving refuses files over 200 MiB.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from spotting.errors import InputError
from spotting.soccernet import Game
from spotting.ui.paths import CACHE_ENV, check_inside, studio_cache_dir

VIDEO_ROUTE_PREFIX = "/studio/video/"
# Containers Chromium, Firefox and Safari play as they are (VP8/VP9 WebM, H.264 MP4).
BROWSER_READY_SUFFIXES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"}
# Codecs that may go into an .mp4 untouched and still play in browsers; others are transcoded.
MP4_VIDEO_CODECS = {"h264", "av1", "vp9"}
# What each browser-ready container may hold and still play everywhere (the suffix alone says nothing:
# OpenCV writes MPEG-4 Part 2 into .mp4, phones HEVC, and Chromium/Firefox refuse both).
BROWSER_VIDEO_CODECS = {".mp4": MP4_VIDEO_CODECS, ".m4v": MP4_VIDEO_CODECS, ".webm": {"vp8", "vp9", "av1"}}
MP4_AUDIO_CODECS = {"aac", "mp3"}
MAX_REGISTERED_GAMES = 4  # per session: its last few games stay served (going back to one keeps playing)
MAX_OWNERS = 1024  # sessions whose release never came (a server stopped uncleanly) cannot grow it forever
PROCESS_OWNER = "process"  # registrations made outside a Streamlit session (scripts, tests)

Progress = Callable[[float, float], None]  # progress(done_seconds, total_seconds)

_SECRET = secrets.token_bytes(16)  # tokens are unguessable and change with each server start
_TOKEN_NAME = re.compile(r"([0-9a-f]{32})(\.(?:mp4|m4v|webm))")
_lock = threading.Lock()
_files: dict[str, tuple[Path, str]] = {}  # token -> (absolute path of a servable file, its URL suffix)
# owner (a session) -> its games -> their tokens; least recently used first at both levels
_owners: OrderedDict[str, OrderedDict[str, set[str]]] = OrderedDict()
_conversion_locks: dict[Path, threading.Lock] = {}
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}  # what an MP4 may start with
_EBML = b"\x1a\x45\xdf\xa3"  # Matroska and WebM


def cache_dir() -> Path:
    """Where converted videos go: ``videos/`` in the app's cache (``$STUDIO_CACHE_DIR`` or
    ``~/.cache/action-spotting-studio``)."""
    return studio_cache_dir() / "videos"


def _cache_path(source: Path) -> Path:
    stat = source.stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    return cache_dir() / f"{source.stem}-{hashlib.sha1(key).hexdigest()[:16]}.mp4"


@functools.lru_cache(maxsize=256)
def _video_codec(resolved: str, size: int, mtime_ns: int) -> str | None:
    """The first video stream's codec name (``h264``, ``mpeg4``...), None when PyAV cannot read one.

    Keyed by size and mtime (the arguments) so each rerun of a page does not reopen the file."""
    import av  # imported here: only needed when a video is opened

    try:
        with av.open(resolved) as container:
            streams = container.streams.video
            return streams[0].codec_context.name if streams else None
    except (av.FFmpegError, OSError):
        return None  # the conversion then names the problem


def browser_ready(path: str | Path) -> bool:
    """True when ``path`` can be served as it is: a browser container holding a browser video codec."""
    path = Path(path)
    codecs = BROWSER_VIDEO_CODECS.get(path.suffix.lower())
    if codecs is None:
        return False
    stat = path.stat()
    return _video_codec(str(path.resolve()), stat.st_size, stat.st_mtime_ns) in codecs


def needs_conversion(path: str | Path) -> bool:
    """True when ``path`` is not browser-ready and has no cached conversion yet (the app shows progress)."""
    path = Path(path)
    try:
        return not browser_ready(path) and not _cache_path(path).is_file()
    except OSError:
        return False  # playable_video names the problem


def check_video_file(path: str | Path) -> None:
    """:class:`InputError` unless ``path`` is a regular file (symlinks followed) starting like its container.

    Only the first 12 bytes are read; the message never quotes them.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "video file not found (or not a regular file)", "check the game folder")
    check_inside(path, "video file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError as error:
        raise InputError(path, f"video file cannot be read ({error.strerror or type(error).__name__})",
                         "check the file's permissions") from None
    suffix = path.suffix.lower()
    if suffix in (".mp4", ".m4v"):
        ok, container = head[4:8] in _MP4_BOXES, "an MP4 video"
    else:
        ok, container = head[:4] == _EBML, "a WebM video" if suffix == ".webm" else "a Matroska video"
    if not ok:
        raise InputError(path, f"not {container}: the file does not start with its header",
                         "replace it with the half's video (or remove it: the page works without video)")


def playable_video(path: str | Path, progress: Progress | None = None) -> Path:
    """A file browsers can play for ``path``: the file itself (see :func:`browser_ready`), or its cached
    ``.mp4`` conversion (an ``.mkv``; an ``.mp4``/``.webm`` whose video codec browsers refuse).

    The conversion runs once per source file (keyed by path, size and mtime) and is written
    atomically, so an interrupted run leaves no half-written cache entry. Raises :class:`InputError`
    (naming the file) for a file that is not a video of its kind, a cache folder that cannot be
    created and a conversion that fails.
    """
    path = Path(path)
    check_video_file(path)
    if browser_ready(path):
        return path
    target = _cache_path(path)
    with _lock:
        conversion_lock = _conversion_locks.setdefault(target, threading.Lock())
    with conversion_lock:  # two sessions asking for the same half convert it once
        if not target.is_file():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(target.parent, f"cannot create the video cache folder for {path.name} "
                                 f"({error.strerror or type(error).__name__})",
                                 f"set {CACHE_ENV} to a writable folder") from None
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            try:
                _convert_to_mp4(path, partial, progress)
                os.replace(partial, target)
            except InputError:
                raise
            except Exception as error:  # PyAV/FFmpeg (timestamps, codecs), disk full, ...: one line naming the file
                reason = getattr(error, "strerror", None) or type(error).__name__
                raise InputError(path, f"could not be prepared for the browser ({reason})",
                                 "re-download the video, or remux it to .mp4 yourself (ffmpeg -i in.mkv -c copy "
                                 "out.mp4)") from None
            finally:
                partial.unlink(missing_ok=True)
    return target


def _convert_to_mp4(source: Path, target: Path, progress: Progress | None) -> None:
    """Remux (or, for codecs an .mp4 cannot carry to browsers, transcode to H.264) ``source``."""
    import av  # imported here: only needed when an .mkv is opened

    try:
        inp = av.open(str(source))
    except av.FFmpegError as error:
        raise InputError(source, f"not a readable video ({error})", "re-download the video") from None
    with inp:
        if not inp.streams.video:
            raise InputError(source, "the file has no video stream", "re-download the video")
        vin = inp.streams.video[0]
        audio = [s for s in inp.streams.audio if s.codec_context.name in MP4_AUDIO_CODECS][:1]
        remux = vin.codec_context.name in MP4_VIDEO_CODECS
        total = float(inp.duration / 1e6) if inp.duration else 0.0
        with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            if remux:
                vout = out.add_stream_from_template(vin)
            else:
                vout = out.add_stream("libx264", rate=vin.average_rate or 25)
                vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
                vout.options = {"preset": "veryfast", "crf": "23"}
                vout.time_base = vin.time_base  # decoded frames keep their source timestamps
            aout = out.add_stream_from_template(audio[0]) if audio else None
            last_report = time.monotonic()
            for packet in inp.demux(vin, *audio):
                if packet.size == 0:  # demuxer flush packets
                    continue
                if packet.stream.index == vin.index and not remux:
                    for frame in packet.decode():
                        out.mux(vout.encode(frame))
                else:
                    packet.stream = vout if packet.stream.index == vin.index else aout
                    out.mux(packet)
                if progress is not None and packet.pts is not None and time.monotonic() - last_report >= 0.25:
                    last_report = time.monotonic()  # a remux runs at disk speed: a few calls a second is plenty
                    progress(min(float(packet.pts * packet.time_base), total), total)
            if not remux:
                out.mux(vout.encode(None))
    if progress is not None:
        progress(total, total)


def _token(path: Path) -> str:
    return hmac.new(_SECRET, str(path).encode(), hashlib.sha256).hexdigest()[:32]


def _release_owner(owner: str) -> None:
    """Forget what ``owner`` registered (its session ended); files other sessions use stay served."""
    with _lock:
        _owners.pop(owner, None)
        _drop_unowned()


def _drop_unowned() -> None:
    owned = {token for games in _owners.values() for tokens in games.values() for token in tokens}
    for token in [t for t in _files if t not in owned]:
        del _files[token]


@st.cache_resource(scope="session", on_release=_release_owner, show_spinner=False)
def _session_owner() -> str:
    """This browser session's name in the allow-list; Streamlit releases it when the session ends."""
    return "session-" + secrets.token_hex(8)


def current_owner() -> str:
    """The running session's owner name, or :data:`PROCESS_OWNER` outside a Streamlit run."""
    from spotting.ui.compat import in_script_run

    return _session_owner() if in_script_run() else PROCESS_OWNER


def register_video(path: str | Path, game_key: str, owner: str | None = None, suffix: str | None = None) -> str:
    """Allow ``path`` to be served and return its URL.

    ``owner`` (default: the running session) keeps its last :data:`MAX_REGISTERED_GAMES` games'
    files allowed until :func:`_release_owner` (its session's end); ``suffix`` is the container as
    the game folder names it (a symlink's target may have another name), checked by the caller.
    """
    path = Path(path).resolve()
    suffix = (suffix or path.suffix).lower()
    if suffix not in BROWSER_READY_SUFFIXES:
        raise ValueError(f"{path}: only {sorted(BROWSER_READY_SUFFIXES)} files are served")
    owner = owner or current_owner()
    token = _token(path)
    with _lock:
        _files[token] = (path, suffix)
        games = _owners.setdefault(owner, OrderedDict())
        _owners.move_to_end(owner)
        games.setdefault(game_key, set()).add(token)
        games.move_to_end(game_key)
        while len(games) > MAX_REGISTERED_GAMES:
            games.popitem(last=False)
        while len(_owners) > MAX_OWNERS:
            _owners.popitem(last=False)
        _drop_unowned()
    return f"{VIDEO_ROUTE_PREFIX}{token}{suffix}"


def registered_file(name: str) -> Path | None:
    """The file behind a URL name ``<token>.<ext>``, or None when it is not (or no longer) allowed."""
    match = _TOKEN_NAME.fullmatch(name)
    if match is None:
        return None
    with _lock:
        entry = _files.get(match.group(1))
    if entry is None or entry[1] != match.group(2):
        return None
    return entry[0]


def clear_registry() -> None:
    """Forget every registered file (tests)."""
    with _lock:
        _files.clear()
        _owners.clear()


def video_url_for(game: Game, half: int, progress: Progress | None = None) -> str | None:
    """URL (relative, on the app's own port) of ``half``'s video of ``game``, or None without video.

    An ``.mkv`` (or a video whose codec browsers cannot play) is converted to ``.mp4`` first (once,
    cached); ``progress(done_s, total_s)`` reports
    that conversion — without one, inside a Streamlit run, an ``st.progress`` bar shows it.
    Raises :class:`InputError` when the video file is unreadable.
    """
    source = game.video_path(half)
    if source is None:
        return None
    if progress is None and needs_conversion(source):
        check_video_file(source)  # before drawing a progress bar for a file that is no video
        with _streamlit_progress(f"Preparing `{source.name}` for the browser (once, then cached)") as bar:
            playable = playable_video(source, bar)
    else:
        playable = playable_video(source, progress)
    suffix = playable.suffix.lower() if playable != source else source.suffix.lower()
    return register_video(playable, game_key=str(Path(game.directory).resolve()), suffix=suffix)


@contextmanager
def _streamlit_progress(text: str) -> Iterator[Progress | None]:
    """A progress callback drawing an ``st.progress`` bar (removed afterwards); None outside Streamlit."""
    import streamlit as st

    from spotting.ui.compat import in_script_run

    if not in_script_run():
        yield None
        return
    bar = st.progress(0.0, text=text)

    def update(done: float, total: float) -> None:
        bar.progress(min(done / total, 1.0) if total > 0 else 0.0, text=f"{text}: {done / 60:.0f} of {total / 60:.0f} min")

    try:
        yield update
    finally:
        bar.empty()


async def serve_video(request: Request) -> Response:
    """``GET /studio/video/<token>.<ext>``: a registered file with Range support (206), else 404."""
    name = request.path_params["name"]
    path = registered_file(name)
    if path is None or not path.is_file():
        return PlainTextResponse("Not found", status_code=404)
    return FileResponse(path, media_type=BROWSER_READY_SUFFIXES["." + name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "private, max-age=3600"})


def video_routes() -> list[Route]:
    """The routes ``app.py`` mounts beside Streamlit's own."""
    return [Route(VIDEO_ROUTE_PREFIX + "{name}", serve_video, methods=["GET", "HEAD"])]
