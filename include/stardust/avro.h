/* stardust: Avro object container files (flowtuple.md, rsdos.md).
 *
 * Writer: a container file of one schema, written under
 * PATH.tmp-<6 random characters>, fsync'd and renamed to PATH by
 * sd_avro_writer_close() (optionally followed by an empty PATH.done, as
 * corsaro does). Codec deflate by default (the existing Python reader reads
 * nothing else), null, or snappy; blocks of 16 KiB by default. The header's
 * metadata map is one block followed by the 0 terminator and arrays are
 * written as one positive-count block, so the old pyavro-stardust reader
 * can read every file.
 *
 * Reader: any container file (null, deflate or snappy). Every block is
 * checked (count, size, codec, CRC for snappy, sync marker, and that its
 * records use exactly its bytes) before a record of it is returned, so bad
 * input gives SD_ERR_FORMAT / SD_ERR_TRUNCATED with the file, block and
 * offset in sd_errmsg(), never a crash or a huge allocation.
 *
 * Typed records: sd_avro_write_ft3/ft4() and sd_avro_read_ft3/ft4() encode
 * and decode the fixed FT3 and FT4 schemas by hand (no allocation per
 * record). Generic records: raw datums (sd_avro_read_raw(),
 * sd_avro_write_encoded()), avro-c values (sd_avro_reader_next() +
 * sd_avro_reader_value(), sd_avro_write_value(); include <avro.h> to use
 * them) and a small field accessor (sd_avro_get_long() ...).
 *
 * Thread safety: a reader or writer belongs to one thread at a time;
 * distinct handles are independent. sd_avro_schema_json() is safe anywhere.
 *
 * Since: 0.4
 */
#ifndef STARDUST_AVRO_H
#define STARDUST_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/flowtuple.h>

