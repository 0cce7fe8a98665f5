// The Open MPI calls @lockstep/mpi needs, as a Node-API addon. It holds no state of its own (MPI's is
// per process), so it loads in the main thread and in any worker thread alike. Every MPI failure comes
// back as a JS Error whose one-line message names the call and the rank; src/ turns it into a
// LockstepError.
// OMPI_SKIP_MPICXX (binding.gyp) leaves out Open MPI's deprecated C++ bindings: only the C API is used.
#include <mpi.h>
#include <napi.h>

#include <unistd.h>

#include <climits>
#include <string>

namespace {

std::string rankOfSize() {
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return "rank " + std::to_string(rank) + " of " + std::to_string(size);
}

void check(Napi::Env env, int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Napi::Error::New(env, std::string(call) + " failed on " + rankOfSize() + ": " + std::string(text, length));
}

struct Buffer {
  void* data;
  int count;
  MPI_Datatype type;
};

// The element type picks the MPI datatype, so the bytes travel as they are (NaN payloads included).
Buffer bufferOf(Napi::Env env, const Napi::Value& value, const char* call) {
  if (!value.IsTypedArray()) throw Napi::TypeError::New(env, std::string(call) + ": expected a typed array");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  MPI_Datatype type;
  switch (array.TypedArrayType()) {
    case napi_float32_array: type = MPI_FLOAT; break;
    case napi_float64_array: type = MPI_DOUBLE; break;
    case napi_int32_array: type = MPI_INT32_T; break;
    case napi_uint8_array: type = MPI_UINT8_T; break;
    default: throw Napi::TypeError::New(env, std::string(call) + ": expected a Float32Array, Float64Array, Int32Array or Uint8Array");
  }
  if (array.ElementLength() > INT_MAX) {
    throw Napi::RangeError::New(env, std::string(call) + " on " + rankOfSize() + ": " + std::to_string(array.ElementLength()) +
                                         " elements is more than MPI's int count allows (" + std::to_string(INT_MAX) + ")");
  }
  // napi_get_typedarray_info, not ArrayBuffer().Data(): the latter refuses views of a SharedArrayBuffer.
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, array, nullptr, nullptr, &data, nullptr, nullptr), Buffer());
  return {data, static_cast<int>(array.ElementLength()), type};
}

/** Initializes MPI (MPI_THREAD_MULTIPLE) unless it already is; returns the thread level it provides. */
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  if (initialized) {
    MPI_Query_thread(&provided);
    return Napi::Number::New(env, provided);
  }
  int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  if (code != MPI_SUCCESS) throw Napi::Error::New(env, "MPI_Init_thread failed with error code " + std::to_string(code));
  // Errors come back to JavaScript as exceptions rather than ending the process from inside MPI.
  check(env, MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return Napi::Number::New(env, provided);
}

Napi::Value Initialized(const Napi::CallbackInfo& info) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return Napi::Boolean::New(info.Env(), initialized && !finalized);
}

Napi::Value Rank(const Napi::CallbackInfo& info) {
  int rank = 0;
  check(info.Env(), MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  return Napi::Number::New(info.Env(), rank);
}

Napi::Value Size(const Napi::CallbackInfo& info) {
  int size = 0;
  check(info.Env(), MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return Napi::Number::New(info.Env(), size);
}

void Allgather(const Napi::CallbackInfo& info) {
  Buffer send = bufferOf(info.Env(), info[0], "MPI_Allgather");
  Buffer receive = bufferOf(info.Env(), info[1], "MPI_Allgather");
  check(info.Env(), MPI_Allgather(send.data, send.count, send.type, receive.data, send.count, receive.type, MPI_COMM_WORLD), "MPI_Allgather");
}

void Broadcast(const Napi::CallbackInfo& info) {
  Buffer buffer = bufferOf(info.Env(), info[0], "MPI_Bcast");
  int root = info[1].As<Napi::Number>().Int32Value();
  check(info.Env(), MPI_Bcast(buffer.data, buffer.count, buffer.type, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void Barrier(const Napi::CallbackInfo& info) {
  check(info.Env(), MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void Abort(const Napi::CallbackInfo& info) {
  check(info.Env(), MPI_Abort(MPI_COMM_WORLD, info[0].As<Napi::Number>().Int32Value()), "MPI_Abort");
}

// _exit: no exit handlers and no joining of threads, one of which may be inside a collective whose
// peer died and so never returns (Node's process.exit joins every worker thread first).
void ExitNow(const Napi::CallbackInfo& info) {
  _exit(info[0].As<Napi::Number>().Int32Value());
}

void Finalize(const Napi::CallbackInfo& info) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) check(info.Env(), MPI_Finalize(), "MPI_Finalize");
}

Napi::Object Exports(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("initialized", Napi::Function::New(env, Initialized));
  exports.Set("rank", Napi::Function::New(env, Rank));
  exports.Set("size", Napi::Function::New(env, Size));
  exports.Set("allgather", Napi::Function::New(env, Allgather));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  return exports;
}

}  // namespace

NODE_API_MODULE(lockstep_mpi, Exports)
