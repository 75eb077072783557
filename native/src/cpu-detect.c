/* CPU feature detection. x86: CPUID, with AVX and AVX-512 counted only when the OS saves
 * their register state (XGETBV), as Linux does for /proc/cpuinfo and glibc for its hwcaps
 * levels. arm64: the ELF hwcaps the kernel passes in the auxiliary vector. */
#include "cpu-detect.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

static void push(struct el_cpu *out, const char *name) {
  if (out->n_features < EL_CPU_MAX_FEATURES) out->features[out->n_features++] = name;
}

#if defined(__x86_64__) || defined(__i386__)
enum { EAX, EBX, ECX, EDX };
struct bit {
  int reg, bit;
  const char *name;
};
/* Intel SDM Vol. 2A, CPUID: leaf 1, leaf 7 subleaf 0/1, leaf 0xD subleaf 1, leaf 0x80000001. */
static const struct bit LEAF1[] = {
    {EDX, 0, "fpu"}, {EDX, 8, "cx8"}, {EDX, 15, "cmov"}, {EDX, 23, "mmx"}, {EDX, 24, "fxsr"},
    {EDX, 25, "sse"}, {EDX, 26, "sse2"}, {ECX, 0, "sse3"}, {ECX, 1, "pclmul"}, {ECX, 9, "ssse3"},
    {ECX, 12, "fma"}, {ECX, 13, "cx16"}, {ECX, 19, "sse4.1"}, {ECX, 20, "sse4.2"},
    {ECX, 22, "movbe"}, {ECX, 23, "popcnt"}, {ECX, 25, "aes"}, {ECX, 26, "xsave"},
    {ECX, 28, "avx"}, {ECX, 29, "f16c"}, {ECX, 30, "rdrnd"}, {0, 0, NULL}};
static const struct bit LEAF7[] = {
    {EBX, 3, "bmi1"}, {EBX, 5, "avx2"}, {EBX, 8, "bmi2"}, {EBX, 16, "avx512f"},
    {EBX, 17, "avx512dq"}, {EBX, 18, "rdseed"}, {EBX, 19, "adx"}, {EBX, 21, "avx512ifma"},
    {EBX, 28, "avx512cd"}, {EBX, 29, "sha"}, {EBX, 30, "avx512bw"}, {EBX, 31, "avx512vl"},
    {ECX, 1, "avx512vbmi"}, {ECX, 6, "avx512vbmi2"}, {ECX, 8, "gfni"}, {ECX, 9, "vaes"},
    {ECX, 10, "vpclmulqdq"}, {ECX, 11, "avx512vnni"}, {ECX, 12, "avx512bitalg"},
    {ECX, 14, "avx512vpopcntdq"}, {EDX, 8, "avx512vp2intersect"}, {EDX, 22, "amx-bf16"},
    {EDX, 23, "avx512fp16"}, {EDX, 24, "amx-tile"}, {EDX, 25, "amx-int8"}, {0, 0, NULL}};
static const struct bit LEAF7S1[] = {{EAX, 4, "avxvnni"}, {EAX, 5, "avx512bf16"}, {0, 0, NULL}};
static const struct bit LEAFD1[] = {{EAX, 0, "xsaveopt"}, {EAX, 1, "xsavec"}, {0, 0, NULL}};
static const struct bit EXT1[] = {{ECX, 0, "lahf"}, {ECX, 5, "lzcnt"}, {ECX, 8, "prfchw"},
                                  {EDX, 11, "syscall"}, {0, 0, NULL}};

/* XCR0 bits (Intel SDM Vol. 1, 13.1): which register state the OS saves. */
#define XCR0_SSE_AVX 0x6ull
#define XCR0_AVX512 0xe0ull /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX 0x60000ull /* XTILECFG, XTILEDATA */
#define CPUID1_ECX_XSAVE 26
#define CPUID1_ECX_OSXSAVE 27

struct os_state {
  bool avx, avx512, amx;
};

static bool starts(const char *name, const char *prefix) {
  return strncmp(name, prefix, strlen(prefix)) == 0;
}

