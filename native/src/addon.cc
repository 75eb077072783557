// The addon's entry point and execLauncher: it replaces the Node process with the launcher
// (execve), so no Node parent lingers between the shell and the command. It only converts
// arguments and makes system calls; TypeScript owns defaults, validation and messages.
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case ETXTBSY: return "ETXTBSY";
    case EUSERS: return "EUSERS";
    case ENOSYS: return "ENOSYS";
    case EIO: return "EIO";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    default: return "EUNKNOWN";
  }
}

bool StringArray(const Napi::Value& value, std::vector<std::string>* out) {
  if (!value.IsArray()) return false;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) return false;
    std::string text = item.As<Napi::String>().Utf8Value();
    if (text.find('\0') != std::string::npos) return false;
    out->push_back(std::move(text));
  }
  return true;
}

// A descriptor the launcher inherits, holding `text` from offset 0 (its --spec-fd): a sealed
// memfd, so the spec (the command's whole environment, proxy credentials included) is in no
// argv and no file; a pipe sized to fit where memfd_create is missing (Linux < 3.17). Returns
// -1 with errno set.
int SpecDescriptor(const std::string& text) {
  int fd = memfd_create("envlock-spec", MFD_ALLOW_SEALING);
  if (fd >= 0) {
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        close(fd);
        errno = err;
        return -1;
      }
      done += static_cast<size_t>(n);
    }
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek(fd, 0, SEEK_SET) != 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    return fd;
  }
  if (errno != ENOSYS) return -1;
  int p[2];
  if (pipe(p) != 0) return -1;
  // Unprivileged processes may grow a pipe up to /proc/sys/fs/pipe-max-size (1 MiB by default).
  if (text.size() > 65536) fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(text.size()));
  ssize_t n = write(p[1], text.data(), text.size());
  int err = errno;
  close(p[1]);
  if (n != static_cast<ssize_t>(text.size())) {
    close(p[0]);
    errno = n < 0 ? err : E2BIG;
    return -1;
  }
  return p[0];
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// execLauncher(path, argv, env[, specText]): never returns on success. With specText, the spec
// travels through an inherited descriptor: `--spec-fd N` is inserted after argv[0]. Node ignores SIGPIPE and installs
// handlers; a handler resets on exec but an ignored signal stays ignored and a blocked one
// stays blocked, so every disposition goes back to default and the mask is cleared. Node may
// also leave stdio non-blocking (breaking programs that read a TTY or pipe) or close-on-exec.
Napi::Value ExecLauncher(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> argv, envp;
  if (info.Length() < 3 || !info[0].IsString() || !StringArray(info[1], &argv) ||
      !StringArray(info[2], &envp) || argv.empty() || (info.Length() > 3 && !info[3].IsString())) {
    Napi::TypeError::New(env, "execLauncher(path: string, argv: string[], env: string[], specText?: string)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int spec_fd = -1;
  if (info.Length() > 3) {
    spec_fd = SpecDescriptor(info[3].As<Napi::String>().Utf8Value());
    if (spec_fd < 0) {
      ErrnoError(env, "memfd_create", errno, nullptr).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    argv.insert(argv.begin() + 1, {"--spec-fd", std::to_string(spec_fd)});
  }
  std::vector<char*> argp = Pointers(argv), envpp = Pointers(envp);

  struct sigaction saved[NSIG];
  sigset_t saved_mask, none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, &saved_mask);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigaction(sig, nullptr, &saved[sig]) != 0) continue;
    sigaction(sig, &dfl, nullptr);
  }
  // stdio must survive the exec: Node (libuv) may have marked fds 0-2 close-on-exec.
  int saved_fl[3], saved_fd[3];
  for (int fd = 0; fd < 3; fd++) {
    saved_fl[fd] = fcntl(fd, F_GETFL);
    if (saved_fl[fd] >= 0 && (saved_fl[fd] & O_NONBLOCK)) fcntl(fd, F_SETFL, saved_fl[fd] & ~O_NONBLOCK);
    saved_fd[fd] = fcntl(fd, F_GETFD);
    if (saved_fd[fd] >= 0 && (saved_fd[fd] & FD_CLOEXEC)) fcntl(fd, F_SETFD, saved_fd[fd] & ~FD_CLOEXEC);
  }
  execve(path.c_str(), argp.data(), envpp.data());
  int err = errno;
  if (spec_fd >= 0) close(spec_fd);
  // Still here: put Node's world back before reporting.
  for (int fd = 0; fd < 3; fd++) {
    if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    if (saved_fd[fd] >= 0) fcntl(fd, F_SETFD, saved_fd[fd]);
  }
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &saved[sig], nullptr);
  }
  sigprocmask(SIG_SETMASK, &saved_mask, nullptr);
  ErrnoError(env, "execve", err, path.c_str()).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const char* path) {
  std::string message = std::string(syscall) + (path ? std::string(" ") + path : "") + ": " + strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("execLauncher", Napi::Function::New(env, ExecLauncher, "execLauncher"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures, "cpuFeatures"));
  exports.Set("probeUserNamespaces", Napi::Function::New(env, ProbeUserNamespaces, "probeUserNamespaces"));
  exports.Set("Decoder", DefineDecoder(env));
#ifdef ENVLOCK_HAVE_SQFS
  InitSqfsWriter(env, exports);  // absent when built without libsquashfs-dev
#endif
  return exports;
}

NODE_API_MODULE(envlock_native, Init)
