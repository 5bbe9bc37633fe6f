"""#17: one vocabulary for every command, checked from one table (a row per command).

For each command: ``--help`` exits 0 and ends with an example line; the shared options carry the
meaning of ``spotting.options.HELP`` and the same defaults; bad input → exit 2 with one stderr line
naming the file (no traceback); a tiny good input → exit 0 with its summary line last; an internal
error is not swallowed (exit 1 with its traceback); and, for each command that selects games, the
split vocabulary: an official split name, ``all``, a sub-folder, a file listing games, and an unknown
name → exit 2 listing the choices. The commands are discovered (console scripts, ``python -m``
modules, the features subcommands), so a new command without a row fails here.

Runs in-process through each module's ``cli(argv)``; one subprocess checks a ``python -m`` entry point.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from planted import planted_game
from spotting.checkpoint import save_checkpoint
from spotting.model import CALF, ModelConfig
from spotting.options import HELP
from spotting.selection import official_games
from spotting.synth.game import labels_dict

ROOT = Path(__file__).resolve().parents[1]
SMALL = ModelConfig(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20)
OFFICIAL = official_games("test")[0]  # a real test-split game name, for a tiny game of that name
CUSTOM = ("custom/2020-2021/game a", "custom/2020-2021/game b")  # the sub-folder 'custom': 2 games
OTHER = "other/2020-2021/game c"
LISTED = (OFFICIAL, CUSTOM[0], OTHER)  # the split file: 3 games
# How many games each form of split selects (all distinct, so a summary's count says which rule ran).
SPLIT_COUNTS = {"test": 1, "custom": 2, "FILE": 3, "all": 4}
# Defaults every command gives a shared option (None: resolved at run time, as its help says).
SHARED_DEFAULTS = {"--features": None, "--classes": None, "--labels-file": None, "--framerate": None,
                   "--device": "auto", "--force": False, "--threshold": 0.0, "--nms-window": None, "--out-dir": None}


@dataclass
class Row:
    """One command: how to run it, its shared options, a bad and a good input (``D`` = the tiny data)."""

    module: str
    subcommand: str | None
    options: dict[str, object]  # shared option → expected default (``SHARED_DEFAULTS`` unless given here)
    bad: Callable[[dict], tuple[list[str], Path]]  # → argv, the file the error must name
    good: Callable[[dict], list[str]]
    split_option: str | None = None  # the option that selects games, if any
    summary: str = ""  # the summary line's first word(s)

    @property
    def name(self) -> str:
        return self.module.removeprefix("spotting.") + (f" {self.subcommand}" if self.subcommand else "")

    def argv(self, rest: list[str]) -> list[str]:
        return [self.subcommand, *rest] if self.subcommand else rest


def _p(x: object) -> str:
    return str(x)


ROWS = [
    Row("spotting.train", None,
        {"--soccernet-dir": "ENV", "--train-split": "train", "--valid-split": "valid", "--features": None,
         "--classes": None, "--labels-file": None, "--framerate": None, "--device": "auto", "--force": False,
         "--out": None},
        bad=lambda d: (["--soccernet-dir", _p(d["tmp"] / "nowhere"), "--out", _p(d["tmp"] / "run-bad")], d["tmp"] / "nowhere"),
        good=lambda d: ["--soccernet-dir", _p(d["root"]), "--features", "planted", "--train-split", "all",
                        "--valid-split", "", "--out", _p(d["fresh"]("run")), "--epochs", "1", "--chunks-per-epoch", "16",
                        "--batch-size", "16", "--workers", "0", "--no-attention", "--chunk-seconds", "60",
                        "--receptive-field-seconds", "20", "--device", "cpu"],
        split_option="--train-split", summary="train"),
    Row("spotting.infer", None,
        {"--soccernet-dir": "ENV", "--split": "all", "--features": None, "--device": "auto", "--force": False,
         "--threshold": 0.0, "--nms-window": None, "--out": None, "--out-dir": None},
        bad=lambda d: (["--game-dir", _p(d["root"] / OTHER), "--checkpoint", _p(d["tmp"] / "none.pt")], d["tmp"] / "none.pt"),
        good=lambda d: ["--soccernet-dir", _p(d["root"]), "--split", "all", "--checkpoint", _p(d["checkpoint"]),
                        "--out-dir", _p(d["fresh"]("preds")), "--device", "cpu"],
        split_option="--split", summary="infer"),
    Row("spotting.evaluate", None,
        {"--soccernet-dir": "ENV", "--split": "all", "--classes": None, "--labels-file": None, "--framerate": None,
         "--force": False},
        bad=lambda d: (["--soccernet-dir", _p(d["root"]), "--predictions-dir", _p(d["tmp"] / "no-preds")], d["tmp"] / "no-preds"),
        good=lambda d: ["--soccernet-dir", _p(d["root"]), "--predictions-dir", _p(d["predictions"]), "--split", "all"],
        split_option="--split", summary="evaluate"),
    Row("spotting.calibration", None,
        {"--soccernet-dir": "ENV", "--valid-split": "valid", "--features": None, "--device": "auto", "--force": False,
         "--out": None},
        bad=lambda d: (["--checkpoint", _p(d["tmp"] / "none.pt"), "--soccernet-dir", _p(d["root"]), "--out",
                        _p(d["tmp"] / "cal.pt")], d["tmp"] / "none.pt"),
        good=lambda d: ["--checkpoint", _p(d["checkpoint"]), "--soccernet-dir", _p(d["root"]), "--valid-split", "all",
                        "--out", _p(d["fresh"]("calibrated.pt")), "--device", "cpu"],
        split_option="--valid-split", summary="calibration"),
    Row("spotting.features", None, {"--out": None, "--device": "auto", "--force": False},
        bad=lambda d: (["--video", _p(d["tmp"] / "none.mp4"), "--out", _p(d["tmp"] / "g"), "--half", "1"], d["tmp"] / "none.mp4"),
        good=lambda d: ["--video", _p(d["clip"]), "--out", _p(d["fresh"]("my-match")), "--half", "1", "--extractor",
                        "EfficientNetLite0", "--quiet"],
        summary="features"),
    Row("spotting.features", "fit-pca", {"--soccernet-dir": "ENV", "--split": "all", "--features": None,
                                         "--force": False, "--out": None},
        bad=lambda d: (["--soccernet-dir", _p(d["tmp"] / "nowhere"), "--features", "planted", "--out",
                        _p(d["tmp"] / "p.npz")], d["tmp"] / "nowhere"),
        good=lambda d: ["--soccernet-dir", _p(d["root"]), "--split", "all", "--features", "planted", "--dim", "4",
                        "--out", _p(d["fresh"]("pca.npz"))],
        split_option="--split", summary="features fit-pca"),
    Row("spotting.features", "apply-pca", {"--soccernet-dir": "ENV", "--split": "all", "--features": None,
                                           "--force": False},
        bad=lambda d: (["--soccernet-dir", _p(d["root"]), "--features", "planted", "--pca", _p(d["tmp"] / "none.npz")],
                       d["tmp"] / "none.npz"),
        good=lambda d: ["--soccernet-dir", _p(d["root"]), "--split", "all", "--features", "planted", "--pca",
                        _p(d["pca"]), "--force"],
        split_option="--split", summary="features apply-pca"),
    Row("spotting.features", "convert-pca", {"--out": None, "--force": False},
        bad=lambda d: (["--pca", _p(d["tmp"] / "none.pkl"), "--pca-mean", _p(d["mean_pkl"]), "--out",
                        _p(d["tmp"] / "c.npz")], d["tmp"] / "none.pkl"),
        good=lambda d: ["--pca", _p(d["pca_pkl"]), "--pca-mean", _p(d["mean_pkl"]), "--out", _p(d["fresh"]("c.npz"))],
        summary="features convert-pca"),
    Row("spotting.synth", None, {"--out": None, "--features": None, "--force": False},
        bad=lambda d: (["--out", _p(d["root"] / OTHER)], d["root"] / OTHER),  # a non-empty folder, no --force
        good=lambda d: ["--out", _p(d["fresh"]("synthetic")), "--minutes", "0.2", "--no-video"],
        summary="synth"),
    Row("spotting.demo", None, {"--force": False},
        bad=lambda d: (["build"], ROOT / "assets" / "demo" / "game"),  # the committed demo assets, no --force
        good=lambda d: ["build", "--work", _p(d["fresh"]("demo-work"))],  # build itself stubbed: hours of training
        summary="demo build"),
]


# -- discovery ------------------------------------------------------------------------------------

def discovered_commands() -> set[str]:
    """Every command: the console scripts' modules, every ``python -m`` module, the features subcommands."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    console = (ROOT / "spotting" / "console.py").read_text()
    modules = set()
    for target in scripts.values():
        function = target.split(":")[1]
        body = console.split(f"def {function}(", 1)[1].split("\ndef ", 1)[0]
        modules.add(re.search(r"from (spotting[\w.]*) import cli", body).group(1).removesuffix(".__main__"))
    for path in (ROOT / "spotting").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "spotting").parts:  # app pages, run by Streamlit
            continue
        if '__name__ == "__main__"' in path.read_text():
            modules.add(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__main__"))
    from spotting.features.__main__ import COMMANDS

    names = {m.removeprefix("spotting.") for m in modules}
    return names | {f"features {c}" for c in COMMANDS if c != "extract"}


def test_every_command_has_a_row() -> None:
    assert discovered_commands() == {row.name for row in ROWS}


@pytest.mark.parametrize("module", sorted({row.module for row in ROWS}))
def test_python_m_runs_the_module_cli(module: str) -> None:
    """``python -m`` goes through ``cli()`` (exit 2 on bad input), as the console script does."""
    path = ROOT / Path(*module.split("."))
    source = (path / "__main__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
    assert re.search(r'if __name__ == "__main__":\n    (raise SystemExit|sys\.exit)\(cli\(\)\)', source)


# -- fixtures -------------------------------------------------------------------------------------

def _write_game(folder: Path, seed: int) -> dict:
    folder.mkdir(parents=True)
    features, labels = planted_game(np.random.default_rng(seed), num_frames=300, events_per_half=6)
    for half in (1, 2):
        np.save(folder / f"{half}_planted.npy", features[half])
    data = labels_dict(labels, "home", "away")
    (folder / "Labels-v2.json").write_text(json.dumps(data))
    return data


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("vocabulary")
    root, predictions = tmp / "SoccerNet", tmp / "predictions"
    for seed, name in enumerate((OFFICIAL, *CUSTOM, OTHER)):
        labels = _write_game(root / name, seed)
        results = [{**a, "half": a["gameTime"][0], "confidence": "1.0"} for a in labels["annotations"]]
        (predictions / name).mkdir(parents=True)
        (predictions / name / "results_spotting.json").write_text(json.dumps({"UrlLocal": name, "predictions": results}))
    listed = tmp / "games.txt"
    listed.write_text("# three games\n" + "\n".join(LISTED) + "\n")
    checkpoint = save_checkpoint(tmp / "model.pt", CALF(SMALL), "planted.npy")
    from spotting.features import pca

    fitted = pca.fit_projection([np.random.default_rng(0).standard_normal((50, 32)).astype(np.float32)], 4)
    sklearn = pytest.importorskip("sklearn.decomposition")
    x = np.random.default_rng(1).standard_normal((30, 8)).astype(np.float32)
    pca_pkl, mean_pkl = tmp / "pca.pkl", tmp / "mean.pkl"
    import pickle

    pca_pkl.write_bytes(pickle.dumps(sklearn.PCA(n_components=2).fit(x), protocol=4))
    mean_pkl.write_bytes(pickle.dumps(np.zeros(8, np.float32), protocol=4))
    from test_features import write_clip

    clip = write_clip(tmp / "clip.mp4", 64, 48, 25, 50)
    counter = iter(range(10**6))
    return {"tmp": tmp, "root": root, "predictions": predictions, "listed": listed, "checkpoint": checkpoint,
            "pca": fitted.save(tmp / "fitted.npz"), "pca_pkl": pca_pkl, "mean_pkl": mean_pkl, "clip": clip,
            "fresh": lambda name: tmp / f"out{next(counter)}" / name}


class _FakeBackbone:
    """EfficientNet-Lite0's name and size, constant features: extraction without a network."""

    name, dim, identity = "EfficientNetLite0", 1280, "fake"

    def __init__(self) -> None:
        import torch

        self.device = torch.device("cpu")

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.zeros((len(frames), self.dim), np.float32)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("SOCCERNET_DIR", raising=False)  # an engineer's own root must not answer for --soccernet-dir
    monkeypatch.setattr("spotting.features.extractors.build_backbone", lambda *a, **k: _FakeBackbone())
    monkeypatch.setattr("spotting.calibration.OFFSETS_S", np.zeros(1))  # 6 settings, not 156: selection is tested here


def cli_of(row: Row) -> Callable[[list[str]], int]:
    module = importlib.import_module(row.module if row.module != "spotting.features" else "spotting.features.__main__")
    module = importlib.import_module("spotting.synth.__main__") if row.module == "spotting.synth" else module
    return module.cli


def run(row: Row, rest: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli_of(row)(row.argv(rest))
    except SystemExit as exit_:  # argparse: --help, usage errors
        code = exit_.code
    captured = capsys.readouterr()
    # None is exit status 0 (``raise SystemExit(cli())``): torchrun's ``record`` (train) returns None for --help.
    return 0 if code is None else code, captured.out, captured.err


class _Parser(Exception):
    pass


def parser_of(row: Row, monkeypatch) -> argparse.ArgumentParser:
    """The command's parser, caught as it parses (most are built inside ``main``)."""
    def catch(self, args=None, namespace=None):
        raise _Parser(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    with pytest.raises(_Parser) as caught:
        cli_of(row)(row.argv([]))
    monkeypatch.undo()
    return caught.value.args[0]


def summary_of(row: Row, err: str) -> str:
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"{row.summary}: .+; .+ in \d+\.\d s", last), err[-2000:]
    return last


IDS = [row.name for row in ROWS]
SELECTING = [row for row in ROWS if row.split_option]


# -- the table ------------------------------------------------------------------------------------

@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_help_exits_0_with_an_example(row: Row, capsys) -> None:
    code, out, _ = run(row, ["--help"], capsys)
    assert code == 0
    example = out.split("example", 1)[1]
    assert f"python -m {row.module}" + (f" {row.subcommand}" if row.subcommand else "") in example


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_shared_options_mean_the_same_everywhere(row: Row, monkeypatch) -> None:
    parser = parser_of(row, monkeypatch)
    actions = {name: action for action in parser._actions for name in action.option_strings}
    declared = {name for name in actions if name in HELP or name.endswith("-split")}
    assert declared == set(row.options), "the row lists the shared options its command has"
    for name, default in row.options.items():
        action = actions[name]
        meaning = HELP["--split" if name.endswith("-split") else name]
        assert action.help.startswith(meaning), (name, action.help)
        if default == "ENV":
            assert action.default is None  # SOCCERNET_DIR is unset here
            assert "$SOCCERNET_DIR" in action.help
        else:
            assert action.default == default, name
        if name in SHARED_DEFAULTS:
            assert action.default == SHARED_DEFAULTS[name], name
    if "--features" in actions:  # with or without .npy, everywhere
        assert actions["--features"].type("planted") == "planted.npy"


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_option_has_help_with_its_default_and_no_rst(row: Row, monkeypatch, capsys) -> None:
    """Every option but -h says what it does and, when it has one, its default; descriptions are whole
    sentences without reST markup (``x``, :mod:`x`), which argparse prints as typed."""
    parser = parser_of(row, monkeypatch)
    for action in parser._actions:
        if action.option_strings == ["-h", "--help"]:
            continue
        assert action.help, (row.name, action.option_strings or action.dest)
        if action.option_strings and action.default is not None and action.default is not False:  # 0 included
            assert "default" in parser._get_formatter()._get_help_string(action), (row.name, action.option_strings)
    code, out, _ = run(row, ["--help"], capsys)
    assert code == 0 and "``" not in out and ":mod:" not in out and ":class:" not in out, out
    assert parser.description.rstrip().endswith((".", ")")), parser.description


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_bad_input_exits_2_with_one_line_naming_the_file(row: Row, data, capsys) -> None:
    argv, named = row.bad(data)
    code, _, err = run(row, argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert str(named) in lines[0] and " — " in lines[0], lines[0]  # the file, then the fix


NOT_SELECTING = [row for row in ROWS if not row.split_option]


@pytest.mark.parametrize("row", NOT_SELECTING, ids=[row.name for row in NOT_SELECTING])
def test_good_input_exits_0_ending_with_its_summary(row: Row, data, capsys, monkeypatch) -> None:
    """(A command that selects games runs its good input once per form of split, below: 'all' is this one.)"""
    monkeypatch.setattr("spotting.demo.build", lambda *a, **k: None)  # the demo's hours of training
    code, _, err = run(row, row.good(data), capsys)
    assert code == 0, err[-3000:]
    summary_of(row, err)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_an_internal_error_is_not_turned_into_bad_input(row: Row, monkeypatch) -> None:
    """Exit 1 with the traceback: ``cli`` lets anything but bad input through (Python prints it)."""
    def broken(self, args=None, namespace=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli_of(row)(row.argv([]))


@pytest.mark.parametrize("split", list(SPLIT_COUNTS))
@pytest.mark.parametrize("row", SELECTING, ids=[row.name for row in SELECTING])
def test_every_form_of_split_selects_its_games(row: Row, split: str, data, capsys) -> None:
    """An official name (absent games noted), 'all', a sub-folder, a file listing games: the summary counts
    the games each selects (1, 2, 3 and 4 here, so the count says which rule ran)."""
    argv = [a if a != "all" else (str(data["listed"]) if split == "FILE" else split) for a in row.good(data)]
    if row.name == "evaluate":
        argv.append("--missing-as-empty")
    code, _, err = run(row, argv, capsys)
    assert code == 0, err[-3000:]
    count = re.match(rf"{row.summary}: (\d+) ", summary_of(row, err)).group(1)
    assert int(count) == SPLIT_COUNTS[split], err[-2000:]


@pytest.mark.parametrize("row", SELECTING, ids=[row.name for row in SELECTING])
def test_an_unknown_split_exits_2_listing_the_choices(row: Row, data, capsys) -> None:
    argv = [a if a != "all" else "no-such-split" for a in row.good(data)]
    code, _, err = run(row, argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "unknown split 'no-such-split'" in lines[0] and str(data["root"]) in lines[0]
    for choice in ("train, valid, test, challenge, all", "custom", "other", "a file listing game folders"):
        assert choice in lines[0], lines[0]


@pytest.mark.parametrize("row", SELECTING, ids=[row.name for row in SELECTING])
def test_a_missing_soccernet_dir_is_one_error_line_with_the_fix(row: Row, data, capsys) -> None:
    """No --soccernet-dir and no $SOCCERNET_DIR: one ``error:`` line saying both ways to give it, not argparse's
    whole usage block."""
    argv = row.good(data)
    at = argv.index("--soccernet-dir")
    code, _, err = run(row, argv[:at] + argv[at + 2:], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "usage:" not in err, err
    assert lines[0].startswith("error: ") and "--soccernet-dir" in lines[0] and "SOCCERNET_DIR" in lines[0], lines[0]


def test_a_python_m_command_on_bad_input_exits_2_with_one_line(data) -> None:
    """One real process: the module entry point, not only ``cli()``, gives exit 2 and one line."""
    result = subprocess.run([sys.executable, "-m", "spotting.infer", "--soccernet-dir", str(data["root"]), "--split",
                             "nope", "--checkpoint", str(data["checkpoint"]), "--out-dir", str(data["tmp"] / "x")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "unknown split 'nope'" in result.stderr and "Traceback" not in result.stderr
