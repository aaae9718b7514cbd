// flushcount: an LD_PRELOAD library for the storage bench (bench/sdcard.ts) and the doctor test.
//
// In every process that loads it (the controller and any child it starts: children inherit
// LD_PRELOAD), it
//   - counts fsync, fdatasync, msync, syncfs and sync_file_range calls, in a small record file of
//     its own per process, FLUSHCOUNT_DIR/<pid>.fc, mapped shared, so the bench can read the counts
//     of a live process at any moment and of an exited one afterwards;
//   - makes each flush (fsync, fdatasync, msync with MS_SYNC, syncfs) take FLUSHCOUNT_DELAY_US
//     microseconds longer: a model of an SD card, whose flush costs milliseconds;
//   - optionally models a card busy with its garbage collection: with FLUSHCOUNT_STALL_MS and
//     FLUSHCOUNT_STALL_EVERY_MS, a flush that starts inside a stall window waits for its end. The
//     windows are [k*EVERY, k*EVERY + STALL) on CLOCK_MONOTONIC, the same clock for every process
//     (and for Node's process.hrtime), so the bench knows when each stall was;
//   - at exit, stores the process's write_bytes (/proc/self/io) in its record, since /proc/<pid>/io
//     is gone once the process is.
// Without FLUSHCOUNT_DIR it only adds the delays.
//
// Build: gcc -O2 -shared -fPIC -o flushcount.so flushcount.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

// The record file's layout (read by bench/lib/flushcount.ts): little-endian 64-bit fields.
struct record {
  uint64_t magic;          // 0: FC_MAGIC once written
  uint64_t pid;            // 8
  _Atomic uint64_t fsync;  // 16
  _Atomic uint64_t fdatasync;       // 24
  _Atomic uint64_t msync;           // 32
  _Atomic uint64_t syncfs;          // 40
  _Atomic uint64_t sync_file_range; // 48
  _Atomic uint64_t added_ns;        // 56: delay added (fixed delay and stall waits)
  _Atomic uint64_t stalled;         // 64: flushes that waited for a stall window
  _Atomic uint64_t stall_ns;        // 72: of added_ns, the stall waits
  uint64_t exit_write_bytes;        // 80: /proc/self/io write_bytes at exit
  uint64_t exited;                  // 88: 1 once the process has exited normally
  char comm[64];                    // 96: the process's command name
};
#define FC_MAGIC 0x31746e756f636c66ULL // "flcount1"

static struct record *rec;
static pid_t rec_pid;
static long delay_us = -1;
static long long stall_ns, every_ns;

static long long mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void sleep_ns(long long ns) {
  if (ns <= 0) return;
  struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
  while (nanosleep(&t, &t) != 0) {
  }
}

static void settings(void) {
  if (delay_us >= 0) return;
  const char *d = getenv("FLUSHCOUNT_DELAY_US");
  const char *s = getenv("FLUSHCOUNT_STALL_MS");
  const char *e = getenv("FLUSHCOUNT_STALL_EVERY_MS");
  stall_ns = s ? atoll(s) * 1000000LL : 0;
  every_ns = e ? atoll(e) * 1000000LL : 0;
  if (every_ns <= stall_ns) stall_ns = every_ns = 0;
  delay_us = d ? atol(d) : 0;
}

// The record of this process; made anew after a fork (a new pid).
static struct record *record(void) {
  pid_t pid = getpid();
  if (rec && rec_pid == pid) return rec;
  const char *dir = getenv("FLUSHCOUNT_DIR");
  if (!dir) return NULL;
  char path[512];
  snprintf(path, sizeof path, "%s/%d.fc", dir, (int)pid);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return NULL;
  struct record *r = NULL;
  if (ftruncate(fd, 4096) == 0) {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) r = m;
  }
  close(fd);
  if (!r) return NULL;
  memset(r, 0, sizeof *r);
  r->pid = (uint64_t)pid;
  FILE *f = fopen("/proc/self/comm", "re");
  if (f) {
    if (fgets(r->comm, sizeof r->comm, f)) r->comm[strcspn(r->comm, "\n")] = 0;
    fclose(f);
  }
  r->magic = FC_MAGIC;
  rec = r;
  rec_pid = pid;
  return r;
}

// The wait a flush starting now adds: a stall window's remainder, then the fixed delay.
static void slow(struct record *r) {
  settings();
  long long added = 0;
  if (every_ns) {
    long long in = mono_ns() % every_ns;
    if (in < stall_ns) {
      long long wait = stall_ns - in;
      sleep_ns(wait);
      added += wait;
      if (r) {
        atomic_fetch_add(&r->stalled, 1);
        atomic_fetch_add(&r->stall_ns, (uint64_t)wait);
      }
    }
  }
  if (delay_us > 0) {
    sleep_ns(delay_us * 1000LL);
    added += delay_us * 1000LL;
  }
  if (r && added) atomic_fetch_add(&r->added_ns, (uint64_t)added);
}

typedef int (*fd_fn)(int);
typedef int (*msync_fn)(void *, size_t, int);
typedef int (*sfr_fn)(int, off64_t, off64_t, unsigned int);
#define REAL(name, type) \
  static type real_##name; \
  if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

int fsync(int fd) {
  REAL(fsync, fd_fn);
  int r = real_fsync(fd);
  struct record *c = record();
  if (c) atomic_fetch_add(&c->fsync, 1);
  slow(c);
  return r;
}

int fdatasync(int fd) {
  REAL(fdatasync, fd_fn);
  int r = real_fdatasync(fd);
  struct record *c = record();
  if (c) atomic_fetch_add(&c->fdatasync, 1);
  slow(c);
  return r;
}

int msync(void *addr, size_t len, int flags) {
  REAL(msync, msync_fn);
  int r = real_msync(addr, len, flags);
  struct record *c = record();
  if (c) atomic_fetch_add(&c->msync, 1);
  if (flags & MS_SYNC) slow(c);
  return r;
}

int syncfs(int fd) {
  REAL(syncfs, fd_fn);
  int r = real_syncfs(fd);
  struct record *c = record();
  if (c) atomic_fetch_add(&c->syncfs, 1);
  slow(c);
  return r;
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
  REAL(sync_file_range, sfr_fn);
  int r = real_sync_file_range(fd, off, n, flags);
  struct record *c = record();
  if (c) atomic_fetch_add(&c->sync_file_range, 1);
  return r;
}

// Every process gets its record at start (so one that never flushes still shows up), and keeps
// its write_bytes at exit.
__attribute__((constructor)) static void start(void) {
  settings();
  record();
}

__attribute__((destructor)) static void stop(void) {
  struct record *r = rec && rec_pid == getpid() ? rec : NULL;
  if (!r) return;
  FILE *f = fopen("/proc/self/io", "re");
  if (f) {
    char line[128];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "write_bytes:", 12) == 0) r->exit_write_bytes = strtoull(line + 12, NULL, 10);
    fclose(f);
  }
  r->exited = 1;
}
