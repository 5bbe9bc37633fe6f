"""Which typed paths the app may open: every path a user types enters through :func:`typed_path`.

Used locally (the default: ``.streamlit/config.toml`` binds the server to 127.0.0.1) the app opens
whatever its user types, as any local tool does. When it is **restricted**, a typed path (SoccerNet
root, results files, checkpoints, prediction folders) must lie, after following symlinks, inside
one of the **data roots**; the check comes before anything is opened or even looked up, so an
answer never tells whether a file outside them exists. The app is restricted when

* it is served on a network: a Streamlit server is running and ``server.address`` is not a loopback
  address (an unset address means every interface), or
* ``STUDIO_DATA_ROOTS`` is set (e.g. behind a reverse proxy on 127.0.0.1, where the app cannot see
  that it is reachable from elsewhere).

Data roots: ``STUDIO_DATA_ROOTS`` (folders separated by ``os.pathsep``), by default the SoccerNet
root (``SOCCERNET_DIR`` or the shared data), its predictions root and the repository's ``assets/``;
the app's own folders (uploads, converted videos, your videos' features, a checkpoint's split results)
are always allowed.
See SECURITY.md.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path

from spotting.errors import InputError

DATA_ROOTS_ENV = "STUDIO_DATA_ROOTS"
REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS = REPO_ROOT / "assets"
APP_TEMP = Path(tempfile.gettempdir()) / "spotting-studio"  # uploads live under it
CACHE_ENV = "STUDIO_CACHE_DIR"


def _is_loopback(address: str) -> bool:
    host = address.strip().strip("[]")
    if host.lower() == "localhost" or host.startswith("unix:"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable from elsewhere


def served_on_network() -> bool:
    """True when a Streamlit server runs with ``server.address`` unset or not a loopback address."""
    from spotting.ui import compat

    # No server in a script, a CLI or under AppTest (whose stand-in runtime is a mock, not a Runtime).
    if not compat.real_server_running():
        return False
    return listens_beyond_loopback(compat.server_address())


def listens_beyond_loopback(address: str | None) -> bool:
    """``server.address`` as Streamlit reads it: unset (every interface) or not a loopback address."""
    return not address or not _is_loopback(str(address))


def restricted() -> bool:
    """Typed paths must lie inside the data roots (see the module docstring)."""
    return bool(os.environ.get(DATA_ROOTS_ENV, "").strip()) or served_on_network()


def studio_cache_dir() -> Path:
    """The app's own cache (converted videos, a checkpoint's split results): ``$STUDIO_CACHE_DIR`` or
    ``~/.cache/action-spotting-studio``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "action-spotting-studio"


def default_soccernet_root() -> str:
    """``SOCCERNET_DIR``, else the shared real data next to the repository when present."""
    if os.environ.get("SOCCERNET_DIR"):
        return os.environ["SOCCERNET_DIR"]
    shared = REPO_ROOT.parent / "shared" / "data" / "soccernet"
    return str(shared) if shared.is_dir() else ""


def predictions_root(soccernet_root: str) -> Path | None:
    """``SOCCERNET_PREDICTIONS_DIR``, else a ``predictions/`` folder beside the SoccerNet root."""
    candidate = os.environ.get("SOCCERNET_PREDICTIONS_DIR") or (
        str(Path(soccernet_root).parent / "predictions") if soccernet_root else "")
    return Path(candidate) if candidate and Path(candidate).is_dir() else None


def _app_folders() -> list[Path]:
    """Folders the app writes itself; what it reads back from them it wrote."""
    return [APP_TEMP, studio_cache_dir()]  # converted videos, your videos' features, split results


def data_roots() -> list[Path]:
    """The folders typed paths may point into when :func:`restricted` (resolved, existing or not)."""
    configured = [p for p in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    if configured:
        roots = [Path(p.strip()).expanduser() for p in configured]
    else:
        soccernet = default_soccernet_root()
        roots = [ASSETS]
        if soccernet:
            roots.append(Path(soccernet))
            predictions = predictions_root(soccernet)
            if predictions is not None:
                roots.append(predictions)
    return [root.resolve() for root in [*roots, *_app_folders()]]


def inside_data_roots(path: str | Path) -> bool:
    resolved = Path(path).expanduser().resolve()
    return any(resolved == root or resolved.is_relative_to(root) for root in data_roots())


def typed_path(text: str, what: str) -> Path:
    """The path a user typed, or :class:`InputError` when the app is restricted and it points elsewhere.

    ``what`` names the field ("results file", "checkpoint", ...) for the message, which echoes only
    what the user typed.
    """
    path = Path(text.strip()).expanduser()
    if restricted() and not inside_data_roots(path):
        raise InputError(text.strip(), f"this {what} is outside the data folders this app serves",
                         f"pick a path under them (whoever runs the app sets {DATA_ROOTS_ENV}; see SECURITY.md)")
    return path


def check_inside(path: str | Path, what: str) -> None:
    """For files the app opens from a game folder (a video it would serve): when restricted, a symlink
    out of the data roots is refused like a typed path."""
    if restricted() and not inside_data_roots(path):
        raise InputError(Path(path).name, f"the {what} links to a file outside the data folders this app serves",
                         "copy the file into the data folder instead of linking it")
