// SqfsWriter, the addon class behind core/squashfs/writer.ts. JavaScript queues file data and
// returns at once; one feeder thread hands it to libsquashfs, whose workers compress. append()
// reports back-pressure (false past the high-water mark) and drain() resolves once the queue
// is low again, so the event loop never waits on compression and memory stays bounded.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "addon.h"
#include "sqfs-writer.h"

namespace {

struct Op {
  enum Kind { kBegin, kAppend, kZeros, kEnd, kFinish } kind;
  std::vector<uint8_t> data;
  uint64_t zeros = 0;
};

class SqfsWriter : public Napi::ObjectWrap<SqfsWriter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SqfsWriter",
                       {InstanceMethod<&SqfsWriter::BeginFile>("beginFile"),
                        InstanceMethod<&SqfsWriter::Append>("append"),
                        InstanceMethod<&SqfsWriter::AppendZeros>("appendZeros"),
                        InstanceMethod<&SqfsWriter::EndFile>("endFile"),
                        InstanceMethod<&SqfsWriter::Drain>("drain"),
                        InstanceMethod<&SqfsWriter::Finish>("finish"),
                        InstanceMethod<&SqfsWriter::Abort>("abort")});
  }

  explicit SqfsWriter(const Napi::CallbackInfo& info);
  ~SqfsWriter() override { Stop(); }

 private:
  static void CallJs(Napi::Env env, Napi::Function, SqfsWriter* self, void*);
  using Tsfn = Napi::TypedThreadSafeFunction<SqfsWriter, void, &SqfsWriter::CallJs>;

  Napi::Value BeginFile(const Napi::CallbackInfo& info);
  Napi::Value Append(const Napi::CallbackInfo& info);
  Napi::Value AppendZeros(const Napi::CallbackInfo& info);
  Napi::Value EndFile(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);

  void Run();
  bool Push(Op op);
  void Settle(Napi::Env env);
  void Stop();
  Napi::Error ToError(Napi::Env env);
  Napi::Value Spent(Napi::Env env);

  SqfsSettings settings_;
  size_t high_water_ = 8 << 20;
  size_t low_water_ = 2 << 20;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  size_t queued_ = 0;
  bool stopping_ = false;
  bool exited_ = false;
  bool finished_ = false;
  bool drain_wanted_ = false;  // JavaScript awaits drain(): wake it when the queue is low
  SqfsFailure failure_;
  SqfsSummary summary_;

  // Main thread only.
  std::thread thread_;
  Tsfn tsfn_;
  bool referenced_ = false;
  bool closed_ = false;  // finish() or abort() called: nothing more may be queued
  uint32_t files_ = 0;
  std::unique_ptr<Napi::Promise::Deferred> drain_, finish_, abort_;
};

SqfsWriter::SqfsWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SqfsWriter>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "new SqfsWriter({ fd, compressor, level, blockSize, workers, durable })").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto number = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  settings_.fd = static_cast<int>(number("fd", -1));
  std::string compressor = o.Get("compressor").IsString() ? o.Get("compressor").As<Napi::String>().Utf8Value() : "zstd";
  int id = sqfs_compressor_id_from_name(compressor.c_str());
  if (settings_.fd < 0 || id < 0) {
    Napi::TypeError::New(env, "SqfsWriter: a file descriptor and a known compressor are required").ThrowAsJavaScriptException();
    return;
  }
  settings_.compressor = static_cast<SQFS_COMPRESSOR>(id);
  settings_.level = static_cast<unsigned>(number("level", 1));
  settings_.block_size = static_cast<size_t>(number("blockSize", SQFS_DEFAULT_BLOCK_SIZE));
  settings_.workers = static_cast<unsigned>(number("workers", 1));
  settings_.durable = !o.Get("durable").IsBoolean() || o.Get("durable").As<Napi::Boolean>().Value();
  high_water_ = static_cast<size_t>(number("highWaterMark", static_cast<double>(high_water_)));
  low_water_ = high_water_ / 4;

  // The feeder thread owns the one thread-count of the function; unreferenced until a promise
  // is pending, so an idle writer never keeps Node alive.
  tsfn_ = Tsfn::New(env, "envlock-sqfs-writer", 0, 1, this);
  tsfn_.Unref(env);
  Ref();  // the thread uses this object until it exits
  thread_ = std::thread([this] { Run(); });
}

