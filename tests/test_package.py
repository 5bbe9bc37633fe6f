"""The installable package: a wheel built from pyproject.toml installs and runs outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("spotting-train", "spotting-infer", "spotting-evaluate", "spotting-calibrate", "spotting-synth", "spotting-features")


def _run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """Wheel built (no network, no build isolation) from a copy of the sources — the build writes
    ``build/`` and ``*.egg-info`` beside its input, which must not land in the checkout — and
    installed with ``pip install --no-deps --target``."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    shutil.copytree(ROOT / "spotting", source / "spotting", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                 "-w", str(work / "dist"), str(source), cwd=work, timeout=180)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (work / "dist").glob("*.whl")
    target = work / "site"
    done = _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel),
                cwd=work, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    outside = work / "elsewhere"  # no spotting/ here, nor above: only the installed copy can be imported
    outside.mkdir()
    return {"wheel": wheel, "target": target, "cwd": outside, "source": source}


def _env(target: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(target)}


def test_wheel_holds_the_package_its_data_and_metadata(installed) -> None:
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    # every file the package reads beside its modules (player JS/CSS, synth statistics, ...)
    source = installed["source"]
    data = {p.relative_to(source).as_posix() for p in (source / "spotting").rglob("*") if p.is_file() and p.suffix != ".py"}
    assert "spotting/synth/stats.json" in data and "spotting/ui/player/player.css" in data
    assert data <= names, sorted(data - names)
    assert "spotting/__init__.py" in names and not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    assert all(f"{script} = spotting.console:" in entry_points for script in SCRIPTS)
    assert "Requires-Dist: torch>=2.4" in metadata and "Provides-Extra: test" in metadata
    assert 'Requires-Dist: pytest>=8; extra == "test"' in metadata


def _requirements(path: Path) -> list[str]:
    """A requirements file's specifiers, files it includes with ``-r`` resolved."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r"):
            found += _requirements(path.parent / line[2:].strip())
        elif line:
            found.append(line.replace(" ", ""))
    return found


def test_pyproject_lists_the_requirement_files_packages() -> None:
    """pyproject.toml's dependencies are exactly what the README's set-up commands install."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert sorted(project["dependencies"]) == sorted(_requirements(ROOT / "requirements.txt"))
    assert sorted(extras["test"]) == sorted(_requirements(ROOT / "requirements-dev.txt"))
    if (ROOT / "requirements-features.txt").is_file():
        assert sorted(extras["features"]) == sorted(_requirements(ROOT / "requirements-features.txt"))


def test_installed_package_runs_outside_the_checkout(installed) -> None:
    env, cwd, target = _env(installed["target"]), installed["cwd"], installed["target"]
    where = _run(sys.executable, "-c", "import spotting, spotting.synth.timeline as t; "
                 "print(spotting.__file__); print(t.STATS_FILE.is_file())", cwd=cwd, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.splitlines()[0]).is_relative_to(target) and where.stdout.splitlines()[1] == "True"
    module = _run(sys.executable, "-m", "spotting.evaluate", "--help", cwd=cwd, env=env)
    assert module.returncode == 0 and "usage" in module.stdout, module.stderr
    for script in SCRIPTS:  # pip writes the console scripts into TARGET/bin
        assert (target / "bin" / script).is_file(), script
    script = _run(str(target / "bin" / "spotting-evaluate"), "--help", cwd=cwd, env=env)
    assert script.returncode == 0 and "usage" in script.stdout, script.stderr
    bad = _run(str(target / "bin" / "spotting-evaluate"), "--soccernet-dir", str(cwd / "nowhere"),
               "--predictions-dir", str(cwd / "nowhere"), cwd=cwd, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr  # one line, as with python -m
