/* stardust: error codes and diagnostics.
 *
 * Every fallible call returns 0 (or a count) on success and a negative
 * sd_err on failure. Codes are append-only: never renumbered or reused.
 * Thread safety: sd_strerror() and sd_errname() are safe from any thread.
 */
#ifndef STARDUST_ERR_H
#define STARDUST_ERR_H

#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* WARNING: on-ABI values. Append only. */
enum sd_err {
    SD_OK = 0,
    SD_ERR_NOMEM = -1,       /* memory allocation failed */
    SD_ERR_INVAL = -2,       /* invalid argument or option value */
    SD_ERR_IO = -3,          /* I/O or system call failed (errno in sd_errmsg) */
    SD_ERR_FORMAT = -4,      /* input is not in the expected format, or damaged */
    SD_ERR_STATE = -5,       /* call not valid in the handle's current state */
    SD_ERR_VERSION = -6,     /* unsupported format or protocol version */
    SD_ERR_TRUNCATED = -7,   /* input ends in the middle of a record */
    SD_ERR_NOTFOUND = -8,    /* file, interface or key does not exist */
    SD_EOF = -9,             /* end of a file source: not a failure, not a count */
    SD_ERR_UNSUPPORTED = -10,/* URI scheme, link type or feature not supported */
    SD_ERR_PERM = -11,       /* permission denied */
    SD_ERR_FILTER = -12      /* BPF filter expression does not compile */
};

/* Size of the errbuf taken by calls that run before a handle exists.
 * Since: 0.1 */
#define SD_ERRBUF_SIZE 512

/* One sentence describing err, e.g. "input is not in the expected format".
 * Any int is accepted; unknown values give "unknown error".
 * Borrowed: static storage, never freed. Thread: safe. Since: 0.1 */
SD_API const char *sd_strerror(int err);

/* The symbol of err as a string, e.g. "SD_ERR_FORMAT"; "SD_ERR_UNKNOWN" for
 * values that are not codes. Borrowed: static storage. Thread: safe.
 * Since: 0.1 */
SD_API const char *sd_errname(int err);

/* Detail of the last failure on any stardust handle (sd_source, sd_pcap_writer,
 * ...): names the object, where in it things went wrong, and the cause, e.g.
 * "trace.erf: record 12 at offset 81920: rlen 8 is shorter than the 16-byte
 * header". Never NULL; "" when nothing failed yet. NULL handle gives "".
 * Borrowed: valid until the next call on that handle.
 * Thread: the thread that owns the handle. Since: 0.1 */
SD_API const char *sd_errmsg(const void *handle);

/* Log levels passed to sd_log_fn callbacks. */
enum sd_log_level { SD_LOG_ERROR = 0, SD_LOG_WARN = 1, SD_LOG_INFO = 2, SD_LOG_DEBUG = 3 };

/* Diagnostics that are not failures (a capped socket buffer, a skipped
 * record) go to a per-handle callback; the library never prints.
 * msg is borrowed for the duration of the call. The callback runs on the
 * thread that made the library call. */
typedef void (*sd_log_fn)(void *userdata, int level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif
