// cpuFeatures(): the CPU features this process may use, in envlock's canonical names
// (core/arch/features.ts). x86: CPUID, with AVX and AVX-512 counted only when the OS saves
// their register state (XGETBV), as Linux does for /proc/cpuinfo. arm64: the ELF hwcaps.
#include "addon.h"

#include <string.h>

#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace {

struct Bit {
  int reg;  // 0 eax, 1 ebx, 2 ecx, 3 edx
  int bit;
  const char* name;
};

#if defined(__x86_64__) || defined(__i386__)
// Intel SDM Vol. 2A, CPUID: leaf 1, leaf 7 subleaf 0/1, leaf 0xD subleaf 1, leaf 0x80000001.
const Bit kLeaf1[] = {{3, 0, "fpu"}, {3, 8, "cx8"}, {3, 15, "cmov"}, {3, 23, "mmx"}, {3, 24, "fxsr"},
                      {3, 25, "sse"}, {3, 26, "sse2"}, {2, 0, "sse3"}, {2, 1, "pclmul"}, {2, 9, "ssse3"},
                      {2, 12, "fma"}, {2, 13, "cx16"}, {2, 19, "sse4.1"}, {2, 20, "sse4.2"},
                      {2, 22, "movbe"}, {2, 23, "popcnt"}, {2, 25, "aes"}, {2, 26, "xsave"},
                      {2, 28, "avx"}, {2, 29, "f16c"}, {2, 30, "rdrnd"}};
const Bit kLeaf7[] = {{1, 3, "bmi1"}, {1, 5, "avx2"}, {1, 8, "bmi2"}, {1, 16, "avx512f"},
                      {1, 17, "avx512dq"}, {1, 18, "rdseed"}, {1, 19, "adx"}, {1, 21, "avx512ifma"},
                      {1, 28, "avx512cd"}, {1, 29, "sha"}, {1, 30, "avx512bw"}, {1, 31, "avx512vl"},
                      {2, 1, "avx512vbmi"}, {2, 6, "avx512vbmi2"}, {2, 8, "gfni"}, {2, 9, "vaes"},
                      {2, 10, "vpclmulqdq"}, {2, 11, "avx512vnni"}, {2, 12, "avx512bitalg"},
                      {2, 14, "avx512vpopcntdq"}, {3, 8, "avx512vp2intersect"}, {3, 22, "amx-bf16"},
                      {3, 23, "avx512fp16"}, {3, 24, "amx-tile"}, {3, 25, "amx-int8"}};
const Bit kLeaf7s1[] = {{0, 4, "avxvnni"}, {0, 5, "avx512bf16"}};
const Bit kLeafD1[] = {{0, 0, "xsaveopt"}, {0, 1, "xsavec"}};
const Bit kExt1[] = {{2, 0, "lahf"}, {2, 5, "lzcnt"}, {2, 8, "prfchw"}, {3, 11, "syscall"}};

bool Needs(const char* name, const char* prefix) { return std::string(name).rfind(prefix, 0) == 0; }

void Add(std::vector<std::string>* out, const Bit* bits, size_t n, const unsigned regs[4], bool avx_os,
         bool avx512_os, bool amx_os) {
  for (size_t i = 0; i < n; i++) {
    if (!(regs[bits[i].reg] >> bits[i].bit & 1u)) continue;
    const char* name = bits[i].name;
    bool is512 = Needs(name, "avx512");
    bool isavx = !is512 && (Needs(name, "avx") || Needs(name, "fma") || Needs(name, "f16c") ||
                            Needs(name, "vaes") || Needs(name, "vpclmul"));
    if (is512 && !avx512_os) continue;
    if (isavx && !avx_os) continue;
    if (Needs(name, "amx") && !amx_os) continue;
    out->push_back(name);
  }
}

