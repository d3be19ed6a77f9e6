"""What a CPU-only bundle leaves out of the CUDA build of torch (used by packaging/whiteboard-app.spec).

The torch wheel on PyPI is a CUDA build: ``libtorch_cuda.so`` and ``libtorch_python.so`` name the CUDA
runtime, cuBLAS(Lt), cuFFT, cuRAND, cuSPARSE(Lt), NCCL, NVRTC, nvJitLink, CUPTI, cuFile, nvshmem_host and
the cuDNN loader as load-time dependencies (``readelf -d``; ``ldd torch/_C*.so``), so those must stay or
``import torch`` fails. Everything torch only dlopens when a GPU kernel needs it is dropped: cuDNN's engine
libraries, cuSOLVER and ``libtorch_cuda_linalg``, the NVRTC builtins, nvshmem's device code and plugins,
the Nsight perf libraries, triton (torch.compile's GPU code generator), headers and test files.
tests/ui/test_entry_point.py checks that no load-time dependency of torch matches these patterns.
"""

import fnmatch

# fnmatch patterns on destination paths inside the bundle (relative to its _internal folder)
CPU_ONLY_DROP = (
    "nvidia/cudnn/lib/libcudnn_*",  # cuDNN engines, dlopened by libcudnn.so.9 on a GPU only
    "nvidia/cu13/lib/libcusolver*",  # needed by libtorch_cuda_linalg only
    "torch/lib/libtorch_cuda_linalg.so",  # dlopened on the first GPU linalg call
    "nvidia/cu13/lib/libnvrtc-builtins*",  # dlopened by NVRTC when it compiles a kernel
    "nvidia/cu13/lib/libnvrtc.alt*",
    "nvidia/cu13/lib/libnvperf*",  # Nsight profiling
    "nvidia/cu13/lib/libnvblas*",
    "nvidia/cu13/lib/libcheckpoint*",  # CUDA checkpoint/restore and CUPTI PC sampling tools
    "nvidia/cu13/lib/libpcsamplingutil*",
    "nvidia/cu13/lib/libcufile_rdma*",  # GPUDirect storage over RDMA
    "nvidia/*/lib/*.a",  # static libraries
    "nvidia/nvshmem/lib/libnvshmem_device*",
    "nvidia/nvshmem/lib/nvshmem_*",  # bootstrap / transport plugins, multi-GPU only
    "nvidia/cu13/bin/*",
    "nvidia/cu13/include/*",
    "triton/*",
    "torch/include/*",
    "torch/test/*",
    "torch/testing/_internal/data/*",
    "*/tests/*",
)


def keep(dest: str) -> bool:
    """False when the bundle path ``dest`` (e.g. ``nvidia/cu13/lib/libcusolver.so.12``) is dropped."""
    return not any(fnmatch.fnmatch(dest, pattern) for pattern in CPU_ONLY_DROP)