void SqfsWriter::Run() {
  SqfsImage* image = new SqfsImage();
  SqfsFailure failure;
  SqfsSummary summary;
  bool ok = image->Open(settings_, &failure);
  for (;;) {
    Op op;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!ok && !failure_.failed()) failure_ = failure;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      op = std::move(queue_.front());
      queue_.pop_front();
    }
    if (ok) {
      try {
        switch (op.kind) {
          case Op::kBegin: ok = image->BeginFile(&failure); break;
          case Op::kAppend: ok = image->Append(op.data.data(), op.data.size(), &failure); break;
          case Op::kZeros: ok = image->AppendZeros(op.zeros, &failure); break;
          case Op::kEnd: ok = image->EndFile(&failure); break;
          case Op::kFinish: ok = image->Finish(op.data.data(), op.data.size(), &summary, &failure); break;
        }
      } catch (const std::bad_alloc&) {
        ok = image->Fail(&failure, "writing the image", SQFS_ERROR_ALLOC);
      }
    }
    bool last = op.kind == Op::kFinish;
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (op.kind == Op::kAppend) queued_ -= op.data.size();
      if (!ok && !failure_.failed()) failure_ = failure;
      if (last) {
        finished_ = ok;
        summary_ = summary;
      }
      if (drain_wanted_ && (queued_ <= low_water_ || failure_.failed())) {
        drain_wanted_ = false;
        wake = true;
      }
    }
    if (wake) tsfn_.NonBlockingCall();
    if (last) break;
  }
  delete image;  // joins libsquashfs's workers
  {
    std::lock_guard<std::mutex> lock(mu_);
    exited_ = true;
  }
  tsfn_.NonBlockingCall();
  tsfn_.Release();
}


bool SqfsWriter::Push(Op op) {
  std::lock_guard<std::mutex> lock(mu_);
  if (op.kind == Op::kAppend) queued_ += op.data.size();
  queue_.push_back(std::move(op));
  cv_.notify_one();
  return queued_ < high_water_ && !failure_.failed();
}

Napi::Value SqfsWriter::Spent(Napi::Env env) {
  Napi::Error::New(env, "SqfsWriter: the writer was already finished or aborted").ThrowAsJavaScriptException();
  return env.Undefined();
}

// beginFile(): number — the id that the tree description gives this file's node.
Napi::Value SqfsWriter::BeginFile(const Napi::CallbackInfo& info) {
  if (closed_) return Spent(info.Env());
  Push({Op::kBegin, {}});
  return Napi::Number::New(info.Env(), files_++);
}

// append(chunk): boolean — false asks the caller to await drain() before the next chunk.
Napi::Value SqfsWriter::Append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Spent(env);
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "append(chunk: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  if (chunk.ByteLength() == 0) return Napi::Boolean::New(env, true);
  Op op{Op::kAppend, std::vector<uint8_t>(chunk.Data(), chunk.Data() + chunk.ByteLength())};
  return Napi::Boolean::New(env, Push(std::move(op)));
}

// appendZeros(length): boolean — a hole of a sparse file; all-zero blocks are stored sparse.
Napi::Value SqfsWriter::AppendZeros(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Spent(env);
  if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().DoubleValue() < 0) {
    Napi::TypeError::New(env, "appendZeros(length: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Op op{Op::kZeros, {}, static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue())};
  return Napi::Boolean::New(env, Push(std::move(op)));
}

Napi::Value SqfsWriter::EndFile(const Napi::CallbackInfo& info) {
  if (closed_) return Spent(info.Env());
  Push({Op::kEnd, {}});
  return info.Env().Undefined();
}

// drain(): Promise<void> — settles once the queue is below the low-water mark; rejects with
// the writer's error if it failed.
Napi::Value SqfsWriter::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (drain_ == nullptr) drain_ = std::make_unique<Napi::Promise::Deferred>(env);
  Napi::Promise promise = drain_->Promise();
  {
    std::lock_guard<std::mutex> lock(mu_);
    drain_wanted_ = true;
  }
  Settle(env);
  return promise;
}

