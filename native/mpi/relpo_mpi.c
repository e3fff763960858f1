// The MPI collectives relpo needs, over N-API in plain C: init, rank and size, all-reduce and
// reduce (sum, min, max) of Float32Array/Float64Array in place, broadcast of any typed array,
// all-gather of variable-length Float64Array rows, barrier, abort, finalize. Every call blocks
// this thread until the collective is done on this rank, except allReduceAsync and
// allReduceDeferred, which run on a libuv worker thread and resolve a Promise. src/distributed/mpi.ts is its only user and checks
// arguments that need a type (typed arrays, ranks) before they get here.
//
// MPI runs at MPI_THREAD_SERIALIZED: one MPI call at a time, whatever the thread. Every
// collective takes a ticket on the main thread when it is called (so in the program's order,
// the same on every rank) and runs when its ticket is served: a blocking call waits here for the
// asynchronous ones called before it, and asynchronous ones run one after another in call order.
// A deferred one takes its ticket when called but is handed to libuv only once JS marks its buffer
// filled (ready), and asynchronous ones are handed over in ticket order, so no worker thread ever
// waits for JS; a blocking call while a deferred one waits for ready is refused (it would wait
// for that one, which waits for this thread's event loop: a deadlock).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mpi.h>
#include <node_api.h>

// Elements per MPI call: MPI's counts are C ints.
#define CHUNK_ELEMENTS (1 << 28)

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_done = PTHREAD_COND_INITIALIZER;
static unsigned long long next_ticket = 0, serving = 0;
// MPI_COMM_WORLD's rank, set by init: the worker thread needs it outside any JS call.
static int world_rank = 0;

static unsigned long long take_ticket(void) {
  pthread_mutex_lock(&turn_lock);
  unsigned long long ticket = next_ticket++;
  pthread_mutex_unlock(&turn_lock);
  return ticket;
}

static void wait_turn(unsigned long long ticket) {
  pthread_mutex_lock(&turn_lock);
  while (serving != ticket) pthread_cond_wait(&turn_done, &turn_lock);
  pthread_mutex_unlock(&turn_lock);
}

static void end_turn(void) {
  pthread_mutex_lock(&turn_lock);
  serving++;
  pthread_cond_broadcast(&turn_done);
  pthread_mutex_unlock(&turn_lock);
}

// A blocking call's turn: the next ticket, once every call before it is done.
static void begin_turn(void) { wait_turn(take_ticket()); }

// Asynchronous collectives not yet handed to libuv, in ticket order (the main thread's alone):
// the head waits for ready(), and so does everything behind it.
typedef struct async_collective async_collective_t;
static async_collective_t *pending_head = NULL, *pending_tail = NULL;
static size_t pending_unfilled = 0;

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