std::vector<std::string> Features(std::string* vendor) {
  std::vector<std::string> out;
  unsigned r[4] = {0, 0, 0, 0};
  unsigned max = __get_cpuid_max(0, nullptr);
  __cpuid(0, r[0], r[1], r[2], r[3]);
  char v[13];
  memcpy(v, &r[1], 4), memcpy(v + 4, &r[3], 4), memcpy(v + 8, &r[2], 4), v[12] = '\0';
  *vendor = v;
  if (max < 1) return out;
  __cpuid_count(1, 0, r[0], r[1], r[2], r[3]);
  bool osxsave = (r[2] >> 27) & 1u;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));  // xgetbv
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  bool avx_os = (xcr0 & 0x6) == 0x6;              // SSE + AVX state
  bool avx512_os = avx_os && (xcr0 & 0xe0) == 0xe0; // opmask, ZMM_Hi256, Hi16_ZMM
  bool amx_os = (xcr0 & 0x60000) == 0x60000;      // XTILECFG, XTILEDATA
  unsigned leaf1[4] = {r[0], r[1], r[2], r[3]};
  if (!osxsave) leaf1[2] &= ~(1u << 26);  // xsave only when the OS enabled it, like Linux
  Add(&out, kLeaf1, sizeof kLeaf1 / sizeof *kLeaf1, leaf1, avx_os, avx512_os, amx_os);
  if (osxsave) out.push_back("osxsave");
  if (max >= 7) {
    __cpuid_count(7, 0, r[0], r[1], r[2], r[3]);
    unsigned subleaves = r[0];
    Add(&out, kLeaf7, sizeof kLeaf7 / sizeof *kLeaf7, r, avx_os, avx512_os, amx_os);
    if (subleaves >= 1) {
      __cpuid_count(7, 1, r[0], r[1], r[2], r[3]);
      Add(&out, kLeaf7s1, sizeof kLeaf7s1 / sizeof *kLeaf7s1, r, avx_os, avx512_os, amx_os);
    }
  }
  if (max >= 0xd && osxsave) {
    __cpuid_count(0xd, 1, r[0], r[1], r[2], r[3]);
    Add(&out, kLeafD1, sizeof kLeafD1 / sizeof *kLeafD1, r, avx_os, avx512_os, amx_os);
  }
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000001u) {
    __cpuid(0x80000001u, r[0], r[1], r[2], r[3]);
    Add(&out, kExt1, sizeof kExt1 / sizeof *kExt1, r, avx_os, avx512_os, amx_os);
  }
  return out;
}
const char* kArch = "amd64";

#elif defined(__aarch64__)
// Linux arch/arm64/include/uapi/asm/hwcap.h; names as the kernel prints them in cpuinfo.
const char* const kHwcap[] = {"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32",
                              "atomics", "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma",
                              "lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp", "sha512", "sve",
                              "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg"};
const char* const kHwcap2[] = {"dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3",
                               "svesm4", "flagm2", "frint", "svei8mm", "svef32mm", "svef64mm",
                               "svebf16", "i8mm", "bf16", "dgh", "rng", "bti", "mte"};
std::vector<std::string> Features(std::string* vendor) {
  std::vector<std::string> out;
  unsigned long h1 = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
  for (size_t i = 0; i < sizeof kHwcap / sizeof *kHwcap; i++)
    if (h1 >> i & 1ul) out.push_back(kHwcap[i]);
  for (size_t i = 0; i < sizeof kHwcap2 / sizeof *kHwcap2; i++)
    if (h2 >> i & 1ul) out.push_back(kHwcap2[i]);
  vendor->clear();
  return out;
}
const char* kArch = "arm64";
#else
std::vector<std::string> Features(std::string* vendor) {
  vendor->clear();
  return {};
}
const char* kArch = "unknown";
#endif

}  // namespace

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string vendor;
  std::vector<std::string> features = Features(&vendor);
  Napi::Array list = Napi::Array::New(env, features.size());
  for (size_t i = 0; i < features.size(); i++) list.Set(static_cast<uint32_t>(i), features[i]);
  Napi::Object result = Napi::Object::New(env);
  result.Set("architecture", kArch);
  result.Set("features", list);
  if (!vendor.empty()) result.Set("vendor", vendor);
  return result;
}
