"""Frames of a video at 2 fps, read exactly as SoccerNet's ``SoccerNet.DataLoader.FrameCV`` reads them.

SoccerNet computed its official ``ResNET_TF2`` features with ``FrameCV(path, FPS=2, transform="crop")``
(SoccerNet 0.2.0, ``DataLoader.py``). Its rules, reproduced here without holding a whole half in
memory (FrameCV keeps every frame of the half in a list: ~800 MB at 224×224):

* OpenCV decodes every frame in order; ``fps_video`` is OpenCV's ``CAP_PROP_FPS``.
* Frames are counted from 1 (``i_frame`` is incremented before the tests). With ``start`` a frame
  is skipped while ``i_frame < fps_video * start``; with ``duration`` it is skipped once
  ``i_frame > fps_video * (start + duration)``.
* A frame is kept when ``i_frame % (fps_video / FPS) < 1`` — at 25 fps the 13th, 25th, 38th, 50th …
  frame (1-based). The rule counts frames from the file's first frame, also after ``start``.
* "crop": ``imutils.resize(frame, height=224)`` (``cv2.resize`` to ``(int(w * 224 / h), 224)``,
  ``INTER_AREA``), then ``int((width - 224) / 2)`` columns off each side (so an odd difference
  leaves 225 columns, as SoccerNet's did). OpenCV's BGR channel order is kept.
* The duration is the container's as ``ffmpeg -i`` prints it (centiseconds, moviepy's
  ``VideoFileClip.duration``). When fewer than ``int(duration * fps_video) - 1`` frames could be
  decoded, ``fps_video`` becomes ``decoded / duration`` and the video is read again with that rate.

Only the kept frames are converted and resized (``grab`` for the others: the same frame sequence
as ``read``, without the colour conversion).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from spotting.errors import InputError

FPS = 2.0  # SoccerNet's feature rate
SIZE = 224  # frame height after resizing, and the crop's width


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float  # OpenCV's CAP_PROP_FPS
    duration_s: float  # the container's duration as ffmpeg prints it (what moviepy reads)
    width: int
    height: int
    frame_count: int  # OpenCV's CAP_PROP_FRAME_COUNT (an estimate for many containers)


def _ffmpeg_printed_duration(microseconds: int) -> float:
    """``ffmpeg -i``'s "Duration: HH:MM:SS.cc" (rounded to the nearest centisecond), parsed as moviepy
    1.0.3's ``cvsecs`` does: ``0 + seconds + 60 * minutes + 3600 * hours`` in floating point."""
    total = microseconds + 5000
    secs, us = divmod(total, 1_000_000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    centis = (100 * us) // 1_000_000
    parts = [float(f"{secs:02d}.{centis:02d}"), float(mins), float(hours)]
    return sum(mult * part for mult, part in zip((1, 60, 3600), parts))


def _container_duration_us(path: Path) -> int | None:
    """The container's duration (µs) from PyAV, which also screens out files FFmpeg cannot parse
    before OpenCV opens them (OpenCV's FFmpeg would print its own complaints on stderr)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(path, "has no video stream", "pass the match video")
            return None if container.duration is None else int(container.duration)
    except av.error.FFmpegError as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise InputError(path, f"not a video FFmpeg can read ({reason})",
                         "check the file, or convert it (ffmpeg -i IN -c:v libx264 OUT.mp4)") from None


def probe(path: str | Path) -> VideoInfo:
    """Frame rate, duration and size of a video; :class:`InputError` when it cannot be decoded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "video not found", "check the path")
    duration_us = _container_duration_us(path)
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise InputError(path, "OpenCV cannot decode this video",
                             "convert it to H.264 .mp4 or VP8/VP9 .webm (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not math.isfinite(fps) or fps < FPS:
        raise InputError(path, f"frame rate {fps:g} fps is below the {FPS:g} fps the features need",
                         "re-encode the video at its original frame rate (25 or 30 fps)")
    duration = _ffmpeg_printed_duration(duration_us) if duration_us else (count / fps if count > 0 else 0.0)
    if duration <= 0:
        raise InputError(path, "the video's duration is unknown", "remux it (ffmpeg -i IN -c copy OUT.mp4)")
    return VideoInfo(path, fps, duration, frame.shape[1], frame.shape[0], count)


def crop_frame(frame: np.ndarray) -> np.ndarray:
    """FrameCV's ``transform="crop"``: height 224 keeping the aspect ratio, sides cut (BGR kept).

    Where SoccerNet's crop leaves nothing (a resized width of 224 or 225, or a portrait video) the
    frame is centre-cropped to 224×224 instead."""
    height, width = frame.shape[:2]
    new_width = int(width * (SIZE / float(height)))
    resized = cv2.resize(frame, (new_width, SIZE), interpolation=cv2.INTER_AREA)
    off = int((new_width - SIZE) / 2)
    if off > 0:
        return resized[:, off:-off, :]
    if new_width >= SIZE:
        return resized[:, (new_width - SIZE) // 2:(new_width - SIZE) // 2 + SIZE, :]
    new_height = int(height * (SIZE / float(width)))  # portrait: fit the width, crop the height
    resized = cv2.resize(frame, (SIZE, new_height), interpolation=cv2.INTER_AREA)
    top = (new_height - SIZE) // 2
    return resized[top:top + SIZE]


@dataclass(frozen=True)
class Selection:
    """Which frames FrameCV keeps: 1-based ``i_frame`` tests on the video's frame rate."""

    video_fps: float
    start: float | None = None  # seconds
    duration: float | None = None  # seconds from ``start`` (``start`` None counts as 0)
    rate: float = FPS

    def keeps(self, i_frame: int) -> bool:
        if self.start is not None and i_frame < self.video_fps * self.start:
            return False
        if self.duration is not None and i_frame > self.video_fps * ((self.start or 0.0) + self.duration):
            return False
        return i_frame % (self.video_fps / self.rate) < 1

    def past_end(self, i_frame: int) -> bool:
        """No frame from ``i_frame`` on is kept (FrameCV still decodes them; we stop)."""
        return self.duration is not None and i_frame > self.video_fps * ((self.start or 0.0) + self.duration)

    def count(self, decoded: int) -> int:
        """How many of frames 1..decoded are kept."""
        return sum(self.keeps(i) for i in range(1, decoded + 1))


def expected_frames(info: VideoInfo) -> int:
    """FrameCV's ``numframe``: the frames the duration and frame rate promise."""
    return int(info.duration_s * info.fps)


def read_is_complete(info: VideoInfo, decoded: int, video_fps: float) -> bool:
    """FrameCV's check after a pass: ``numframe - (i_frame + 1) <= 1``."""
    return int(info.duration_s * video_fps) - (decoded + 1) <= 1


def corrected_fps(info: VideoInfo, decoded: int) -> float:
    """FrameCV's frame rate for its next pass when frames were missing."""
    return (decoded + 1) / info.duration_s


class FrameReader:
    """Kept frames of one pass, in order: ``for index, frame in reader`` (``frame`` None for the
    first ``skip`` kept frames, which are only counted: a resumed run does not need their pixels).

    After the loop ``decoded`` holds the frames decoded (FrameCV's ``i_frame``) and ``complete``
    tells whether FrameCV would have accepted this pass."""

    def __init__(self, info: VideoInfo, selection: Selection, skip: int = 0) -> None:
        self.info = info
        self.selection = selection
        self.skip = skip
        self.decoded = 0
        self.kept = 0
        self.stopped_early = False

    def __iter__(self) -> Iterator[tuple[int, np.ndarray | None]]:
        capture = cv2.VideoCapture(str(self.info.path))
        if not capture.isOpened():
            raise InputError(self.info.path, "OpenCV cannot open this video", "check the file")
        try:
            while capture.grab():
                self.decoded += 1
                if self.selection.past_end(self.decoded):
                    self.stopped_early = True
                    return
                if not self.selection.keeps(self.decoded):
                    continue
                index = self.kept
                self.kept += 1
                if index < self.skip:
                    yield index, None
                    continue
                ok, frame = capture.retrieve()
                if not ok:
                    raise InputError(self.info.path, f"frame {self.decoded} could not be decoded", "re-encode the video")
                yield index, crop_frame(frame)
        finally:
            capture.release()

    @property
    def complete(self) -> bool:
        """FrameCV's acceptance test; a pass that stopped at ``start + duration`` is taken as
        complete when the file goes on (FrameCV would have decoded the rest to no effect)."""
        return self.stopped_early or read_is_complete(self.info, self.decoded, self.selection.video_fps)


def read_frames(path: str | Path, start: float | None = None, duration: float | None = None,
                rate: float = FPS) -> np.ndarray:
    """All kept frames ``(N, 224, W, 3)`` uint8 BGR of a (short) video, FrameCV's retry included.

    For whole halves use :class:`FrameReader` (streaming); this helper is for tests and short clips."""
    info = probe(path)
    selection = Selection(info.fps, start, duration, rate)
    while True:
        reader = FrameReader(info, selection)
        frames = [frame for _, frame in reader]
        if reader.complete:
            break
        selection = replace(selection, video_fps=corrected_fps(info, reader.decoded))
    if not frames:
        return np.zeros((0, SIZE, SIZE, 3), dtype=np.uint8)
    return np.stack(frames)