// finish(tree): Promise<{ bytes, inodes, inputBytes, dataBlocks, fragmentBlocks }>.
Napi::Value SqfsWriter::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Spent(env);
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "finish(tree: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array tree = info[0].As<Napi::Uint8Array>();
  closed_ = true;
  finish_ = std::make_unique<Napi::Promise::Deferred>(env);
  Napi::Promise promise = finish_->Promise();
  Push({Op::kFinish, std::vector<uint8_t>(tree.Data(), tree.Data() + tree.ByteLength())});
  Settle(env);
  return promise;
}

// abort(): Promise<void> — drops what is queued and resolves once the thread is gone.
Napi::Value SqfsWriter::Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  closed_ = true;
  if (abort_ == nullptr) abort_ = std::make_unique<Napi::Promise::Deferred>(env);
  Napi::Promise promise = abort_->Promise();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queued_ = 0;
    queue_.clear();
    cv_.notify_one();
  }
  Settle(env);
  return promise;
}

void SqfsWriter::CallJs(Napi::Env env, Napi::Function, SqfsWriter* self, void*) {
  if (env != nullptr && self != nullptr) self->Settle(env);
}

Napi::Error SqfsWriter::ToError(Napi::Env env) {
  Napi::Error error = failure_.err != 0 ? ErrnoError(env, "squashfs", failure_.err) : Napi::Error::New(env, failure_.message);
  error.Set("message", Napi::String::New(env, failure_.message));
  if (failure_.err == 0) error.Set("code", Napi::String::New(env, failure_.code));
  return error;
}

// Settles whatever promises the thread's state allows; runs on the main thread only.
void SqfsWriter::Settle(Napi::Env env) {
  Napi::HandleScope scope(env);
  bool exited, failed, low, finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    exited = exited_;
    failed = failure_.failed();
    low = queued_ <= low_water_;
    finished = finished_;
  }
  if (drain_ != nullptr && (low || failed || exited)) {
    auto deferred = std::move(drain_);
    if (failed) deferred->Reject(ToError(env).Value());
    else deferred->Resolve(env.Undefined());
  }
  if (exited && thread_.joinable()) {
    thread_.join();
    Unref();
  }
  if (exited && finish_ != nullptr) {
    auto deferred = std::move(finish_);
    if (finished) {
      Napi::Object out = Napi::Object::New(env);
      out.Set("bytes", Napi::Number::New(env, static_cast<double>(summary_.bytes)));
      out.Set("inodes", Napi::Number::New(env, summary_.inodes));
      out.Set("inputBytes", Napi::Number::New(env, static_cast<double>(summary_.input_bytes)));
      out.Set("dataBlocks", Napi::Number::New(env, static_cast<double>(summary_.data_blocks)));
      out.Set("fragmentBlocks", Napi::Number::New(env, static_cast<double>(summary_.fragment_blocks)));
      deferred->Resolve(out);
    } else {
      deferred->Reject(failed ? ToError(env).Value() : Napi::Error::New(env, "SqfsWriter: aborted").Value());
    }
  }
  if (exited && abort_ != nullptr) {
    auto deferred = std::move(abort_);
    deferred->Resolve(env.Undefined());
  }
  bool want = drain_ != nullptr || finish_ != nullptr || abort_ != nullptr;
  if (want != referenced_ && !(exited && !want)) {
    if (want) tsfn_.Ref(env);
    else tsfn_.Unref(env);
    referenced_ = want;
  }
}

// Finalizer or environment teardown: stop the thread and wait for it.
void SqfsWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace

void InitSqfsWriter(Napi::Env env, Napi::Object exports) {
  exports.Set("SqfsWriter", SqfsWriter::Define(env));
}
