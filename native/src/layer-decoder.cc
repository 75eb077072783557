// Decoder: streaming gzip (zlib) and zstd (libzstd) decompression of layer blobs on libuv's
// thread pool, so a hostile frame never blocks the event loop. Each decode() call turns at most
// one input buffer into at most maxOutput bytes; TypeScript owns limits, messages and pacing.
// zstd frames whose window exceeds windowLogMax are refused before any work (ZSTD_d_windowLogMax).
#include "addon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <string>

namespace {

// What one step did: bytes consumed and produced, whether the stream is at a clean boundary
// (a zstd frame or gzip member fully decoded), or why it failed.
struct Step {
  size_t consumed = 0;
  size_t produced = 0;
  bool ended = false;
  std::string error;
  const char* code = nullptr;  // "window" (limit hit), "data" (damaged stream)
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual void Run(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap, Step* step) = 0;
};

class ZstdCodec : public Codec {
 public:
  explicit ZstdCodec(int window_log_max) : ds_(ZSTD_createDStream()) {
    if (ds_ != nullptr) ZSTD_DCtx_setParameter(ds_, ZSTD_d_windowLogMax, window_log_max);
  }
  ~ZstdCodec() override { ZSTD_freeDStream(ds_); }
  bool ok() const { return ds_ != nullptr; }

  void Run(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap, Step* step) override {
    ZSTD_inBuffer src = {in, in_len, 0};
    ZSTD_outBuffer dst = {out, out_cap, 0};
    for (;;) {
      size_t in_before = src.pos, out_before = dst.pos;
      size_t rc = ZSTD_decompressStream(ds_, &dst, &src);
      if (ZSTD_isError(rc)) {
        step->code = ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge ? "window" : "data";
        step->error = ZSTD_getErrorName(rc);
        break;
      }
      // 0: a frame just ended. Any progress otherwise means we are inside a frame; a call that
      // makes none (asking for the next frame's header) leaves the state as it was.
      if (rc == 0) ended_ = true;
      else if (src.pos > in_before || dst.pos > out_before) ended_ = false;
      if (dst.pos == dst.size) break;  // output full: the caller comes back for more
      if (src.pos == in_before && dst.pos == out_before) break;  // needs more input
      if (src.pos == src.size && dst.pos == out_before) break;
    }
    step->consumed = src.pos;
    step->produced = dst.pos;
    step->ended = ended_;
  }

 private:
  ZSTD_DStream* ds_;
  bool ended_ = true;
};

// gzip members one after another (RFC 1952 2.2), as Go's gzip.Reader reads them: after a
// member, the input must end or start another member.
class GzipCodec : public Codec {
 public:
  GzipCodec() {
    memset(&zs_, 0, sizeof zs_);
    ok_ = inflateInit2(&zs_, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipCodec() override {
    if (ok_) inflateEnd(&zs_);
  }
  bool ok() const { return ok_; }

  void Run(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap, Step* step) override {
    size_t in_pos = 0, out_pos = 0;
    for (;;) {
      if (between_) {
        if (in_pos == in_len) break;
        if (in[in_pos] != 0x1f) {
          step->code = "data";
          step->error = "there is data after the end of the gzip stream";
          break;
        }
        inflateReset(&zs_);
        between_ = false;
      }
      zs_.next_in = const_cast<Bytef*>(in + in_pos);
      zs_.avail_in = static_cast<uInt>(in_len - in_pos);
      zs_.next_out = out + out_pos;
      zs_.avail_out = static_cast<uInt>(out_cap - out_pos);
      size_t in_before = in_pos, out_before = out_pos;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      in_pos = in_len - zs_.avail_in;
      out_pos = out_cap - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        between_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR) break;  // no progress possible without more input or room
      if (rc != Z_OK) {
        step->code = "data";
        step->error = zs_.msg != nullptr ? zs_.msg : "inflate failed";
        break;
      }
      if (out_pos == out_cap) break;
      if (in_pos == in_before && out_pos == out_before) break;
    }
    step->consumed = in_pos;
    step->produced = out_pos;
    step->ended = between_;
  }

 private:
  z_stream zs_;
  bool ok_ = false;
  bool between_ = false;
};

class Decoder : public Napi::ObjectWrap<Decoder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Decoder", {InstanceMethod("decode", &Decoder::Decode), InstanceMethod("close", &Decoder::Close)});
  }

