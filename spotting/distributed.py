"""One process or many, the same commands: the process group that ``torchrun`` describes.

``torchrun --nproc_per_node=N -m spotting.train …`` starts N copies of the command with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in their environment; ``python -m
spotting.train …`` starts one, without them. :func:`session` turns either into a :class:`Rank`:

* one process (no ``WORLD_SIZE``, or 1): no process group, every helper here is a no-op;
* several: ``torch.distributed`` with NCCL when the ranks compute on CUDA (each on
  ``cuda:LOCAL_RANK``), Gloo on the CPU, a finite timeout on every collective and the group
  destroyed on the way out, whatever happens.

A failure on one rank ends the job: ``torchrun`` sees that process exit non-zero and stops the
others (they may be waiting in a collective), and reports the failed rank's error. Where the
processes are started some other way, the collective timeout ends the wait instead of a hang.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

from spotting.checkpoint import resolve_device

T = TypeVar("T")
# Rank 0 alone validates and calibrates while the others wait in a collective: the timeout must
# exceed that. 30 min is torch's own default for Gloo (NCCL's is 10 min).
DEFAULT_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Rank:
    """Where this process stands: ``rank`` of ``world_size`` (``local_rank`` on its machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that validates, writes files and draws progress bars."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def environment() -> Rank:
    """The rank ``torchrun`` gave this process (rank 0 of 1 without torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Rank(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def current() -> Rank:
    """This process's rank in the initialised process group (rank 0 of 1 when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return Rank(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return Rank()


def local_device(device: str = "auto", rank: Rank | None = None) -> torch.device:
    """``device`` for this rank: CUDA ranks each take ``cuda:LOCAL_RANK`` (``auto`` and ``cuda``)."""
    rank = rank or current()
    resolved = resolve_device(device)  # InputError when CUDA is asked for but absent
    if resolved.type == "cuda" and rank.distributed and device in ("auto", "", "cuda"):
        return torch.device("cuda", rank.local_rank)
    return resolved


@contextmanager
def session(device: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S, cpu_only: bool = False) -> Iterator[Rank]:
    """Join torchrun's process group for the ``with`` block (nothing to join in one process).

    NCCL when this rank computes on CUDA, else Gloo; ``cpu_only`` takes Gloo in any case (split
    inference only exchanges a few numbers between ranks, whatever device computes)."""
    rank = environment()
    if not rank.distributed:
        yield rank
        return
    target = local_device(device, rank)
    if target.type == "cuda" and not cpu_only:
        torch.cuda.set_device(target)
        dist.init_process_group("nccl", timeout=timedelta(seconds=timeout_s), device_id=target)
    else:
        dist.init_process_group("gloo", timeout=timedelta(seconds=timeout_s))
    try:
        yield current()
        # Leave together: a rank that tears its group down while another still talks to it can abort
        # in Gloo's threads at exit ("terminate called without an active exception"). Not after an
        # error: the others may never come, and torchrun stops them anyway.
        dist.barrier()
    finally:
        gc.collect()  # a DDP model held only by a reference cycle goes while its process group still exists
        dist.destroy_process_group()


def barrier() -> None:
    """Every rank waits here for the others (no-op in one process)."""
    if current().distributed:
        dist.barrier()


def broadcast_float(value: float, device: torch.device | str = "cpu") -> float:
    """Rank 0's ``value`` on every rank (the others' ``value`` is ignored; no-op in one process).
    ``device`` must be where the backend communicates: CUDA under NCCL."""
    if not current().distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum over ranks of ``tensor`` (a new tensor; the input itself in one process)."""
    if not current().distributed:
        return tensor
    total = tensor.clone()
    dist.all_reduce(total)
    return total


def gather_objects(value: T) -> list[T]:
    """Every rank's ``value``, in rank order (``[value]`` in one process)."""
    if not current().distributed:
        return [value]
    values: list = [None] * current().world_size
    dist.all_gather_object(values, value)
    return values


def share(items: Sequence[T], rank: Rank | None = None) -> list[T]:
    """This rank's share of ``items``: every ``world_size``-th from ``rank`` (all of them in one process)."""
    rank = rank or current()
    return list(items[rank.rank:: rank.world_size])


class GlobalBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the global batch for CPU ranks (Gloo): torch's ``nn.SyncBatchNorm`` refuses CPU
    tensors. Per-channel sums and counts, then sums of squared deviations from the global mean, are
    added over the ranks by ``torch.distributed.nn.functional.all_reduce``, whose backward adds the
    gradients over the ranks as well, so the result and its gradients are those of one BatchNorm over the whole batch (unequal
    local batches included). Outside training, or without a process group, it is a BatchNorm1d
    (same state-dict keys: checkpoints load into plain CALF).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` or ``(B, C)`` → same shape."""
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce  # autograd-aware

        dims = [0] + list(range(2, x.dim()))
        channels = x.shape[1]
        shape = [1, channels] + [1] * (x.dim() - 2)
        count = torch.full((1,), x.numel() // channels, dtype=x.dtype, device=x.device)
        with warnings.catch_warnings():  # deprecated for a replacement that has autograd only in recent torch
            warnings.simplefilter("ignore", FutureWarning)
            sums = all_reduce(torch.cat((x.sum(dims), count)))
            n = sums[-1]
            mean = sums[:channels] / n
            centred = x - mean.view(shape)
            # Two passes (mean, then squared deviations) as BatchNorm itself: E[x²] − E[x]² loses digits.
            var = all_reduce((centred * centred).sum(dims)) / n  # biased: what BatchNorm normalises with
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), factor)
                self.running_var.lerp_(var.detach() * n / (n - 1), factor)  # unbiased, as BatchNorm keeps
        y = centred * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def _convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Every BatchNorm1d in ``module`` → :class:`GlobalBatchNorm` sharing its parameters and buffers."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm1d) and not isinstance(child, GlobalBatchNorm):
            replacement = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            if child.affine:  # the same Parameter objects: an optimizer built earlier keeps working
                replacement.weight, replacement.bias = child.weight, child.bias
            replacement.train(child.training)
            setattr(module, name, replacement)
        else:
            _convert_global_batchnorm(child)
    return module


def data_parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with BatchNorm synchronised over the ranks, wrapped in DistributedDataParallel (the
    model itself in one process). CUDA: torch's ``nn.SyncBatchNorm``; CPU: :class:`GlobalBatchNorm`.
    DDP broadcasts rank 0's weights and buffers at the start, so every rank starts equal."""
    if not current().distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[device])
    return DistributedDataParallel(_convert_global_batchnorm(model))
