/*
 * @x/mmap: private mappings of file ranges as external ArrayBuffers (POSIX mmap).
 *
 * map(fd, offset, length) maps [offset, offset + length) of an open file, starting at the page
 * boundary at or below `offset`, copy-on-write (MAP_PRIVATE, PROT_READ | PROT_WRITE): writes
 * through a view change this process's pages only, never the file, and do not fault. The buffer
 * owns its mapping: V8 calls `unmap` when the last view of it is collected, so no view can outlive
 * its pages. `mappedBytes()` counts the bytes currently mapped (tests observe unmapping with it).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_llong mapped_bytes = 0;

static napi_value fail(napi_env env, const char* code, const char* message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  size_t length = (size_t)(uintptr_t)hint;
  munmap(data, length);
  atomic_fetch_sub(&mapped_bytes, (long long)length);
}

static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return fail(env, "EINVAL", "map(fd, offset, length)");
  int32_t fd;
  int64_t offset, length;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok || fd < 0 || offset < 0 || length <= 0) {
    return fail(env, "EINVAL", "map: fd, offset and length must be integers, length > 0");
  }
  int64_t page = (int64_t)sysconf(_SC_PAGESIZE);
  int64_t start = offset - offset % page;
  size_t size = (size_t)(offset - start + length);
  void* addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)start);
  if (addr == MAP_FAILED) return fail(env, "EMMAP", strerror(errno));
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, addr, size, unmap, (void*)(uintptr_t)size, &buffer) != napi_ok) {
    munmap(addr, size);
    return fail(env, "EMMAP", "could not wrap the mapping in an ArrayBuffer");
  }
  atomic_fetch_add(&mapped_bytes, (long long)size);
  return buffer;
}

static napi_value page_size(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int64(env, (int64_t)sysconf(_SC_PAGESIZE), &out);
  return out;
}

static napi_value mapped(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int64(env, (int64_t)atomic_load(&mapped_bytes), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"map", NULL, map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pageSize", NULL, page_size, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mappedBytes", NULL, mapped, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