static void add(struct el_cpu *out, const struct bit *bits, const unsigned regs[4], struct os_state os) {
  for (; bits->name; bits++) {
    if (!(regs[bits->reg] >> bits->bit & 1u)) continue;
    const char *name = bits->name;
    bool is512 = starts(name, "avx512");
    bool isavx = !is512 && (starts(name, "avx") || starts(name, "fma") || starts(name, "f16c") ||
                            starts(name, "vaes") || starts(name, "vpclmul"));
    if ((is512 && !os.avx512) || (isavx && !os.avx) || (starts(name, "amx") && !os.amx)) continue;
    push(out, name);
  }
}

void el_cpu_detect(struct el_cpu *out) {
  memset(out, 0, sizeof *out);
  out->arch = "amd64";
  unsigned r[4] = {0, 0, 0, 0};
  unsigned max = __get_cpuid_max(0, NULL);
  __cpuid(0, r[EAX], r[EBX], r[ECX], r[EDX]);
  memcpy(out->vendor, &r[EBX], 4);
  memcpy(out->vendor + 4, &r[EDX], 4);
  memcpy(out->vendor + 8, &r[ECX], 4);
  out->vendor[12] = '\0';
  if (max < 1) return;
  __cpuid_count(1, 0, r[EAX], r[EBX], r[ECX], r[EDX]);
  bool osxsave = (r[ECX] >> CPUID1_ECX_OSXSAVE) & 1u;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0)); /* xgetbv */
    xcr0 = ((unsigned long long)hi << 32) | lo;
  }
  struct os_state os;
  os.avx = (xcr0 & XCR0_SSE_AVX) == XCR0_SSE_AVX;
  os.avx512 = os.avx && (xcr0 & XCR0_AVX512) == XCR0_AVX512;
  os.amx = (xcr0 & XCR0_AMX) == XCR0_AMX;
  if (!osxsave) r[ECX] &= ~(1u << CPUID1_ECX_XSAVE); /* xsave only when the OS enabled it */
  add(out, LEAF1, r, os);
  if (osxsave) push(out, "osxsave");
  if (max >= 7) {
    __cpuid_count(7, 0, r[EAX], r[EBX], r[ECX], r[EDX]);
    unsigned subleaves = r[EAX];
    add(out, LEAF7, r, os);
    if (subleaves >= 1) {
      __cpuid_count(7, 1, r[EAX], r[EBX], r[ECX], r[EDX]);
      add(out, LEAF7S1, r, os);
    }
  }
  if (max >= 0xd && osxsave) {
    __cpuid_count(0xd, 1, r[EAX], r[EBX], r[ECX], r[EDX]);
    add(out, LEAFD1, r, os);
  }
  if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000001u) {
    __cpuid(0x80000001u, r[EAX], r[EBX], r[ECX], r[EDX]);
    add(out, EXT1, r, os);
  }
}

#elif defined(__aarch64__)
/* Linux arch/arm64/include/uapi/asm/hwcap.h; names as the kernel prints them in cpuinfo. */
static const char *const HWCAP[] = {"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32",
                                    "atomics", "fphp", "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma",
                                    "lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp", "sha512", "sve",
                                    "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg"};
static const char *const HWCAP2[] = {"dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3",
                                     "svesm4", "flagm2", "frint", "svei8mm", "svef32mm", "svef64mm",
                                     "svebf16", "i8mm", "bf16", "dgh", "rng", "bti", "mte"};

void el_cpu_detect(struct el_cpu *out) {
  memset(out, 0, sizeof *out);
  out->arch = "arm64";
  unsigned long h1 = getauxval(AT_HWCAP), h2 = getauxval(AT_HWCAP2);
  for (size_t i = 0; i < sizeof HWCAP / sizeof *HWCAP; i++)
    if (h1 >> i & 1ul) push(out, HWCAP[i]);
  for (size_t i = 0; i < sizeof HWCAP2 / sizeof *HWCAP2; i++)
    if (h2 >> i & 1ul) push(out, HWCAP2[i]);
}

#else
void el_cpu_detect(struct el_cpu *out) {
  memset(out, 0, sizeof *out);
  out->arch = "unknown";
}
#endif
