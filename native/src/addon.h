// Declarations shared by the addon's source files (envlock_native.node).
#pragma once
#include <napi.h>

Napi::Value ProbeUserNamespaces(const Napi::CallbackInfo& info);
Napi::Function DefineDecoder(Napi::Env env);
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const char* path = nullptr);
#ifdef ENVLOCK_HAVE_SQFS
void InitSqfsWriter(Napi::Env env, Napi::Object exports);
#endif