// A blocking collective's refusal while a deferred all-reduce waits for ready() (see the top).
static bool no_deferred_waiting(napi_env env, const char *what) {
  if (pending_unfilled == 0) return true;
  char message[512];
  snprintf(message, sizeof message,
           "relpo_mpi: %s was called while %zu deferred all-reduce(s) wait for ready(); it would wait for them, and they for this "
           "thread (a deadlock): fill their buffers and call ready() first",
           what, pending_unfilled);
  return throw_error(env, message);
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
    // SERIALIZED: allReduceAsync's worker thread runs a collective while the main thread goes on
    // (bucketed gradients); the turns above keep it to one MPI call at a time.
    if (!mpi_ok(env, MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread")) return NULL;
    // Errors come back as exceptions instead of ending the job from inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  begin_turn();
  if (initialized) MPI_Query_thread(&provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(library, &length);
  end_turn();
  world_rank = rank;
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

// One collective over a buffer, in MPI-sized chunks: what the blocking calls and the worker
// thread both run, so both add in the same order (the same bits). Call it in a turn.
typedef enum { ALL_REDUCE, REDUCE, BROADCAST, REDUCE_BROADCAST } collective_kind;

typedef struct {
  collective_kind kind;
  char *data;
  size_t length;
  size_t element_size;
  MPI_Datatype type;
  MPI_Op op;
  int root;
} collective_t;

// The first failing MPI call's code (MPI_SUCCESS when none failed), and its name in *what.
static int run_collective(const collective_t *c, const char **what) {
  for (size_t at = 0; at < c->length; at += CHUNK_ELEMENTS) {
    size_t n = c->length - at < CHUNK_ELEMENTS ? c->length - at : CHUNK_ELEMENTS;
    char *p = c->data + at * c->element_size;
    int rc = MPI_SUCCESS;
    if (c->kind == ALL_REDUCE) {
      *what = "MPI_Allreduce";
      rc = MPI_Allreduce(MPI_IN_PLACE, p, (int)n, c->type, c->op, MPI_COMM_WORLD);
    } else {
      if (c->kind != BROADCAST) {
        *what = "MPI_Reduce";
        rc = world_rank == c->root ? MPI_Reduce(MPI_IN_PLACE, p, (int)n, c->type, c->op, c->root, MPI_COMM_WORLD)
                                   : MPI_Reduce(p, NULL, (int)n, c->type, c->op, c->root, MPI_COMM_WORLD);
      }
      if (rc == MPI_SUCCESS && c->kind != REDUCE) {
        *what = "MPI_Bcast";
        rc = MPI_Bcast(p, (int)n, c->type, c->root, MPI_COMM_WORLD);
      }
    }
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

static napi_value run_blocking(napi_env env, const collective_t *c, const char *name) {
  const char *what = "MPI";
  if (!no_deferred_waiting(env, name)) return NULL;
  begin_turn();
  int rc = run_collective(c, &what);
  end_turn();
  return mpi_ok(env, rc, what) ? undefined(env) : NULL;
}

static bool float_collective(napi_env env, napi_value buffer, collective_kind kind, napi_value op, int root, collective_t *out) {
  view_t view;
  if (!get_view(env, buffer, &view) || !float_type(env, &view, &out->type) || !get_op(env, op, &out->op) || !is_running(env)) return false;
  out->kind = kind;
  out->data = view.data;
  out->length = view.length;
  out->element_size = view.element_size;
  out->root = root;
  return true;
}

// allReduce(buf, op): buf ← op over ranks, in place.
static napi_value AllReduce(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  collective_t c;
  if (!get_args(env, info, 2, argv) || !float_collective(env, argv[0], ALL_REDUCE, argv[1], 0, &c)) return NULL;
  return run_blocking(env, &c, "allReduce");
}

// reduce(buf, root, op): on root, buf ← op over ranks; elsewhere buf is only read.
static napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  collective_t c;
  int root = 0;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[1], &root) || !float_collective(env, argv[0], REDUCE, argv[2], root, &c)) return NULL;
  return run_blocking(env, &c, "reduce");
}

// broadcast(buf, root): buf ← root's buf, byte for byte (any typed array).
static napi_value Broadcast(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  view_t view;
  int root = 0;
  if (!get_args(env, info, 2, argv) || !get_view(env, argv[0], &view) || !get_int(env, argv[1], &root) || !is_running(env)) return NULL;
  collective_t c = {BROADCAST, view.data, view.length * view.element_size, 1, MPI_BYTE, MPI_OP_NULL, root};
  return run_blocking(env, &c, "broadcast");
}

// An allReduceAsync or allReduceDeferred in flight: the typed array is referenced until it settles.
struct async_collective {
  collective_t c;
  unsigned long long ticket;
  napi_ref buffer;
  napi_deferred deferred;
  napi_async_work work;
  int rc;
  const char *what;
  double seconds;
  // Pending: not yet handed to libuv; filled: its buffer may be read (always, but for a deferred one before ready()).
  bool filled;
  async_collective_t *next;
};

static void execute_async(napi_env env, void *data) {
  (void)env;
  async_collective_t *a = data;
  wait_turn(a->ticket);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  a->rc = run_collective(&a->c, &a->what);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  end_turn();
  a->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

// Frees a settled collective: its buffer's reference, its work, itself.
static void free_async(napi_env env, async_collective_t *a) {
  napi_delete_reference(env, a->buffer);
  napi_delete_async_work(env, a->work);
  free(a);
}

static void reject_async(napi_env env, async_collective_t *a, const char *message) {
  napi_value msg, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_reject_deferred(env, a->deferred, error);
  free_async(env, a);
}

static void complete_async(napi_env env, napi_status status, void *data) {
  async_collective_t *a = data;
  if (status == napi_ok && a->rc == MPI_SUCCESS) {
    napi_value value;
    napi_create_double(env, a->seconds, &value);
    napi_resolve_deferred(env, a->deferred, value);
    free_async(env, a);
    return;
  }
  char text[MPI_MAX_ERROR_STRING] = "the work was cancelled";
  int length = (int)strlen(text);
  if (status == napi_ok) MPI_Error_string(a->rc, text, &length);
  char message[MPI_MAX_ERROR_STRING + 64];
  snprintf(message, sizeof message, "%s failed: %.*s", status == napi_ok ? a->what : "allReduceAsync", length, text);
  reject_async(env, a, message);
}

// Settles a collective that never reached libuv (its ticket served here, so later calls go on).
static void fail_unqueued(napi_env env, async_collective_t *a, napi_status status) {
  wait_turn(a->ticket);
  end_turn();
  char message[128];
  snprintf(message, sizeof message, "relpo_mpi: napi_queue_async_work failed (napi status %d)", (int)status);
  reject_async(env, a, message);
}

// Hands the pending collectives to libuv in ticket order, up to the first one waiting for ready():
// a worker then only ever waits for collectives already handed over (libuv's queue is FIFO).
static void queue_filled(napi_env env) {
  while (pending_head && pending_head->filled) {
    async_collective_t *a = pending_head;
    pending_head = a->next;
    if (!pending_head) pending_tail = NULL;
    napi_status queued = napi_queue_async_work(env, a->work);
    if (queued != napi_ok) fail_unqueued(env, a, queued);
  }
}

// A new asynchronous collective: its ticket taken now (call order), at the back of the pending list.
static async_collective_t *start_async(napi_env env, napi_callback_info info, bool filled, napi_value *promise) {
  napi_value argv[3], name;
  int root = -1;
  async_collective_t *a = calloc(1, sizeof *a);
  if (!a) {
    throw_error(env, "relpo_mpi: out of memory");
    return NULL;
  }
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[2], &root) ||
      !float_collective(env, argv[0], root < 0 ? ALL_REDUCE : REDUCE_BROADCAST, argv[1], root, &a->c) ||
      !napi_ok_or_throw(env, napi_create_reference(env, argv[0], 1, &a->buffer), "napi_create_reference")) {
    free(a);
    return NULL;
  }
  a->what = "MPI";
  napi_create_string_utf8(env, filled ? "relpo_mpi.allReduceAsync" : "relpo_mpi.allReduceDeferred", NAPI_AUTO_LENGTH, &name);
  if (!napi_ok_or_throw(env, napi_create_promise(env, &a->deferred, promise), "napi_create_promise") ||
      !napi_ok_or_throw(env, napi_create_async_work(env, NULL, name, execute_async, complete_async, a, &a->work), "napi_create_async_work")) {
    napi_delete_reference(env, a->buffer);
    free(a);
    return NULL;
  }
  a->ticket = take_ticket();
  a->filled = filled;
  if (!filled) pending_unfilled++;
  if (pending_tail) pending_tail->next = a;
  else pending_head = a;
  pending_tail = a;
  return a;
}

// allReduceAsync(buf, op, root) → Promise<seconds in MPI>: root < 0, buf ← op over ranks
// (MPI_Allreduce); else reduced to root, then root's bits broadcast. Runs on a libuv worker
// thread in this call's turn; buf must stay untouched (and not transferred) until it settles.
static napi_value AllReduceAsync(napi_env env, napi_callback_info info) {
  napi_value promise;
  if (!start_async(env, info, true, &promise)) return NULL;
  queue_filled(env);
  return promise;
}

// allReduceDeferred(buf, op, root) → { done: Promise<seconds in MPI>, ticket }: allReduceAsync
// whose turn is this call's but which starts only after ready(ticket), once buf holds its values.
static napi_value AllReduceDeferred(napi_env env, napi_callback_info info) {
  napi_value promise, out, ticket;
  async_collective_t *a = start_async(env, info, false, &promise);
  if (!a) return NULL;
  napi_create_object(env, &out);
  set(env, out, "done", promise);
  napi_create_double(env, (double)a->ticket, &ticket);
  set(env, out, "ticket", ticket);
  return out;
}

// ready(ticket): the deferred all-reduce's buffer is filled; it runs in its turn.
static napi_value Ready(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  double ticket = -1;
  if (!get_args(env, info, 1, argv) || !napi_ok_or_throw(env, napi_get_value_double(env, argv[0], &ticket), "reading the ticket")) return NULL;
  for (async_collective_t *a = pending_head; a; a = a->next) {
    if ((double)a->ticket != ticket || a->filled) continue;
    a->filled = true;
    pending_unfilled--;
    queue_filled(env);
    return undefined(env);
  }
  throw_error(env, "relpo_mpi: ready(): no deferred all-reduce waits with this ticket (ready() called twice?)");
  return NULL;
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
  if (!no_deferred_waiting(env, "allGatherRows")) return NULL;
  begin_turn();
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value counts_buffer, counts_array;
  void *counts_data = NULL;
  if (!napi_ok_or_throw(env, napi_create_arraybuffer(env, (size_t)size * sizeof(int), &counts_data, &counts_buffer), "napi_create_arraybuffer")) {
    end_turn();
    return NULL;
  }
  int *counts = counts_data;
  int mine = (int)view.length;
  int rc = MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) {
    end_turn();
    mpi_ok(env, rc, "MPI_Allgather");
    return NULL;
  }
  int *displacements = malloc((size_t)size * sizeof(int));
  long long total = 0;
  for (int r = 0; displacements && r < size; r++) {
    displacements[r] = (int)(total < INT_MAX ? total : INT_MAX);
    total += counts[r];
  }
  void *data = NULL;
  napi_value data_buffer, data_array, out;
  // Every rank sees the same counts, so every rank refuses a too-large gather together.
  if (!displacements || total > INT_MAX ||
      !napi_ok_or_throw(env, napi_create_arraybuffer(env, (size_t)total * sizeof(double), &data, &data_buffer), "napi_create_arraybuffer")) {
    end_turn();
    free(displacements);
    if (!displacements) throw_error(env, "relpo_mpi: out of memory");
    else if (total > INT_MAX) throw_error(env, "relpo_mpi: allGatherRows: more than 2^31-1 values over all ranks");
    return NULL;
  }
  rc = MPI_Allgatherv(view.data, mine, MPI_DOUBLE, data, counts, displacements, MPI_DOUBLE, MPI_COMM_WORLD);
  end_turn();
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
  if (!is_running(env) || !no_deferred_waiting(env, "barrier")) return NULL;
  begin_turn();
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  end_turn();
  return mpi_ok(env, rc, "MPI_Barrier") ? undefined(env) : NULL;
}

// abort(code): ends every rank of the job (mpirun exits with a non-zero status). Never returns.
// It takes no turn: a worker thread may be blocked in a collective that the failed rank never joins.
static napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int code = 1;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &code)) return NULL;
  fflush(stdout);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  exit(code);
}

// finalize(): idempotent; waits for the collectives called before it.
static napi_value Finalize(napi_env env, napi_callback_info info) {
  (void)info;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return undefined(env);
  if (!no_deferred_waiting(env, "finalize")) return NULL;
  begin_turn();
  int rc = MPI_Finalize();
  end_turn();
  return mpi_ok(env, rc, "MPI_Finalize") ? undefined(env) : NULL;
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
    {"allReduceAsync", AllReduceAsync}, {"allReduceDeferred", AllReduceDeferred}, {"ready", Ready}, {"allGatherRows", AllGatherRows}, {"barrier", Barrier}, {"abort", Abort}, {"finalize", Finalize},
    {"state", State},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  return exports;
}
