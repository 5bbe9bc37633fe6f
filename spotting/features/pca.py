"""SoccerNet's mean + PCA step, its pickles read without running code, and PCAs fitted on your games.

SoccerNet's ``ReduceFeaturesPCA.py`` subtracts the stored average (``average_512_TF2.pkl``, a
pickled float32 array) from the 2048-d ResNet152 features and calls the fitted scikit-learn PCA's
``transform`` (``pca_512_TF2.pkl``): ``((x - average) - pca.mean_) @ pca.components_.T`` (divided by
``sqrt(explained_variance_)`` only if the PCA whitens, which SoccerNet's does not).

Unpickling runs whatever code a pickle names, so the pickles are read by :class:`_RestrictedUnpickler`,
which builds numpy arrays and, in place of scikit-learn's PCA class, a plain record of its attributes;
any other global in the file is refused. Our own PCA files are ``.npz`` (plain arrays, read with
``allow_pickle=False``): ``fit-pca`` writes them, ``convert-pca`` turns SoccerNet's pickles into one.
"""

from __future__ import annotations

import _compat_pickle
import copyreg
import io
import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotting.errors import InputError

_PCA_CLASSES = {("sklearn.decomposition._pca", "PCA"), ("sklearn.decomposition.pca", "PCA")}
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5 arrays
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _PickledPCA:
    """Stands in for ``sklearn.decomposition.PCA`` while unpickling: only its attributes are kept."""


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (protocol 0/1 objects), for the stand-in class only."""
    if cls is not _PickledPCA or base is not object or state is not None:
        raise pickle.UnpicklingError("copyreg._reconstructor is only allowed for scikit-learn's PCA")
    return copyreg._reconstructor(cls, base, state)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names in protocol 0-2 pickles
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _PCA_CLASSES:
            return _PickledPCA
        if (module, name) in _NUMPY_GLOBALS:
            if module.startswith("numpy.core") and hasattr(np, "_core"):  # numpy 2 renamed numpy.core
                module = module.replace("numpy.core", "numpy._core", 1)
            return super().find_class(module, name)
        if (module, name) == ("copyreg", "_reconstructor"):  # objects in protocol 0-1 pickles
            return _reconstructor
        if (module, name) == ("builtins", "object"):  # _reconstructor's base class
            return object
        if (module, name) == ("_codecs", "encode"):  # bytes inside protocol-2 numpy scalars
            import _codecs

            return _codecs.encode
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


def _unpickle(path: Path, what: str) -> object:
    if not path.is_file():
        raise InputError(path, f"{what} not found", "check the path")
    try:
        data = path.read_bytes()
        return _RestrictedUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as error:
        if "is not allowed" in str(error):
            raise InputError(path, f"refused to unpickle: {error}",
                             f"expected SoccerNet's {what} (numpy arrays and a scikit-learn PCA only)") from None
        raise InputError(path, f"not a readable pickle ({error})", f"re-download SoccerNet's {what}") from None
    except Exception as error:  # truncated or damaged pickles fail in many ways
        raise InputError(path, f"not a readable pickle ({type(error).__name__})", f"re-download SoccerNet's {what}") from None


def _float_array(value: object, ndim: int, path: Path, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != ndim or not np.issubdtype(value.dtype, np.floating):
        shape = getattr(value, "shape", type(value).__name__)
        raise InputError(path, f"{what} is {shape}, expected a {ndim}-D float array", "check the PCA files")
    if not np.isfinite(value).all():
        raise InputError(path, f"{what} contains NaN or Inf", "re-download or refit the PCA")
    return value


@dataclass(frozen=True)
class Projection:
    """``(x - average - mean) @ components.T`` (``/ sqrt(explained_variance)`` when ``whiten``)."""

    average: np.ndarray  # (D,) subtracted first (SoccerNet's average_512_TF2.pkl)
    mean: np.ndarray  # (D,) the PCA's own mean_
    components: np.ndarray  # (d, D)
    explained_variance: np.ndarray  # (d,)
    whiten: bool = False
    source: str = ""
    total_variance: float = float("nan")  # of the fitted features (set by fit_projection, not saved)

    @property
    def input_dim(self) -> int:
        return int(self.components.shape[1])

    @property
    def output_dim(self) -> int:
        return int(self.components.shape[0])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(T, D)`` → ``(T, d)`` float32, in the order SoccerNet's script and scikit-learn ≤ 1.1 compute it."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise InputError(None, f"features of shape {x.shape} do not fit a PCA of input dimension {self.input_dim}",
                             f"use the PCA fitted on these features ({self.source or 'check --pca'})")
        out = ((x - self.average) - self.mean) @ self.components.T
        if self.whiten:
            out /= np.sqrt(self.explained_variance)
        return out.astype(np.float32, copy=False)

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` of plain arrays, atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pca-", suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, average=self.average, mean=self.mean, components=self.components,
                     explained_variance=self.explained_variance, whiten=np.bool_(self.whiten))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return path


def load_soccernet_pca(pca_path: str | Path, average_path: str | Path) -> Projection:
    """SoccerNet's ``pca_512_TF2.pkl`` + ``average_512_TF2.pkl`` (or any pickled scikit-learn PCA and
    mean array), read by the restricted unpickler."""
    pca_path, average_path = Path(pca_path), Path(average_path)
    pca = _unpickle(pca_path, "PCA pickle (pca_512_TF2.pkl)")
    if not isinstance(pca, _PickledPCA):
        raise InputError(pca_path, f"holds a {type(pca).__name__}, not a scikit-learn PCA",
                         "pass SoccerNet's pca_512_TF2.pkl as --pca and average_512_TF2.pkl as --pca-mean")
    state = vars(pca)
    components = _float_array(state.get("components_"), 2, pca_path, "components_")
    mean = _float_array(state.get("mean_"), 1, pca_path, "mean_")
    variance = state.get("explained_variance_")
    whiten = bool(state.get("whiten", False))
    variance = (_float_array(variance, 1, pca_path, "explained_variance_") if variance is not None
                else np.ones(components.shape[0], dtype=components.dtype))
    average = _unpickle(average_path, "mean pickle (average_512_TF2.pkl)")
    average = _float_array(average, 1, average_path, "the average")
    if not (mean.shape[0] == average.shape[0] == components.shape[1]) or variance.shape[0] != components.shape[0]:
        raise InputError(pca_path, f"PCA of {components.shape} does not fit a mean of {average.shape}",
                         "pass the PCA and the mean of the same SoccerNet release")
    return Projection(average, mean, components, variance, whiten, source=str(pca_path))


def load_npz(path: str | Path) -> Projection:
    """A PCA written by ``fit-pca`` / ``convert-pca`` (plain arrays, no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "PCA file not found", "check --pca, or fit one with python -m spotting.features fit-pca")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as error:  # zip and format errors
        raise InputError(path, f"not a readable .npz PCA file ({type(error).__name__})",
                         "refit it with python -m spotting.features fit-pca") from None
    missing = {"average", "mean", "components", "explained_variance"} - set(arrays)
    if missing:
        raise InputError(path, f"lacks {', '.join(sorted(missing))}", "refit it with python -m spotting.features fit-pca")
    components = _float_array(arrays["components"], 2, path, "components")
    average = _float_array(arrays["average"], 1, path, "average")
    mean = _float_array(arrays["mean"], 1, path, "mean")
    variance = _float_array(arrays["explained_variance"], 1, path, "explained_variance")
    if not (average.shape[0] == mean.shape[0] == components.shape[1]) or variance.shape[0] != components.shape[0]:
        raise InputError(path, "arrays of inconsistent sizes", "refit it with python -m spotting.features fit-pca")
    return Projection(average, mean, components, variance, bool(arrays.get("whiten", False)), source=str(path))


