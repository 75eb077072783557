/* A small CUDA device query for test/gpu/check.sh: the driver API (cuInit, cuDeviceGetCount,
 * cuDeviceGetName, …) through dlopen("libcuda.so.1") at run time, so it builds with plain gcc and
 * no CUDA headers. It also allocates, sets and copies back 1 MiB on device 0, to show the GPU works.
 * Exit: 0 ok, 2 libcuda not loadable, 3 a driver call failed, 4 no devices, 5 the memory check failed. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The few driver API types and values used (cuda.h: CUresult is an enum, CUdevice an int,
 * CUdeviceptr an unsigned long long on 64-bit hosts, CUcontext an opaque pointer). */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;
enum { ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76 };

typedef CUresult (*cuInit_t)(unsigned int);
typedef CUresult (*cuDriverGetVersion_t)(int *);
typedef CUresult (*cuDeviceGetCount_t)(int *);
typedef CUresult (*cuDeviceGet_t)(CUdevice *, int);
typedef CUresult (*cuDeviceGetName_t)(char *, int, CUdevice);
typedef CUresult (*cuDeviceGetAttribute_t)(int *, int, CUdevice);
typedef CUresult (*cuDeviceTotalMem_t)(size_t *, CUdevice);
typedef CUresult (*cuCtxCreate_t)(CUcontext *, unsigned int, CUdevice);
typedef CUresult (*cuCtxDestroy_t)(CUcontext);
typedef CUresult (*cuMemAlloc_t)(CUdeviceptr *, size_t);
typedef CUresult (*cuMemFree_t)(CUdeviceptr);
typedef CUresult (*cuMemsetD8_t)(CUdeviceptr, unsigned char, size_t);
typedef CUresult (*cuMemcpyDtoH_t)(void *, CUdeviceptr, size_t);
typedef CUresult (*cuGetErrorString_t)(CUresult, const char **);

static void *cuda;
static cuGetErrorString_t error_string;

static void *need(const char *name) {
  void *fn = dlsym(cuda, name);
  if (fn == NULL) {
    printf("cuda-query: FAIL libcuda has no %s\n", name);
    exit(3);
  }
  return fn;
}

static void check(CUresult rc, const char *what) {
  if (rc == 0) return;
  const char *text = "unknown error";
  if (error_string != NULL) error_string(rc, &text);
  printf("cuda-query: FAIL %s returned %d (%s)\n", what, rc, text);
  exit(3);
}

int main(void) {
  cuda = dlopen("libcuda.so.1", RTLD_NOW);
  if (cuda == NULL) {
    printf("cuda-query: no driver: %s\n", dlerror());
    return 2;
  }
  error_string = (cuGetErrorString_t)dlsym(cuda, "cuGetErrorString");
  check(((cuInit_t)need("cuInit"))(0), "cuInit");
  int version = 0;
  check(((cuDriverGetVersion_t)need("cuDriverGetVersion"))(&version), "cuDriverGetVersion");
  int count = 0;
  check(((cuDeviceGetCount_t)need("cuDeviceGetCount"))(&count), "cuDeviceGetCount");
  printf("cuda-query: driver API %d.%d, %d device(s)\n", version / 1000, (version % 1000) / 10, count);
  if (count == 0) return 4;
  for (int i = 0; i < count; i++) {
    CUdevice dev;
    char name[256];
    int major = 0, minor = 0;
    size_t bytes = 0;
    check(((cuDeviceGet_t)need("cuDeviceGet"))(&dev, i), "cuDeviceGet");
    check(((cuDeviceGetName_t)need("cuDeviceGetName"))(name, (int)sizeof name, dev), "cuDeviceGetName");
    check(((cuDeviceGetAttribute_t)need("cuDeviceGetAttribute"))(&major, ATTR_CC_MAJOR, dev), "cuDeviceGetAttribute");
    check(((cuDeviceGetAttribute_t)need("cuDeviceGetAttribute"))(&minor, ATTR_CC_MINOR, dev), "cuDeviceGetAttribute");
    check(((cuDeviceTotalMem_t)need("cuDeviceTotalMem_v2"))(&bytes, dev), "cuDeviceTotalMem");
    printf("cuda-query: device %d: %s, compute capability %d.%d, %zu MiB\n", i, name, major, minor, bytes >> 20);
  }
  /* A round trip through device memory: allocate 1 MiB, set it to 0x5a, copy it back, compare. */
  enum { SIZE = 1 << 20 };
  CUdevice dev0;
  CUcontext ctx;
  CUdeviceptr mem;
  check(((cuDeviceGet_t)need("cuDeviceGet"))(&dev0, 0), "cuDeviceGet");
  check(((cuCtxCreate_t)need("cuCtxCreate_v2"))(&ctx, 0, dev0), "cuCtxCreate");
  check(((cuMemAlloc_t)need("cuMemAlloc_v2"))(&mem, SIZE), "cuMemAlloc");
  check(((cuMemsetD8_t)need("cuMemsetD8_v2"))(mem, 0x5a, SIZE), "cuMemsetD8");
  unsigned char *host = malloc(SIZE);
  if (host == NULL) return 5;
  memset(host, 0, SIZE);
  check(((cuMemcpyDtoH_t)need("cuMemcpyDtoH_v2"))(host, mem, SIZE), "cuMemcpyDtoH");
  size_t bad = 0;
  for (size_t i = 0; i < SIZE; i++) bad += host[i] != 0x5a;
  ((cuMemFree_t)need("cuMemFree_v2"))(mem);
  ((cuCtxDestroy_t)need("cuCtxDestroy_v2"))(ctx);
  free(host);
  if (bad != 0) {
    printf("cuda-query: FAIL %zu of %d bytes wrong after a device memset and copy\n", bad, SIZE);
    return 5;
  }
  printf("cuda-query: device 0 memory round trip (1 MiB memset + copy): ok\n");
  return 0;
}
