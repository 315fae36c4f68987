"""Where and how the model runs: device, mixed precision, thread count and DDP rank, decided once.

The CPU takes the same code path as the GPU: only the device and the autocast context differ.
"""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from abcgen.cpus import usable_cores
from abcgen.errors import AbcgenError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "bf16", "fp32")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""CPU flags with native bf16 arithmetic; without them bf16 autocast is emulated and slower."""


@dataclass
class Runtime:
    """The device, the autocast precision and this process's place in a DDP job."""

    device: torch.device
    dtype: str
    """'bf16' (autocast; weights, optimizer and loss stay fp32) or 'fp32'."""
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Only rank 0 logs and writes files."""
        return self.rank == 0

    def autocast(self) -> AbstractContextManager:
        if self.dtype == "fp32":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)


def limit_threads(processes: int = 1) -> int:
    """Give each of `processes` local processes an equal share of the cores, one thread per core
    (more threads than cores only thrash); return this process's thread count."""
    cores = max(1, usable_cores() // processes)
    torch.set_num_threads(cores)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set once in this process; PyTorch allows it only before parallel work
    return cores


@contextmanager
def thread_limit(count: int) -> Iterator[None]:
    """Run a block on at most `count` intra-op threads, then restore the process's count."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(count, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def host_to_device(values: list[int], device: torch.device) -> torch.Tensor:
    """An int64 tensor of `values` on `device`. To a GPU it goes from pinned memory without
    waiting: a plain copy there waits for all the work queued before it (a device sync), and
    the sampler sends a few each step."""
    if device.type != "cuda":
        return torch.tensor(values, dtype=torch.int64, device=device)
    pinned = torch.tensor(values, dtype=torch.int64, pin_memory=True)
    return pinned.to(device, non_blocking=True)  # pinned blocks are kept until it is done


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """Resolve --device: auto prefers CUDA, then the CPU (MPS only when asked for)."""
    if name not in DEVICES:
        raise AbcgenError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise AbcgenError("--device cuda: no CUDA GPU is available to PyTorch here")
        return torch.device("cuda", local_rank)
    if name == "mps" and not torch.backends.mps.is_available():
        raise AbcgenError("--device mps: Apple's Metal backend is not available here")
    return torch.device(name)


def pick_dtype(device: torch.device, name: str = "auto") -> str:
    """bf16 autocast where the hardware does bf16 natively (recent GPUs, AVX-512-bf16 CPUs)."""
    if name not in DTYPES:
        raise AbcgenError(f"unknown precision {name!r}; choose one of {', '.join(DTYPES)}")
    if name == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        # oneDNN has no bf16 LSTM kernel without these flags: nn.LSTM fails under autocast
        raise AbcgenError(f"bf16 needs a CPU with {' or '.join(CPU_BF16_FLAGS)}; "
                          "this one has neither: use fp32")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def setup_runtime(device: str = "auto", dtype: str = "auto") -> Runtime:
    """Decide the runtime once; under `torchrun` also join the process group (NCCL or Gloo)."""
    limit_threads(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device, local_rank)
    if world_size > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
    return Runtime(chosen, pick_dtype(chosen, dtype), rank, world_size)


def inference_runtime(device: str = "auto") -> Runtime:
    """Runtime for sampling and scoring in this process (no process group, threads limited)."""
    limit_threads()
    chosen = pick_device(device)
    return Runtime(chosen, pick_dtype(chosen))
