// Which host files make up a GPU vendor's user-space driver: library name stems (matched
// against the loader cache), device nodes and utilities. Lists follow the vendors' driver
// packaging (NVIDIA driver README "Installed Components"; ROCm runtime libraries).

/** NVIDIA driver libraries for compute, management (NVML) and video; each carries the driver version in its file name. */
export const NVIDIA_LIBRARIES = [
  'libcuda.so',
  'libcudadebugger.so',
  'libnvidia-ptxjitcompiler.so',
  'libnvidia-nvvm.so',
  'libnvidia-gpucomp.so',
  'libnvidia-opencl.so',
  'libnvidia-allocator.so',
  'libnvidia-ml.so',
  'libnvidia-cfg.so',
  'libnvidia-pkcs11.so',
  'libnvidia-pkcs11-openssl3.so',
  'libnvcuvid.so',
  'libnvidia-encode.so',
  'libnvidia-opticalflow.so',
] as const;

/** The one library without which no CUDA program starts. */
export const NVIDIA_REQUIRED = 'libcuda.so';

/** Fixed NVIDIA device nodes; /dev/nvidiaN (one per GPU) and /dev/nvidia-caps/* are found by listing. */
export const NVIDIA_DEVICE_NODES = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset'] as const;

export const NVIDIA_UTILITIES = ['nvidia-smi', 'nvidia-debugdump', 'nvidia-persistenced', 'nvidia-cuda-mps-control', 'nvidia-cuda-mps-server'] as const;

/** Host IPC sockets that NVML and MPS clients talk to. */
export const NVIDIA_SOCKETS = ['/run/nvidia-persistenced/socket'] as const;

/** ROCm user-space: HIP runtime, HSA runtime and thunk, code-object manager, SMI, and the amdgpu DRM wrapper. */
export const AMD_LIBRARIES = [
  'libamdhip64.so',
  'libhsa-runtime64.so',
  'libhsakmt.so',
  'libamd_comgr.so',
  'librocm_smi64.so',
  'librocm-core.so',
  'libdrm_amdgpu.so',
  'libdrm.so',
] as const;

export const AMD_UTILITIES = ['rocm-smi', 'amd-smi', 'rocminfo'] as const;

/** The kernel's NVIDIA driver version from /proc/driver/nvidia/version ("… Kernel Module  550.54.15  …"). */
export function parseNvidiaDriverVersion(text: string): string | undefined {
  const m = /Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)/.exec(text);
  return m?.[1];
}

/** The version suffix of a real library file name: libcuda.so.550.54.15 → 550.54.15. */
export function librarySuffixVersion(fileName: string): string | undefined {
  const i = fileName.indexOf('.so.');
  return i < 0 ? undefined : fileName.slice(i + 4);
}