#ifdef __cplusplus
extern "C" {
#endif

/* avro-c types (<avro.h>), declared here so that only callers of the value
 * API need avro-c's headers. struct avro_obj_t * is avro_schema_t,
 * struct avro_value * is avro_value_t *. */
struct avro_obj_t;
struct avro_value;

typedef struct sd_avro_writer sd_avro_writer;
typedef struct sd_avro_reader sd_avro_reader;

/* The schemas embedded in the library (../shared/spec/schemas), and what a
 * reader recognises a file's writer schema as. */
enum sd_avro_schema_id {
    SD_AVRO_SCHEMA_OTHER = 0,     /* not one of the below */
    SD_AVRO_SCHEMA_FT3 = 1,       /* flowtuple3.avsc */
    SD_AVRO_SCHEMA_FT4_V0 = 2,    /* flowtuple4-v0.avsc (read only) */
    SD_AVRO_SCHEMA_FT4_V1 = 3,    /* flowtuple4-v1.avsc (read only) */
    SD_AVRO_SCHEMA_FT4 = 4,       /* flowtuple4.avsc, "v2" */
    SD_AVRO_SCHEMA_RSDOS_V1 = 5,  /* rsdos-v1.avsc */
    SD_AVRO_SCHEMA_RSDOS_V2 = 6,  /* rsdos-v2.avsc */
    SD_AVRO_SCHEMA_RSDOS_DOSFT = 7 /* rsdos-v1-dosflowtuple.avsc */
};

/* Block codecs. */
enum sd_avro_codec { SD_AVRO_NULL = 0, SD_AVRO_DEFLATE = 1, SD_AVRO_SNAPPY = 2 };

/* The embedded JSON of schema id (compact, doc strings kept), or NULL for
 * SD_AVRO_SCHEMA_OTHER and unknown ids. Borrowed: static. Thread: safe.
 * Since: 0.4 */
SD_API const char *sd_avro_schema_json(int id);

/* A short name of schema id for people: "FT3", "FT4 v0", "FT4 v1",
 * "FT4 v2", "RSDOS v1", "RSDOS v2", "RSDOS dosflowtuple"; "other" for
 * SD_AVRO_SCHEMA_OTHER and unknown ids. Static. Thread: safe. Since: 0.4 */
SD_API const char *sd_avro_schema_name(int id);

/* "null", "deflate", "snappy" for a codec, or NULL. Since: 0.4 */
SD_API const char *sd_avro_codec_name(int codec);

/* 1 if this build reads and writes codec, else 0 (snappy needs libsnappy
 * at build time). Since: 0.4 */
SD_API int sd_avro_codec_supported(int codec);

/* ---------------------------------------------------------------- writer */

/* Writer options. Initialise with sd_avro_writer_opts_init() (sets size and
 * every default), then change fields. */
typedef struct sd_avro_writer_opts {
    size_t size;          /* sizeof(sd_avro_writer_opts), set by _init() */
    int codec;            /* enum sd_avro_codec; default SD_AVRO_DEFLATE */
    int level;            /* deflate level 1..9; -1 (default): 1, the fastest */
    size_t block_size;    /* uncompressed bytes per block; default 16384 */
    int done_file;        /* 1: create an empty PATH.done after the rename */
} sd_avro_writer_opts;

/* Set o->size and the defaults. Since: 0.4 */
SD_API void sd_avro_writer_opts_init(sd_avro_writer_opts *o);

/* Open a writer of schema_json (any Avro schema; usually
 * sd_avro_schema_json(SD_AVRO_SCHEMA_FT3 or _FT4)). The header stores the
 * schema in avro-c's canonical form (no doc strings), byte for byte what
 * corsaro writes. opts NULL means the defaults. The header is written with
 * the first block, so sd_avro_writer_set_meta() works until the first
 * record. On success *wp is owned (sd_avro_writer_close() or _discard()).
 * Returns 0, SD_ERR_INVAL (bad schema or option), SD_ERR_UNSUPPORTED
 * (codec not built), SD_ERR_IO, SD_ERR_PERM, SD_ERR_NOTFOUND (no such
 * directory), SD_ERR_NOMEM; errbuf (may be NULL) says why.
 * Thread: safe. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_writer_open(sd_avro_writer **wp, const char *path,
                                            const char *schema_json,
                                            const sd_avro_writer_opts *opts, char *errbuf);

/* Add a user metadata entry (key and value copied; keys starting "avro."
 * are refused). FT4 files must carry "stardust.ft4.dst_prefix_len" ("16" or
 * "24") and "stardust.ft4.interval" (seconds, e.g. "300") (flowtuple.md
 * §2.6.6): the first FT4 write fails with SD_ERR_STATE without them.
 * Returns 0, SD_ERR_INVAL, SD_ERR_NOMEM, or SD_ERR_STATE after the first
 * record. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_writer_set_meta(sd_avro_writer *w, const char *key,
                                                const char *value);

/* Append n FT3 records (writer schema FT3) / FT4 records (writer schema
 * FT4 v2; the *_V0/V1 schemas are read-only). Geo codes must be two bytes
 * other than NUL. Returns n, or SD_ERR_STATE (another schema),
 * SD_ERR_INVAL (a bad record: nothing of the batch is written),
 * SD_ERR_IO. No allocation or syscall per record. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_write_ft3(sd_avro_writer *w, const sd_ft3_record *recs,
                                          size_t n);
SD_API SD_NODISCARD int sd_avro_write_ft4(sd_avro_writer *w, const sd_ft4_record *recs,
                                          size_t n);

/* Append one record given as its Avro binary encoding (len bytes); it is
 * checked against the schema first (SD_ERR_INVAL if it does not match).
 * Returns 0 or a negative sd_err. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_write_encoded(sd_avro_writer *w, const void *datum,
                                              size_t len);

/* Append one avro-c value (an avro_value_t * of the writer schema).
 * Returns 0 or a negative sd_err. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_write_value(sd_avro_writer *w, struct avro_value *value);

/* Records appended so far. Since: 0.4 */
SD_API uint64_t sd_avro_writer_records(const sd_avro_writer *w);

/* Write the last block, fsync, close, rename the temporary file to PATH
 * (and create PATH.done if asked), and free w, also on failure. Returns 0
 * or a negative sd_err with the reason in errbuf (may be NULL); on failure
 * nothing is left under PATH nor the temporary name. NULL w returns 0.
 * Since: 0.4 */
SD_API int sd_avro_writer_close(sd_avro_writer *w, char *errbuf);

/* Remove the temporary file and free w (aborted run). NULL is ignored.
 * Since: 0.4 */
SD_API void sd_avro_writer_discard(sd_avro_writer *w);

/* ---------------------------------------------------------------- reader */

/* Open a container file ("-": standard input) and read its header. The
 * writer schema is parsed with avro-c and recognised (sd_avro_reader_schema_id);
 * FT4 versions are told apart by field names (flowtuple.md §2.6.8).
 * On success *rp is owned (sd_avro_reader_close()). Returns 0,
 * SD_ERR_NOTFOUND, SD_ERR_PERM, SD_ERR_IO, SD_ERR_FORMAT (not an Avro
 * container, bad header or schema), SD_ERR_TRUNCATED, SD_ERR_UNSUPPORTED
 * (codec), SD_ERR_NOMEM; errbuf (may be NULL) says why. Thread: safe.
 * Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_reader_open(sd_avro_reader **rp, const char *path, char *errbuf);

/* Close and free r. NULL is ignored. Since: 0.4 */
SD_API void sd_avro_reader_close(sd_avro_reader *r);

/* What the writer schema is (enum sd_avro_schema_id). Since: 0.4 */
SD_API int sd_avro_reader_schema_id(const sd_avro_reader *r);

/* The writer schema: the JSON text of the header (NUL-terminated), and
 * avro-c's parsed schema (an avro_schema_t). Borrowed until
 * sd_avro_reader_close(). Since: 0.4 */
SD_API const char *sd_avro_reader_schema_json(const sd_avro_reader *r);
SD_API struct avro_obj_t *sd_avro_reader_schema(const sd_avro_reader *r);

/* The file's codec (enum sd_avro_codec). Since: 0.4 */
SD_API int sd_avro_reader_codec(const sd_avro_reader *r);

/* The value of metadata entry key, or NULL (its length in *len if len is not
 * NULL; the bytes are followed by a NUL not counted in *len). Borrowed until
 * sd_avro_reader_close(). Since: 0.4 */
SD_API const char *sd_avro_reader_meta(const sd_avro_reader *r, const char *key, size_t *len);

/* Blocks and records read so far, and the offset of the next unread block
 * in the file. Since: 0.4 */
SD_API uint64_t sd_avro_reader_blocks(const sd_avro_reader *r);
SD_API uint64_t sd_avro_reader_records(const sd_avro_reader *r);
SD_API uint64_t sd_avro_reader_offset(const sd_avro_reader *r);

/* Read up to n FT3 (FT4) records into recs. FT4 v0/v1 files read with the
 * missing fields "??"/0. Returns 1..n, SD_EOF at the end, SD_ERR_STATE if
 * the file's schema is not FT3 (FT4) (sd_errmsg() names it), or
 * SD_ERR_FORMAT / SD_ERR_TRUNCATED / SD_ERR_IO / SD_ERR_NOMEM. A value out
 * of range of the struct field (a time beyond 32 bits, a geo code not 2
 * bytes long, more than SD_FT4_MAX_COMMON common values) is SD_ERR_FORMAT.
 * No allocation per record. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_read_ft3(sd_avro_reader *r, sd_ft3_record *recs, size_t n);
SD_API SD_NODISCARD int sd_avro_read_ft4(sd_avro_reader *r, sd_ft4_record *recs, size_t n);

/* After a bad record the rest of its block is skipped and the next read
 * goes on with the next block; after a damaged block (or the end) every
 * read returns the same error (SD_EOF). */

/* The next record as its Avro binary encoding, checked against the writer
 * schema. Returns 1 with *datum and *len set (borrowed until the next read on
 * r), SD_EOF, or a negative sd_err. Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_read_raw(sd_avro_reader *r, const void **datum, size_t *len);

/* Decode the next record into the reader's avro-c value. Returns 1, SD_EOF
 * or a negative sd_err. The value (an avro_value_t * of the writer schema)
 * is borrowed until the next read or close: sd_avro_reader_value(). NULL
 * before the first sd_avro_reader_next(). Since: 0.4 */
SD_API SD_NODISCARD int sd_avro_reader_next(sd_avro_reader *r);
SD_API struct avro_value *sd_avro_reader_value(sd_avro_reader *r);

/* Field accessor over the record of the last sd_avro_reader_next(), for
 * record schemas: the number of top-level fields and the name of field i
 * (NULL if out of range); the index of a name (or SD_ERR_NOTFOUND).
 * sd_avro_get_long() reads an int, long, boolean or enum field;
 * sd_avro_get_double() a float or double (or an int/long, converted);
 * sd_avro_get_string() a string, bytes or fixed field (borrowed like the
 * value, not NUL-terminated). They return 0, SD_ERR_NOTFOUND (no such
 * field), SD_ERR_INVAL (another type) or SD_ERR_STATE (no current record).
 * Since: 0.4 */
SD_API int sd_avro_field_count(const sd_avro_reader *r);
SD_API const char *sd_avro_field_name(const sd_avro_reader *r, int i);
SD_API int sd_avro_field_index(const sd_avro_reader *r, const char *name);
SD_API int sd_avro_get_long(sd_avro_reader *r, int i, int64_t *out);
SD_API int sd_avro_get_double(sd_avro_reader *r, int i, double *out);
SD_API int sd_avro_get_string(sd_avro_reader *r, int i, const char **s, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
