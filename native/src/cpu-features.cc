// cpuFeatures(): the CPU features this process may use, in envlock's canonical names
// (core/arch/features.ts). The detection itself is cpu-detect.c, shared with the launcher's
// cpu-needs check, so Node and the launcher can never disagree about this CPU.
#include "addon.h"
#include "cpu-detect.h"

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  el_cpu cpu;
  el_cpu_detect(&cpu);
  Napi::Array list = Napi::Array::New(env, cpu.n_features);
  for (int i = 0; i < cpu.n_features; i++) list.Set(static_cast<uint32_t>(i), cpu.features[i]);
  Napi::Object result = Napi::Object::New(env);
  result.Set("architecture", cpu.arch);
  result.Set("features", list);
  if (cpu.vendor[0] != '\0') result.Set("vendor", cpu.vendor);
  return result;
}
