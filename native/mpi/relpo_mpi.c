// The MPI collectives relpo needs, over N-API in plain C: init, rank and size, all-reduce and
// reduce (sum, min, max) of Float32Array/Float64Array in place, broadcast of any typed array,
// all-gather of variable-length Float64Array rows, barrier, abort, finalize. Every call blocks
// this thread until the collective is done on this rank. src/distributed/mpi.ts is its only user
// and checks arguments that need a type (typed arrays, ranks) before they get here.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include <node_api.h>

// Elements per MPI call: MPI's counts are C ints.
#define CHUNK_ELEMENTS (1 << 28)

static bool throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return false;
}

static bool mpi_ok(napi_env env, int rc, const char *what) {
  if (rc == MPI_SUCCESS) return true;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  char message[MPI_MAX_ERROR_STRING + 64];
  snprintf(message, sizeof message, "%s failed: %.*s", what, length, text);
  return throw_error(env, message);
}

static bool napi_ok_or_throw(napi_env env, napi_status status, const char *what) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return false;
  char message[128];
  snprintf(message, sizeof message, "relpo_mpi: %s failed (napi status %d)", what, (int)status);
  return throw_error(env, message);
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (!napi_ok_or_throw(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "napi_get_cb_info")) return false;
  if (argc < want) return throw_error(env, "relpo_mpi: too few arguments");
  return true;
}

static bool is_running(napi_env env) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) return true;
  return throw_error(env, finalized ? "MPI was finalized in this process" : "MPI is not initialized (call init first)");
}

typedef struct {
  char *data;
  size_t length;
  size_t element_size;
  napi_typedarray_type type;
} view_t;

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

static bool get_view(napi_env env, napi_value value, view_t *out) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return throw_error(env, "relpo_mpi: expected a typed array");
  void *data = NULL;
  napi_value buffer;
  size_t offset = 0;
  if (!napi_ok_or_throw(env, napi_get_typedarray_info(env, value, &out->type, &out->length, &data, &buffer, &offset), "napi_get_typedarray_info")) return false;
  out->data = data;
  out->element_size = element_size(out->type);
  return true;
}

static bool float_type(napi_env env, const view_t *view, MPI_Datatype *type) {
  if (view->type == napi_float32_array) *type = MPI_FLOAT;
  else if (view->type == napi_float64_array) *type = MPI_DOUBLE;
  else return throw_error(env, "relpo_mpi: expected a Float32Array or a Float64Array");
  return true;
}

static bool get_int(napi_env env, napi_value value, int *out) {
  return napi_ok_or_throw(env, napi_get_value_int32(env, value, out), "reading an integer argument");
}

static bool get_op(napi_env env, napi_value value, MPI_Op *op) {
  char name[8] = {0};
  size_t length = 0;
  if (!napi_ok_or_throw(env, napi_get_value_string_utf8(env, value, name, sizeof name, &length), "reading the operation")) return false;
  if (strcmp(name, "sum") == 0) *op = MPI_SUM;
  else if (strcmp(name, "min") == 0) *op = MPI_MIN;
  else if (strcmp(name, "max") == 0) *op = MPI_MAX;
  else return throw_error(env, "relpo_mpi: the operation must be 'sum', 'min' or 'max'");
  return true;
}

static napi_value make_int(napi_env env, int value) {
  napi_value out;
  napi_create_int32(env, value, &out);
  return out;
}