def load_projection(pca: str | Path, average: str | Path | None = None) -> Projection:
    """``--pca`` (``.npz``, or a SoccerNet ``.pkl`` with ``--pca-mean``) → :class:`Projection`."""
    pca = Path(pca)
    if pca.suffix == ".npz":
        return load_npz(pca)
    if average is None:
        raise InputError(pca, "a pickled PCA needs its mean", "pass --pca-mean average_512_TF2.pkl as well")
    return load_soccernet_pca(pca, average)


def fit_projection(halves: Iterable[np.ndarray], dim: int, block: int = 4096) -> Projection:
    """PCA of ``(T_i, D)`` feature arrays (any number, memory-mapped is fine) to ``dim`` components.

    Two passes in float64 (the mean, then the covariance), eigenvectors of the covariance; each
    component's sign makes its largest-magnitude entry positive, as scikit-learn's ``svd_flip`` does,
    so the result equals ``PCA(dim, svd_solver="full")`` fitted on the same frames. The mean is
    stored as ``average`` (SoccerNet's layout) and the PCA's own mean is zero."""
    arrays = list(halves)
    if not arrays:
        raise InputError(None, "no features to fit a PCA on", "check --soccernet-dir, --split and --features")
    width = arrays[0].shape[1]
    if any(a.ndim != 2 or a.shape[1] != width for a in arrays):
        raise InputError(None, "the features have different dimensions", "fit a PCA on one kind of features")
    total = sum(a.shape[0] for a in arrays)
    if not 0 < dim <= min(width, total - 1):
        raise InputError(None, f"cannot keep {dim} components of {total} frames × {width}",
                         f"choose --dim between 1 and {min(width, total - 1)}")
    sums = np.zeros(width)
    for a in arrays:
        for first in range(0, a.shape[0], block):
            sums += np.asarray(a[first:first + block], dtype=np.float64).sum(axis=0)
    average = sums / total
    scatter = np.zeros((width, width))
    for a in arrays:
        for first in range(0, a.shape[0], block):
            centred = np.asarray(a[first:first + block], dtype=np.float64) - average
            scatter += centred.T @ centred
    values, vectors = np.linalg.eigh(scatter / (total - 1))
    order = np.argsort(values)[::-1][:dim]
    components = vectors[:, order].T  # (dim, D)
    signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])
    components *= np.where(signs == 0, 1.0, signs)[:, None]
    return Projection(average.astype(np.float32), np.zeros(width, np.float32), components.astype(np.float32),
                      np.maximum(values[order], 0).astype(np.float32), False, source="fit",
                      total_variance=float(np.maximum(values, 0).sum()))
