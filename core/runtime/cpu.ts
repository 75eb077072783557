// This machine's CPU as the native CPUID/hwcap probe sees it, in core/arch's HostCpu shape:
// exact even where /proc/cpuinfo is hidden or masked.

import { hostCpuFromFeatures, type HostCpu } from '../arch/host.js';
import { loadExecAddon, type ExecAddon } from './native.js';

export function nativeHostCpu(native: ExecAddon = loadExecAddon()): HostCpu {
  const cpu = native.cpuFeatures();
  return hostCpuFromFeatures(cpu.architecture, cpu.features, cpu.vendor === undefined ? {} : { vendor: cpu.vendor });
}