  explicit Decoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Decoder>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "new Decoder(kind: 'gzip' | 'zstd', windowLogMax: number)").ThrowAsJavaScriptException();
      return;
    }
    std::string kind = info[0].As<Napi::String>().Utf8Value();
    if (kind == "zstd") {
      auto* codec = new ZstdCodec(info[1].As<Napi::Number>().Int32Value());
      if (!codec->ok()) delete codec; else codec_ = codec;
    } else if (kind == "gzip") {
      auto* codec = new GzipCodec();
      if (!codec->ok()) delete codec; else codec_ = codec;
    } else {
      Napi::TypeError::New(env, "Decoder: kind must be 'gzip' or 'zstd'").ThrowAsJavaScriptException();
      return;
    }
    if (codec_ == nullptr) Napi::Error::New(env, "Decoder: out of memory").ThrowAsJavaScriptException();
  }
  ~Decoder() override { delete codec_; }

  Codec* codec() { return codec_; }
  bool busy = false;

 private:
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy) {
      Napi::Error::New(info.Env(), "Decoder.close: a decode() is still running").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    delete codec_;
    codec_ = nullptr;
    return info.Env().Undefined();
  }

  Codec* codec_ = nullptr;
};

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, Decoder* decoder, Napi::Object input, size_t max_output)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), decoder_(decoder), max_output_(max_output) {
    Napi::Buffer<uint8_t> buffer = input.As<Napi::Buffer<uint8_t>>();
    in_ = buffer.Data();
    in_len_ = buffer.Length();
    input_ = Napi::Persistent(input);  // keeps the bytes alive while the pool thread reads them
    decoder_->Ref();
    decoder_->busy = true;
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    out_ = static_cast<uint8_t*>(malloc(max_output_ > 0 ? max_output_ : 1));
    if (out_ == nullptr) {
      step_.code = "memory";
      step_.error = "out of memory";
      return;
    }
    decoder_->codec()->Run(in_, in_len_, out_, max_output_, &step_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    decoder_->busy = false;
    decoder_->Unref();
    if (step_.code != nullptr) {
      free(out_);
      Napi::Error error = Napi::Error::New(env, step_.error);
      error.Set("code", Napi::String::New(env, step_.code));
      deferred_.Reject(error.Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("consumed", Napi::Number::New(env, static_cast<double>(step_.consumed)));
    result.Set("ended", Napi::Boolean::New(env, step_.ended));
    if (step_.produced * 2 < max_output_) {
      result.Set("output", Napi::Buffer<uint8_t>::Copy(env, out_, step_.produced));
      free(out_);
    } else {
      result.Set("output", Napi::Buffer<uint8_t>::New(env, out_, step_.produced, [](Napi::Env, uint8_t* data) { free(data); }));
    }
    out_ = nullptr;
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    decoder_->busy = false;
    decoder_->Unref();
    free(out_);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Decoder* decoder_;
  Napi::ObjectReference input_;
  const uint8_t* in_ = nullptr;
  size_t in_len_ = 0;
  size_t max_output_;
  uint8_t* out_ = nullptr;
  Step step_;
};

// decode(input: Buffer, maxOutput: number): Promise<{ consumed, output, ended }>
Napi::Value Decoder::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber() || info[1].As<Napi::Number>().Int64Value() <= 0) {
    Napi::TypeError::New(env, "decode(input: Buffer, maxOutput: number > 0)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (codec_ == nullptr || busy) {
    Napi::Error::New(env, codec_ == nullptr ? "Decoder: already closed" : "Decoder: one decode() at a time").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new DecodeWorker(env, this, info[0].As<Napi::Object>(), static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Function DefineDecoder(Napi::Env env) { return Decoder::Define(env); }
