/* LD_PRELOAD fault injection for tests: writes to chosen files fail with ENOSPC, as on a full disk.
 *
 *   GRAFT_FAULT_ENOSPC=<substring>   files whose path contains it are "on a full disk"
 *   GRAFT_FAULT_ENOSPC_AFTER=<bytes> let this many bytes through first (counted over all
 *                                    matching files of the process; default 0), then one
 *                                    short write, then ENOSPC
 *   GRAFT_FAULT_LOG=1                note each injected failure on stderr
 *
 * Covers write/pwrite/writev/pwritev on descriptors (GLib, GIO, raw fds; the path is read
 * from /proc/self/fd) and stdio streams opened with fopen/fopen64/fdopen for
 * writing, which are rerouted through fopencookie so that fwrite/fprintf/fputc fail too
 * (glibc's stdio writes through an internal write that LD_PRELOAD cannot reach).
 * freopen, mmap'ed writes, ftruncate and fallocate are not affected. */
/* Both pwrite and pwrite64 are defined here, so no large-file renaming of symbols. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*write_fn) (int, const void *, size_t);
typedef ssize_t (*pwrite_fn) (int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn) (int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn) (int, const struct iovec *, int, off_t);
typedef FILE *(*fopen_fn) (const char *, const char *);
typedef FILE *(*fdopen_fn) (int, const char *);

static long long budget = -1;   /* bytes still allowed; -1: not read yet */

#define REAL(name, type) ((type) dlsym (RTLD_NEXT, name))

static const char *
pattern (void)
{
  const char *p = getenv ("GRAFT_FAULT_ENOSPC");
  return p && *p ? p : NULL;
}

static void
note (const char *what, const char *path)
{
  if (getenv ("GRAFT_FAULT_LOG") == NULL)
    return;
  char msg[4200];
  int n = snprintf (msg, sizeof msg, "graft-fault-shim: ENOSPC on %s of %s\n", what, path);
  if (n > 0)
    REAL ("write", write_fn) (2, msg, (size_t) n < sizeof msg ? (size_t) n : sizeof msg - 1);
}

static int
path_matches (const char *path)
{
  const char *p = pattern ();
  return p && path && strstr (path, p) != NULL;
}

static int
fd_matches (int fd, char *path, size_t size)
{
  if (pattern () == NULL || fd < 0)
    return 0;
  char link[64];
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink (link, path, size - 1);
  if (n <= 0)
    return 0;
  path[n] = '\0';
  return path_matches (path);
}

/* How many of @want bytes may go through; 0 means fail now with ENOSPC. */
static size_t
allowed (size_t want)
{
  if (budget < 0)
    {
      const char *a = getenv ("GRAFT_FAULT_ENOSPC_AFTER");
      budget = a ? atoll (a) : 0;
      if (budget < 0)
        budget = 0;
    }
  size_t n = (unsigned long long) budget < want ? (size_t) budget : want;
  budget -= (long long) n;
  return n;
}

static ssize_t
faulty_write (int fd, const void *buf, size_t len, off_t off, int positional, const char *path)
{
  size_t n = allowed (len);
  if (n == 0 && len > 0)
    {
      note (positional ? "pwrite" : "write", path);
      errno = ENOSPC;
      return -1;
    }
  return positional ? REAL ("pwrite", pwrite_fn) (fd, buf, n, off)
                    : REAL ("write", write_fn) (fd, buf, n);
}

ssize_t
write (int fd, const void *buf, size_t len)
{
  char path[4096];
  if (fd_matches (fd, path, sizeof path))
    return faulty_write (fd, buf, len, 0, 0, path);
  return REAL ("write", write_fn) (fd, buf, len);
}

ssize_t
pwrite (int fd, const void *buf, size_t len, off_t off)
{
  char path[4096];
  if (fd_matches (fd, path, sizeof path))
    return faulty_write (fd, buf, len, off, 1, path);
  return REAL ("pwrite", pwrite_fn) (fd, buf, len, off);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t len, off_t off)
{
  return pwrite (fd, buf, len, off);
}

/* Vectored writes on a matching file: the first non-empty piece, as a short write. */
static ssize_t
first_piece (int fd, const struct iovec *iov, int n, off_t off, int positional, const char *path)
{
  for (int i = 0; i < n; i++)
    if (iov[i].iov_len > 0)
      return faulty_write (fd, iov[i].iov_base, iov[i].iov_len, off, positional, path);
  return 0;
}

ssize_t
writev (int fd, const struct iovec *iov, int n)
{
  char path[4096];
  if (fd_matches (fd, path, sizeof path))
    return first_piece (fd, iov, n, 0, 0, path);
  return REAL ("writev", writev_fn) (fd, iov, n);
}

ssize_t
pwritev (int fd, const struct iovec *iov, int n, off_t off)
{
  char path[4096];
  if (fd_matches (fd, path, sizeof path))
    return first_piece (fd, iov, n, off, 1, path);
  return REAL ("pwritev", pwritev_fn) (fd, iov, n, off);
}

ssize_t
pwritev64 (int fd, const struct iovec *iov, int n, off_t off)
{
  return pwritev (fd, iov, n, off);
}

/* ---- stdio ---- */

typedef struct {
  int  fd;
  char path[4096];
} Cookie;

static ssize_t
cookie_read (void *c, char *buf, size_t len)
{
  return read (((Cookie *) c)->fd, buf, len);
}

static ssize_t
cookie_write (void *c, const char *buf, size_t len)
{
  Cookie *k = c;
  ssize_t w = faulty_write (k->fd, buf, len, 0, 0, k->path);
  /* fopencookie wants 0 on error, and it sets the stream's error flag. */
  return w < 0 ? 0 : w;
}

static int
cookie_seek (void *c, off64_t *pos, int whence)
{
  off_t r = lseek (((Cookie *) c)->fd, (off_t) *pos, whence);
  if (r < 0)
    return -1;
  *pos = r;
  return 0;
}

static int
cookie_close (void *c)
{
  Cookie *k = c;
  int r = close (k->fd);
  free (k);
  return r;
}

static int
writing_mode (const char *mode)
{
  return mode && (strchr (mode, 'w') || strchr (mode, 'a') || strchr (mode, '+'));
}

static FILE *
wrap (FILE *real, const char *path, const char *mode)
{
  if (real == NULL)
    return NULL;
  Cookie *k = calloc (1, sizeof *k);
  if (k == NULL)
    return real;
  k->fd = dup (fileno (real));
  snprintf (k->path, sizeof k->path, "%s", path);
  fclose (real);
  cookie_io_functions_t io = { cookie_read, cookie_write, cookie_seek, cookie_close };
  FILE *f = fopencookie (k, mode, io);
  if (f == NULL)
    {
      close (k->fd);
      free (k);
    }
  return f;
}

FILE *
fopen (const char *path, const char *mode)
{
  FILE *f = REAL ("fopen", fopen_fn) (path, mode);
  if (writing_mode (mode) && path_matches (path))
    return wrap (f, path, mode);
  return f;
}

FILE *
fopen64 (const char *path, const char *mode)
{
  return fopen (path, mode);
}

FILE *
fdopen (int fd, const char *mode)
{
  char path[4096];
  FILE *f = REAL ("fdopen", fdopen_fn) (fd, mode);
  if (writing_mode (mode) && fd_matches (fd, path, sizeof path))
    return wrap (f, path, mode);
  return f;
}
