// The addon's entry point: probes, layer decoders and the squashfs writer. Replacing Node with
// the launcher (execLauncher) and the CPU features live in the small exec addon (exec-addon.c),
// so a repeated `envlock run` need not load this one. It only converts arguments and makes
// system calls; TypeScript owns defaults, validation and messages.
#include "addon.h"
#include "errno-name.h"

#include <string.h>

#include <string>

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const char* path) {
  std::string message = std::string(syscall) + (path ? std::string(" ") + path : "") + ": " + strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, el_errno_name(err)));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probeUserNamespaces", Napi::Function::New(env, ProbeUserNamespaces, "probeUserNamespaces"));
  exports.Set("Decoder", DefineDecoder(env));
#ifdef ENVLOCK_HAVE_SQFS
  InitSqfsWriter(env, exports);  // absent when built without libsquashfs-dev
#endif
  return exports;
}

NODE_API_MODULE(envlock_native, Init)
