// probeUserNamespaces(): tries, in a forked child, what the launcher will do (unshare a user
// and mount namespace, map ids, mount a tmpfs) and reports the first step that failed and
// its errno. The sysctl reading and the explanation live in TypeScript (core/runtime/userns.ts).
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

const char* const kStages[] = {"ok", "unshare", "setgroups", "uid_map", "gid_map", "mount", "fork"};

// Only async-signal-safe calls from here on: the parent is a threaded Node process whose
// allocator and V8 locks are frozen in the child (pitfalls 3.1).
bool WriteAll(const char* path, const char* text, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, text, len);
  int err = errno;
  close(fd);
  errno = err;
  return n == static_cast<ssize_t>(len);
}

[[noreturn]] void Report(int fd, int stage, int err) {
  int msg[2] = {stage, err};
  ssize_t n = write(fd, msg, sizeof msg);
  (void)n;
  _exit(stage == 0 ? 0 : 1);
}

[[noreturn]] void Child(int fd, const char* uid_map, size_t uid_len, const char* gid_map, size_t gid_len) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) Report(fd, 1, errno);
  if (!WriteAll("/proc/self/setgroups", "deny", 4) && errno != ENOENT) Report(fd, 2, errno);
  if (!WriteAll("/proc/self/uid_map", uid_map, uid_len)) Report(fd, 3, errno);
  if (!WriteAll("/proc/self/gid_map", gid_map, gid_len)) Report(fd, 4, errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Report(fd, 5, errno);
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, nullptr) != 0) Report(fd, 5, errno);
  Report(fd, 0, 0);
}

}  // namespace

Napi::Value ProbeUserNamespaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Everything the child needs is built before fork.
  char uid_map[64], gid_map[64];
  int uid_len = snprintf(uid_map, sizeof uid_map, "%u %u 1\n", getuid(), getuid());
  int gid_len = snprintf(gid_map, sizeof gid_map, "%u %u 1\n", getgid(), getgid());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ErrnoError(env, "pipe", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // no Node handler may run in the child
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Child(fds[1], uid_map, static_cast<size_t>(uid_len), gid_map, static_cast<size_t>(gid_len));
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(fds[1]);
  int msg[2] = {6, fork_errno};
  if (pid > 0) {
    ssize_t n;
    do n = read(fds[0], msg, sizeof msg); while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof msg)) msg[0] = 6, msg[1] = EIO;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  }
  close(fds[0]);
  Napi::Object result = Napi::Object::New(env);
  result.Set("ok", Napi::Boolean::New(env, msg[0] == 0));
  if (msg[0] != 0) {
    result.Set("stage", Napi::String::New(env, kStages[msg[0]]));
    result.Set("errno", Napi::Number::New(env, msg[1]));
    result.Set("message", Napi::String::New(env, strerror(msg[1])));
  }
  return result;
}