static napi_value undefined(napi_env env) {
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

static void set(napi_env env, napi_value object, const char *key, napi_value value) {
  napi_set_named_property(env, object, key, value);
}

// init() → { rank, size, threadLevel, library }. Idempotent.
static napi_value Init(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) {
    throw_error(env, "MPI was finalized in this process; it cannot start again");
    return NULL;
  }
  int provided = -1;
  if (!initialized) {
    // Open MPI opens its transports as plugins that resolve libmpi's symbols globally, but Node
    // opens this addon (and so libmpi) with RTLD_LOCAL: reopen libmpi with RTLD_GLOBAL first.
    Dl_info where;
    if (dladdr((void *)&MPI_Init, &where) && where.dli_fname && !dlopen(where.dli_fname, RTLD_NOW | RTLD_GLOBAL)) {
      char message[512];
      snprintf(message, sizeof message, "relpo_mpi: dlopen(%s, RTLD_GLOBAL) failed: %s", where.dli_fname, dlerror());
      throw_error(env, message);
      return NULL;
    }
    // SERIALIZED: a worker thread may run a collective while the main thread waits (bucketed
    // gradients), never two at once.
    if (!mpi_ok(env, MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread")) return NULL;
    // Errors come back as exceptions instead of ending the job from inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  } else {
    MPI_Query_thread(&provided);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(library, &length);
  while (length > 0 && (library[length - 1] == '\n' || library[length - 1] == '\0')) length--;
  napi_value out, text;
  napi_create_object(env, &out);
  set(env, out, "rank", make_int(env, rank));
  set(env, out, "size", make_int(env, size));
  set(env, out, "threadLevel", make_int(env, provided));
  napi_create_string_utf8(env, library, (size_t)length, &text);
  set(env, out, "library", text);
  return out;
}

// allReduce(buf, op): buf ← op over ranks, in place.
static napi_value AllReduce(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  view_t view;
  MPI_Datatype type;
  MPI_Op op;
  if (!get_args(env, info, 2, argv) || !get_view(env, argv[0], &view) || !float_type(env, &view, &type) || !get_op(env, argv[1], &op) || !is_running(env)) return NULL;
  for (size_t at = 0; at < view.length; at += CHUNK_ELEMENTS) {
    size_t n = view.length - at < CHUNK_ELEMENTS ? view.length - at : CHUNK_ELEMENTS;
    if (!mpi_ok(env, MPI_Allreduce(MPI_IN_PLACE, view.data + at * view.element_size, (int)n, type, op, MPI_COMM_WORLD), "MPI_Allreduce")) return NULL;
  }
  return undefined(env);
}

// reduce(buf, root, op): on root, buf ← op over ranks; elsewhere buf is only read.
static napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  view_t view;
  MPI_Datatype type;
  MPI_Op op;
  int root = 0, rank = 0;
  if (!get_args(env, info, 3, argv) || !get_view(env, argv[0], &view) || !float_type(env, &view, &type) || !get_int(env, argv[1], &root) || !get_op(env, argv[2], &op) || !is_running(env)) return NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (size_t at = 0; at < view.length; at += CHUNK_ELEMENTS) {
    size_t n = view.length - at < CHUNK_ELEMENTS ? view.length - at : CHUNK_ELEMENTS;
    char *p = view.data + at * view.element_size;
    int rc = rank == root ? MPI_Reduce(MPI_IN_PLACE, p, (int)n, type, op, root, MPI_COMM_WORLD) : MPI_Reduce(p, NULL, (int)n, type, op, root, MPI_COMM_WORLD);
    if (!mpi_ok(env, rc, "MPI_Reduce")) return NULL;
  }
  return undefined(env);
}

// broadcast(buf, root): buf ← root's buf, byte for byte (any typed array).
static napi_value Broadcast(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  view_t view;
  int root = 0;
  if (!get_args(env, info, 2, argv) || !get_view(env, argv[0], &view) || !get_int(env, argv[1], &root) || !is_running(env)) return NULL;
  size_t bytes = view.length * view.element_size;
  for (size_t at = 0; at < bytes; at += CHUNK_ELEMENTS) {
    size_t n = bytes - at < CHUNK_ELEMENTS ? bytes - at : CHUNK_ELEMENTS;
    if (!mpi_ok(env, MPI_Bcast(view.data + at, (int)n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast")) return NULL;
  }
  return undefined(env);
}

// allGatherRows(rows: Float64Array) → { data: every rank's rows in rank order, counts: Int32Array }.
static napi_value AllGatherRows(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  view_t view;
  if (!get_args(env, info, 1, argv) || !get_view(env, argv[0], &view) || !is_running(env)) return NULL;
  if (view.type != napi_float64_array) {
    throw_error(env, "relpo_mpi: allGatherRows expects a Float64Array");
    return NULL;
  }
  if (view.length > INT_MAX) {
    throw_error(env, "relpo_mpi: allGatherRows: more than 2^31-1 values on one rank");
    return NULL;
  }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value counts_buffer, counts_array;
  void *counts_data = NULL;
  if (!napi_ok_or_throw(env, napi_create_arraybuffer(env, (size_t)size * sizeof(int), &counts_data, &counts_buffer), "napi_create_arraybuffer")) return NULL;
  int *counts = counts_data;
  int mine = (int)view.length;
  if (!mpi_ok(env, MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather")) return NULL;
  int *displacements = malloc((size_t)size * sizeof(int));
  if (!displacements) {
    throw_error(env, "relpo_mpi: out of memory");
    return NULL;
  }
  long long total = 0;
  for (int r = 0; r < size; r++) {
    displacements[r] = (int)(total < INT_MAX ? total : INT_MAX);
    total += counts[r];
  }
  // Every rank sees the same counts, so every rank refuses together.
  if (total > INT_MAX) {
    free(displacements);
    throw_error(env, "relpo_mpi: allGatherRows: more than 2^31-1 values over all ranks");
    return NULL;
  }
  napi_value data_buffer, data_array, out;
  void *data = NULL;
  if (!napi_ok_or_throw(env, napi_create_arraybuffer(env, (size_t)total * sizeof(double), &data, &data_buffer), "napi_create_arraybuffer")) {
    free(displacements);
    return NULL;
  }
  int rc = MPI_Allgatherv(view.data, mine, MPI_DOUBLE, data, counts, displacements, MPI_DOUBLE, MPI_COMM_WORLD);
  free(displacements);
  if (!mpi_ok(env, rc, "MPI_Allgatherv")) return NULL;
  napi_create_typedarray(env, napi_float64_array, (size_t)total, data_buffer, 0, &data_array);
  napi_create_typedarray(env, napi_int32_array, (size_t)size, counts_buffer, 0, &counts_array);
  napi_create_object(env, &out);
  set(env, out, "data", data_array);
  set(env, out, "counts", counts_array);
  return out;
}

static napi_value Barrier(napi_env env, napi_callback_info info) {
  (void)info;
  if (!is_running(env) || !mpi_ok(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier")) return NULL;
  return undefined(env);
}

// abort(code): ends every rank of the job (mpirun exits with a non-zero status). Never returns.
static napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int code = 1;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &code)) return NULL;
  fflush(stdout);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  exit(code);
}

// finalize(): idempotent.
static napi_value Finalize(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && !mpi_ok(env, MPI_Finalize(), "MPI_Finalize")) return NULL;
  return undefined(env);
}

// state() → { initialized, finalized }.
static napi_value State(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  napi_value out, a, b;
  napi_create_object(env, &out);
  napi_get_boolean(env, initialized != 0, &a);
  napi_get_boolean(env, finalized != 0, &b);
  set(env, out, "initialized", a);
  set(env, out, "finalized", b);
  return out;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } functions[] = {
    {"init", Init}, {"allReduce", AllReduce}, {"reduce", Reduce}, {"broadcast", Broadcast},
    {"allGatherRows", AllGatherRows}, {"barrier", Barrier}, {"abort", Abort}, {"finalize", Finalize},
    {"state", State},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  return exports;
}
