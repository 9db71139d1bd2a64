/* stardust: Avro object container files over avro-c.
 *
 * Why the container layer is our own and avro-c does the schemas: avro-c
 * 1.11 cannot write user metadata (its datafile.c writes a header of exactly
 * avro.codec and avro.schema, with a sync marker from srand(time())), and its
 * file reader trusts the input: it mallocs whatever block size the file
 * claims, ignores a failed decompression and asserts on some bad data. FT4
 * files need metadata (flowtuple.md §2.6.6) and bad files must give errors,
 * so this module writes and reads the container (header, blocks, sync
 * markers, codecs through zlib and libsnappy) itself, with limits checked
 * before any allocation, and uses avro-c for what it does well: parsing and
 * comparing schemas, the canonical schema JSON of the header (byte for byte
 * what corsaro writes), and the generic avro_value_t API. Record bytes are
 * checked against the schema by our own walker before avro-c decodes them.
 * FT3/FT4 records are encoded and decoded by hand: no allocation per record. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avro.h>
#include <zlib.h>
#ifdef HAVE_SNAPPY
#include <snappy-c.h>
#endif

#include <stardust/avro.h>
#include "internal.h"

#include "avro_schemas.inc"

/* Limits that keep a corrupt file from asking for absurd memory: no writer
 * we know of uses blocks anywhere near these. */
#define AV_MAX_BLOCK (64u << 20)       /* compressed or decoded bytes of one block */
#define AV_MAX_COUNT 0x7fffffffLL      /* records of one block (as goavro) */
#define AV_MAX_META_ENTRIES 1024
#define AV_MAX_META_VALUE (16u << 20)
#define AV_MAX_DEPTH 64                /* schema nesting walked per datum */
#define AV_READ_CHUNK (256u * 1024u)
#define AV_OBUF_SIZE (256u * 1024u)
#define AV_DEFAULT_BLOCK 16384u
#define AV_FT_MAX_REC 1024u            /* more than any FT3/FT4 record encodes to */

static const char *const schema_table[] = {
    NULL, schema_ft3, schema_ft4_v0, schema_ft4_v1, schema_ft4,
    schema_rsdos_v1, schema_rsdos_v2, schema_rsdos_dosft,
};
#define N_SCHEMAS ((int)(sizeof schema_table / sizeof schema_table[0]))

const char *sd_avro_schema_json(int id)
{
    if (id <= 0 || id >= N_SCHEMAS)
        return NULL;
    return schema_table[id];
}

const char *sd_avro_codec_name(int codec)
{
    switch (codec) {
    case SD_AVRO_NULL: return "null";
    case SD_AVRO_DEFLATE: return "deflate";
    case SD_AVRO_SNAPPY: return "snappy";
    default: return NULL;
    }
}

int sd_avro_codec_supported(int codec)
{
#ifdef HAVE_SNAPPY
    return codec >= SD_AVRO_NULL && codec <= SD_AVRO_SNAPPY;
#else
    return codec == SD_AVRO_NULL || codec == SD_AVRO_DEFLATE;
#endif
}

/* ---------------------------------------------------------------- varints */

static inline uint8_t *put_long(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

/* Decode a zig-zag varint at *pp (< end). 0, or -1 when truncated or longer
 * than 10 bytes. */
static inline int get_long(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    const uint8_t *p = *pp;
    if (SD__LIKELY(p < end && *p < 0x80)) {
        uint64_t z = *p;
        *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        *pp = p + 1;
        return 0;
    }
    uint64_t z = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        z |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- schemas */

/* Same types in the same places, names ignored (a fork renamed the netacq
 * fields to ipinfo_* at the same positions: flowtuple.md §1.3). */
static int same_shape(avro_schema_t a, avro_schema_t b, int depth)
{
    if (depth > AV_MAX_DEPTH)
        return 0;
    if (is_avro_link(a))
        a = avro_schema_link_target(a);
    if (is_avro_link(b))
        b = avro_schema_link_target(b);
    if (avro_typeof(a) != avro_typeof(b))
        return 0;
    switch (avro_typeof(a)) {
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(a);
        if (n != avro_schema_record_size(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!same_shape(avro_schema_record_field_get_by_index(a, (int)i),
                            avro_schema_record_field_get_by_index(b, (int)i), depth + 1))
                return 0;
        return 1;
    }
    case AVRO_ARRAY:
        return same_shape(avro_schema_array_items(a), avro_schema_array_items(b), depth + 1);
    case AVRO_MAP:
        return same_shape(avro_schema_map_values(a), avro_schema_map_values(b), depth + 1);
    case AVRO_UNION: {
        size_t n = avro_schema_union_size(a);
        if (n != avro_schema_union_size(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!same_shape(avro_schema_union_branch(a, (int)i), avro_schema_union_branch(b, (int)i),
                            depth + 1))
                return 0;
        return 1;
    }
    case AVRO_FIXED:
        return avro_schema_fixed_size(a) == avro_schema_fixed_size(b);
    case AVRO_ENUM:
        return avro_schema_equal(a, b);
    default:
        return 1;
    }
}

static int has_field(avro_schema_t s, const char *name)
{
    return avro_schema_record_field_get_index(s, name) >= 0;
}

/* Does s have the shape of embedded schema id? */
static int shape_is(avro_schema_t s, int id)
{
    avro_schema_t ref = NULL;
    if (avro_schema_from_json_length(schema_table[id], strlen(schema_table[id]), &ref) != 0)
        return 0;
    int same = same_shape(s, ref, 0);
    avro_schema_decref(ref);
    return same;
}

/* Recognise a writer schema. FT4 versions by field names, never by the
 * record name (flowtuple.md §2.6.8: v0 is named "flowtuple3"). */
static int classify(avro_schema_t s)
{
    if (!is_avro_record(s))
        return SD_AVRO_SCHEMA_OTHER;
    if (has_field(s, "dst_net")) {
        int id = has_field(s, "masscan_packet_cnt") ? SD_AVRO_SCHEMA_FT4
                 : has_field(s, "maxmind_continent") ? SD_AVRO_SCHEMA_FT4_V1
                                                     : SD_AVRO_SCHEMA_FT4_V0;
        return shape_is(s, id) ? id : SD_AVRO_SCHEMA_OTHER;
    }
    if (has_field(s, "dst_ip") && has_field(s, "tcp_synlen"))
        return shape_is(s, SD_AVRO_SCHEMA_FT3) ? SD_AVRO_SCHEMA_FT3 : SD_AVRO_SCHEMA_OTHER;
    const char *name = avro_schema_name(s);
    if (name != NULL && (strcmp(name, "dos") == 0 || strcmp(name, "dosflowtuple") == 0)) {
        int id = strcmp(name, "dosflowtuple") == 0       ? SD_AVRO_SCHEMA_RSDOS_DOSFT
                 : has_field(s, "first_attack_port") ? SD_AVRO_SCHEMA_RSDOS_V2
                                                         : SD_AVRO_SCHEMA_RSDOS_V1;
        return shape_is(s, id) ? id : SD_AVRO_SCHEMA_OTHER;
    }
    return SD_AVRO_SCHEMA_OTHER;
}

const char *sd_avro_schema_name(int id)
{
    switch (id) {
    case SD_AVRO_SCHEMA_FT3: return "FT3";
    case SD_AVRO_SCHEMA_FT4_V0: return "FT4 v0";
    case SD_AVRO_SCHEMA_FT4_V1: return "FT4 v1";
    case SD_AVRO_SCHEMA_FT4: return "FT4 v2";
    case SD_AVRO_SCHEMA_RSDOS_V1: return "RSDOS v1";
    case SD_AVRO_SCHEMA_RSDOS_V2: return "RSDOS v2";
    case SD_AVRO_SCHEMA_RSDOS_DOSFT: return "RSDOS dosflowtuple";
    default: return "other";
    }
}

/* Walk one datum of schema s at *pp, checking every length against end, so
 * avro-c (which allocates what a length says) only sees well-formed bytes.
 * Returns 0, or -1 with *why set. */
static int skip_datum(avro_schema_t s, const uint8_t **pp, const uint8_t *end, int depth,
                      const char **why)
{
    int64_t v;
    if (depth > AV_MAX_DEPTH) {
        *why = "nesting too deep";
        return -1;
    }
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (*pp >= end || **pp > 1) {
            *why = *pp >= end ? "truncated boolean" : "boolean not 0 or 1";
            return -1;
        }
        (*pp)++;
        return 0;
    case AVRO_INT32:
    case AVRO_INT64:
        if (get_long(pp, end, &v) != 0) {
            *why = "truncated or overlong integer";
            return -1;
        }
        if (avro_typeof(s) == AVRO_INT32 && (v < INT32_MIN || v > INT32_MAX)) {
            *why = "int out of 32-bit range";
            return -1;
        }
        return 0;
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t n = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if ((size_t)(end - *pp) < n) {
            *why = "truncated floating-point value";
            return -1;
        }
        *pp += n;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        if (get_long(pp, end, &v) != 0 || v < 0 || v > end - *pp) {
            *why = "string or bytes length beyond the block";
            return -1;
        }
        *pp += v;
        return 0;
    case AVRO_FIXED:
        v = avro_schema_fixed_size(s);
        if (v > end - *pp) {
            *why = "truncated fixed value";
            return -1;
        }
        *pp += v;
        return 0;
    case AVRO_ENUM:
        if (get_long(pp, end, &v) != 0 || v < 0 || v >= avro_schema_enum_number_of_symbols(s)) {
            *why = "enum index out of range";
            return -1;
        }
        return 0;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t item = is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        for (;;) {
            if (get_long(pp, end, &v) != 0) {
                *why = "truncated array or map block count";
                return -1;
            }
            if (v == 0)
                return 0;
            if (v < 0) {
                int64_t size;
                if (v == INT64_MIN || get_long(pp, end, &size) != 0 || size < 0) {
                    *why = "bad array or map block size";
                    return -1;
                }
                v = -v;
            }
            /* Each item takes a byte except in odd schemas (null items):
             * bound the loop either way. */
            if (v > end - *pp && v > 65536) {
                *why = "array or map count beyond the block";
                return -1;
            }
            for (int64_t i = 0; i < v; i++) {
                int64_t klen;
                if (is_map && (get_long(pp, end, &klen) != 0 || klen < 0 || klen > end - *pp)) {
                    *why = "map key length beyond the block";
                    return -1;
                }
                if (is_map)
                    *pp += klen;
                if (skip_datum(item, pp, end, depth + 1, why) != 0)
                    return -1;
            }
        }
    }
    case AVRO_UNION:
        if (get_long(pp, end, &v) != 0 || v < 0 || (size_t)v >= avro_schema_union_size(s)) {
            *why = "union branch out of range";
            return -1;
        }
        return skip_datum(avro_schema_union_branch(s, (int)v), pp, end, depth + 1, why);
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n; i++)
            if (skip_datum(avro_schema_record_field_get_by_index(s, (int)i), pp, end, depth + 1, why) != 0)
                return -1;
        return 0;
    }
    case AVRO_LINK:
        return skip_datum(avro_schema_link_target(s), pp, end, depth + 1, why);
    default:
        *why = "unknown schema type";
        return -1;
    }
}

/* The canonical JSON avro-c writes for s (what corsaro's headers hold),
 * NUL-terminated, owned by the caller. */
static char *schema_to_json(avro_schema_t s, size_t *lenp)
{
    for (size_t cap = 4096; cap <= AV_MAX_META_VALUE; cap *= 4) {
        char *buf = sd__malloc(cap);
        if (buf == NULL)
            return NULL;
        avro_writer_t wr = avro_writer_memory(buf, (int64_t)cap - 1);
        if (wr == NULL) {
            sd__free(buf);
            return NULL;
        }
        int rc = avro_schema_to_json(s, wr);
        int64_t len = avro_writer_tell(wr);
        avro_writer_free(wr);
        if (rc == 0) {
            buf[len] = '\0';
            *lenp = (size_t)len;
            return buf;
        }
        sd__free(buf);
    }
    return NULL;
}

/* ---------------------------------------------------------------- writer */

struct meta_entry {
    char *key;
    char *val;
    size_t vlen;
};

struct sd_avro_writer {
    struct sd__handle h; /* must be first: sd_errmsg() */
    struct sd__output out;
    char *path;
    avro_schema_t schema;
    int schema_id;
    char *schema_json;
    size_t schema_len;
    int codec;
    size_t block_size;
    int done_file;
    struct meta_entry *meta;
    size_t nmeta;
    int header_done;
    uint8_t sync[16];
    uint8_t *blk;          /* records of the current block, encoded */
    size_t blen, bcap;
    int64_t bcount;
    uint8_t *cbuf;         /* the compressed block */
    size_t ccap;
    uint8_t *obuf;         /* file bytes waiting for write(2) */
    size_t olen;
    z_stream zs;
    int zinit;
    avro_writer_t vw;      /* for sd_avro_write_value() */
    uint64_t records;
    int failed;            /* sticky error after a failed write */
};

void sd_avro_writer_opts_init(sd_avro_writer_opts *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->codec = SD_AVRO_DEFLATE;
    o->level = -1;
    o->block_size = AV_DEFAULT_BLOCK;
    o->done_file = 0;
}

/* All of b, or the handle's sticky SD_ERR_IO with the reason. */
static int write_all(struct sd_avro_writer *w, const uint8_t *b, size_t n)
{
    int rc = sd__output_write_h(&w->out, &w->h, b, n);
    if (rc != 0)
        w->failed = rc;
    return rc;
}

static int out_flush(struct sd_avro_writer *w)
{
    int rc = write_all(w, w->obuf, w->olen);
    w->olen = 0;
    return rc;
}

static int out_put(struct sd_avro_writer *w, const void *p, size_t n)
{
    if (AV_OBUF_SIZE - w->olen < n) {
        if (out_flush(w) < 0)
            return SD_ERR_IO;
        if (n >= AV_OBUF_SIZE)
            return write_all(w, p, n);
    }
    memcpy(w->obuf + w->olen, p, n);
    w->olen += n;
    return 0;
}

static int out_long(struct sd_avro_writer *w, int64_t v)
{
    uint8_t b[10];
    return out_put(w, b, (size_t)(put_long(b, v) - b));
}

static int out_bytes(struct sd_avro_writer *w, const void *p, size_t n)
{
    if (out_long(w, (int64_t)n) < 0)
        return SD_ERR_IO;
    return out_put(w, p, n);
}

static const struct meta_entry *find_meta(const struct meta_entry *m, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].key, key) == 0)
            return &m[i];
    return NULL;
}

/* The header: magic, the metadata map as ONE block and its 0 terminator
 * (the old Python reader reads no more than that), the sync marker. */
static int write_header(struct sd_avro_writer *w)
{
    if (w->schema_id == SD_AVRO_SCHEMA_FT4 &&
        (find_meta(w->meta, w->nmeta, "stardust.ft4.dst_prefix_len") == NULL ||
         find_meta(w->meta, w->nmeta, "stardust.ft4.interval") == NULL))
        return sd__seterr(&w->h, SD_ERR_STATE,
                          "%s: FT4 files need the metadata stardust.ft4.dst_prefix_len and "
                          "stardust.ft4.interval (sd_avro_writer_set_meta)",
                          w->path);
    const char *codec = sd_avro_codec_name(w->codec);
    if (out_put(w, "Obj\x01", 4) < 0 || out_long(w, (int64_t)(2 + w->nmeta)) < 0 ||
        out_bytes(w, "avro.codec", 10) < 0 || out_bytes(w, codec, strlen(codec)) < 0 ||
        out_bytes(w, "avro.schema", 11) < 0 || out_bytes(w, w->schema_json, w->schema_len) < 0)
        return SD_ERR_IO;
    for (size_t i = 0; i < w->nmeta; i++)
        if (out_bytes(w, w->meta[i].key, strlen(w->meta[i].key)) < 0 ||
            out_bytes(w, w->meta[i].val, w->meta[i].vlen) < 0)
            return SD_ERR_IO;
    if (out_long(w, 0) < 0 || out_put(w, w->sync, sizeof w->sync) < 0)
        return SD_ERR_IO;
    w->header_done = 1;
    return 0;
}

static int grow_buf(uint8_t **p, size_t *cap, size_t need)
{
    return sd__grow((void **)p, cap, need, 1);
}

/* Compress and write blk[0..len) as a block of count records. */
static int emit_block(struct sd_avro_writer *w, const uint8_t *data, size_t len, int64_t count)
{
    if (!w->header_done && write_header(w) < 0)
        return w->failed = w->failed ? w->failed : SD_ERR_STATE;
    const uint8_t *payload = data;
    size_t plen = len;
    if (w->codec == SD_AVRO_DEFLATE) {
        size_t bound = deflateBound(&w->zs, (uLong)len) + 16;
        if (grow_buf(&w->cbuf, &w->ccap, bound) < 0)
            return w->failed = sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
        deflateReset(&w->zs);
        w->zs.next_in = (Bytef *)(uintptr_t)data;
        w->zs.avail_in = (uInt)len;
        w->zs.next_out = w->cbuf;
        w->zs.avail_out = (uInt)w->ccap;
        if (deflate(&w->zs, Z_FINISH) != Z_STREAM_END)
            return w->failed = sd__seterr(&w->h, SD_ERR_IO, "%s: zlib deflate failed", w->path);
        payload = w->cbuf;
        plen = w->ccap - w->zs.avail_out;
    }
#ifdef HAVE_SNAPPY
    else if (w->codec == SD_AVRO_SNAPPY) {
        size_t bound = snappy_max_compressed_length(len) + 4;
        if (grow_buf(&w->cbuf, &w->ccap, bound) < 0)
            return w->failed = sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
        size_t clen = w->ccap - 4;
        if (snappy_compress((const char *)data, len, (char *)w->cbuf, &clen) != SNAPPY_OK)
            return w->failed = sd__seterr(&w->h, SD_ERR_IO, "%s: snappy compression failed", w->path);
        /* Avro's snappy blocks end with the CRC32 of the uncompressed data. */
        sd__put_be32(w->cbuf + clen, (uint32_t)crc32(crc32(0, NULL, 0), data, (uInt)len));
        payload = w->cbuf;
        plen = clen + 4;
    }
#endif
    if (out_long(w, count) < 0 || out_long(w, (int64_t)plen) < 0 || out_put(w, payload, plen) < 0 ||
        out_put(w, w->sync, sizeof w->sync) < 0)
        return SD_ERR_IO;
    return 0;
}

static int flush_block(struct sd_avro_writer *w)
{
    if (w->bcount == 0)
        return 0;
    int rc = emit_block(w, w->blk, w->blen, w->bcount);
    w->blen = 0;
    w->bcount = 0;
    return rc;
}

/* After a record of rlen bytes was appended at blk[blen - rlen]: keep blocks
 * within block_size, as avro-c does, by writing the block before the record
 * when the record made it overflow. */
static int record_added(struct sd_avro_writer *w, size_t rlen)
{
    w->records++;
    if (w->blen <= w->block_size) {
        w->bcount++;
        if (w->blen == w->block_size)
            return flush_block(w);
        return 0;
    }
    if (w->bcount > 0) {
        int rc = emit_block(w, w->blk, w->blen - rlen, w->bcount);
        if (rc < 0)
            return rc;
        memmove(w->blk, w->blk + w->blen - rlen, rlen);
        w->blen = rlen;
    }
    w->bcount = 1;
    if (w->blen >= w->block_size)
        return flush_block(w); /* a record bigger than a block goes alone */
    return 0;
}

static void free_meta(struct meta_entry *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sd__free(m[i].key);
        sd__free(m[i].val);
    }
    sd__free(m);
}

static void writer_free(struct sd_avro_writer *w)
{
    sd__output_abort(&w->out);
    if (w->zinit)
        deflateEnd(&w->zs);
    if (w->vw != NULL)
        avro_writer_free(w->vw);
    if (w->schema != NULL)
        avro_schema_decref(w->schema);
    free_meta(w->meta, w->nmeta);
    w->h.magic = 0;
    sd__free(w->schema_json);
    sd__free(w->blk);
    sd__free(w->cbuf);
    sd__free(w->obuf);
    sd__free(w->path);
    sd__free(w);
}

int sd_avro_writer_open(sd_avro_writer **wp, const char *path, const char *schema_json,
                        const sd_avro_writer_opts *opts, char *errbuf)
{
    if (wp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_avro_writer_open: wp is NULL");
    *wp = NULL;
    if (path == NULL || path[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_avro_writer_open: empty path");
    if (schema_json == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: no schema", path);
    sd_avro_writer_opts def;
    sd_avro_writer_opts_init(&def);
    if (opts == NULL)
        opts = &def;
    if (opts->size < sizeof def)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: options not initialised with sd_avro_writer_opts_init()",
                          path);
    if (sd_avro_codec_name(opts->codec) == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: unknown codec %d", path, opts->codec);
    if (!sd_avro_codec_supported(opts->codec))
        return sd__errbuf(errbuf, SD_ERR_UNSUPPORTED, "%s: codec %s not built in (needs libsnappy)", path,
                          sd_avro_codec_name(opts->codec));
    if (opts->level != -1 && (opts->level < 1 || opts->level > 9))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: deflate level %d is not -1 or 1..9", path, opts->level);
    size_t bs = opts->block_size == 0 ? AV_DEFAULT_BLOCK : opts->block_size;
    if (bs < 64 || bs > AV_MAX_BLOCK / 2)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: block size %zu is not in 64..%u", path, bs,
                          AV_MAX_BLOCK / 2);

    int rc;
    struct sd_avro_writer *w = sd__calloc(1, sizeof *w);
    if (w == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    sd__handle_init(&w->h);
    w->out.fd = -1;
    w->codec = opts->codec;
    w->block_size = bs;
    w->done_file = opts->done_file != 0;
    w->path = sd__strdup(path);
    w->obuf = sd__malloc(AV_OBUF_SIZE);
    if (w->path == NULL || w->obuf == NULL || grow_buf(&w->blk, &w->bcap, bs + AV_FT_MAX_REC) < 0) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &w->schema) != 0) {
        w->schema = NULL;
        rc = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: bad schema: %s", path, avro_strerror());
        goto fail;
    }
    w->schema_id = classify(w->schema);
    w->schema_json = schema_to_json(w->schema, &w->schema_len);
    if (w->schema_json == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: cannot render the schema", path);
        goto fail;
    }
    if (w->codec == SD_AVRO_DEFLATE) {
        /* Raw deflate (no zlib header), as the Avro spec says. Level 1 by
         * default: on flowtuples it writes 1.7x faster than zlib's default
         * 6 for files about 5% larger (BENCHMARKS.md). */
        if (deflateInit2(&w->zs, opts->level == -1 ? 1 : opts->level, Z_DEFLATED, -15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: zlib initialisation failed", path);
            goto fail;
        }
        w->zinit = 1;
    }
    sd__random_bytes(w->sync, sizeof w->sync); /* only has to be unlikely in the data */
    rc = sd__output_open(&w->out, w->path, errbuf);
    if (rc < 0)
        goto fail;
    *wp = w;
    return 0;
fail:
    writer_free(w);
    return rc;
}

static int valid_decimal(const char *s, unsigned long min, unsigned long max)
{
    if (*s == '\0' || strlen(s) > 10)
        return 0;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v >= min && v <= max && !(s[0] == '0' && s[1] != '\0');
}

int sd_avro_writer_set_meta(sd_avro_writer *w, const char *key, const char *value)
{
    if (w == NULL || key == NULL || value == NULL)
        return SD_ERR_INVAL;
    if (w->header_done) /* written with the first record */
        return sd__seterr(&w->h, SD_ERR_STATE, "%s: metadata must be set before the first record", w->path);
    if (key[0] == '\0' || strncmp(key, "avro.", 5) == 0)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: metadata key '%s' is reserved or empty", w->path, key);
    if (strcmp(key, "stardust.ft4.dst_prefix_len") == 0 && !valid_decimal(value, 8, 32))
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: %s '%s' is not a prefix length from 8 to 32", w->path,
                          key, value);
    if (strcmp(key, "stardust.ft4.interval") == 0 && !valid_decimal(value, 1, 4000000000ul))
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: %s '%s' is not a number of seconds", w->path, key, value);
    size_t vlen = strlen(value);
    if (vlen > AV_MAX_META_VALUE || strlen(key) > 4096 || w->nmeta >= AV_MAX_META_ENTRIES)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: metadata too large", w->path);
    struct meta_entry *m = (struct meta_entry *)find_meta(w->meta, w->nmeta, key);
    char *v = sd__strdup(value);
    if (v == NULL)
        return sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
    if (m != NULL) {
        sd__free(m->val);
        m->val = v;
        m->vlen = vlen;
        return 0;
    }
    struct meta_entry *nm = sd__realloc(w->meta, (w->nmeta + 1) * sizeof *nm);
    char *k = sd__strdup(key);
    if (nm != NULL)
        w->meta = nm;
    if (nm == NULL || k == NULL) {
        sd__free(v);
        sd__free(k);
        return sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
    }
    w->meta[w->nmeta].key = k;
    w->meta[w->nmeta].val = v;
    w->meta[w->nmeta].vlen = vlen;
    w->nmeta++;
    return 0;
}

static int writer_check(struct sd_avro_writer *w, int id, const char *what)
{
    if (w->failed)
        return w->failed;
    if (w->schema_id != id)
        return sd__seterr(&w->h, SD_ERR_STATE, "%s: cannot write %s records to a file of schema %s", w->path,
                          what, sd_avro_schema_name(w->schema_id));
    if (!w->header_done) {
        /* Catch missing FT4 metadata at the first record, not at close. */
        int rc = write_header(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static inline int geo_ok(const char c[2]) { return c[0] != '\0' && c[1] != '\0'; }

static inline uint8_t *put_geo(uint8_t *p, const char c[2])
{
    p[0] = 4; /* zig-zag of length 2 */
    p[1] = (uint8_t)c[0];
    p[2] = (uint8_t)c[1];
    return p + 3;
}

int sd_avro_write_ft3(sd_avro_writer *w, const sd_ft3_record *recs, size_t n)
{
    if (w == NULL || (recs == NULL && n > 0) || n > INT_MAX)
        return SD_ERR_INVAL;
    int rc = writer_check(w, SD_AVRO_SCHEMA_FT3, "FT3");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!geo_ok(recs[i].maxmind_continent) || !geo_ok(recs[i].maxmind_country) ||
            !geo_ok(recs[i].netacq_continent) || !geo_ok(recs[i].netacq_country))
            return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record %zu of the batch has a geo code with a NUL byte",
                              w->path, i);
    for (size_t i = 0; i < n; i++) {
        const sd_ft3_record *r = &recs[i];
        uint8_t *p0 = w->blk + w->blen, *p = p0;
        p = put_long(p, r->time);
        p = put_long(p, r->src_ip);
        p = put_long(p, r->dst_ip);
        p = put_long(p, r->src_port);
        p = put_long(p, r->dst_port);
        p = put_long(p, r->protocol);
        p = put_long(p, r->ttl);
        p = put_long(p, r->tcp_flags);
        p = put_long(p, r->ip_len);
        p = put_long(p, r->tcp_synlen);
        p = put_long(p, r->tcp_synwinlen);
        p = put_long(p, (int64_t)r->packet_cnt);
        p = put_long(p, r->is_spoofed);
        p = put_long(p, r->is_masscan);
        p = put_geo(p, r->maxmind_continent);
        p = put_geo(p, r->maxmind_country);
        p = put_geo(p, r->netacq_continent);
        p = put_geo(p, r->netacq_country);
        p = put_long(p, r->prefix2asn);
        size_t len = (size_t)(p - p0);
        w->blen += len;
        if (record_added(w, len) < 0)
            return w->failed ? w->failed : SD_ERR_IO;
    }
    return (int)n;
}

/* An array<long> as one positive-count block (the old Python reader cannot
 * read negative counts), or the empty array. */
static inline uint8_t *put_list(uint8_t *p, const uint64_t *v, uint32_t n)
{
    if (n > 0) {
        p = put_long(p, n);
        for (uint32_t i = 0; i < n; i++)
            p = put_long(p, (int64_t)v[i]);
    }
    *p++ = 0;
    return p;
}

static inline uint8_t *put_common(uint8_t *p, const sd_ft4_common *c)
{
    p = put_list(p, c->value, c->n);
    return put_list(p, c->freq, c->n);
}

int sd_avro_write_ft4(sd_avro_writer *w, const sd_ft4_record *recs, size_t n)
{
    if (w == NULL || (recs == NULL && n > 0) || n > INT_MAX)
        return SD_ERR_INVAL;
    int rc = writer_check(w, SD_AVRO_SCHEMA_FT4, "FT4");
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const sd_ft4_record *r = &recs[i];
        if (!geo_ok(r->maxmind_continent) || !geo_ok(r->maxmind_country) || !geo_ok(r->netacq_continent) ||
            !geo_ok(r->netacq_country))
            return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record %zu of the batch has a geo code with a NUL byte",
                              w->path, i);
        if (r->common_pktsizes.n > SD_FT4_MAX_COMMON || r->common_ttls.n > SD_FT4_MAX_COMMON ||
            r->common_srcports.n > SD_FT4_MAX_COMMON || r->common_tcpflags.n > SD_FT4_MAX_COMMON)
            return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record %zu of the batch has more than %d common values",
                              w->path, i, SD_FT4_MAX_COMMON);
        if (r->dst_port > INT32_MAX || r->uniq_dst_ips > INT32_MAX || r->uniq_pkt_sizes > INT32_MAX ||
            r->uniq_ttls > INT32_MAX || r->uniq_src_ports > INT32_MAX || r->uniq_tcp_flags > INT32_MAX ||
            r->first_syn_length > INT32_MAX || r->first_tcp_rwin > INT32_MAX)
            return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record %zu of the batch has an int field beyond 2^31-1",
                              w->path, i);
    }
    for (size_t i = 0; i < n; i++) {
        const sd_ft4_record *r = &recs[i];
        uint8_t *p0 = w->blk + w->blen, *p = p0;
        p = put_long(p, r->time);
        p = put_long(p, r->src_ip);
        p = put_long(p, r->dst_net);
        p = put_long(p, r->dst_port);
        p = put_long(p, r->protocol);
        p = put_long(p, (int64_t)r->packet_cnt);
        p = put_long(p, r->uniq_dst_ips);
        p = put_long(p, r->uniq_pkt_sizes);
        p = put_long(p, r->uniq_ttls);
        p = put_long(p, r->uniq_src_ports);
        p = put_long(p, r->uniq_tcp_flags);
        p = put_long(p, r->first_syn_length);
        p = put_long(p, r->first_tcp_rwin);
        p = put_common(p, &r->common_pktsizes);
        p = put_common(p, &r->common_ttls);
        p = put_common(p, &r->common_srcports);
        p = put_common(p, &r->common_tcpflags);
        p = put_geo(p, r->maxmind_continent);
        p = put_geo(p, r->maxmind_country);
        p = put_geo(p, r->netacq_continent);
        p = put_geo(p, r->netacq_country);
        p = put_long(p, r->prefix2asn);
        p = put_long(p, (int64_t)r->spoofed_packet_cnt);
        p = put_long(p, (int64_t)r->masscan_packet_cnt);
        size_t len = (size_t)(p - p0);
        w->blen += len;
        if (record_added(w, len) < 0)
            return w->failed ? w->failed : SD_ERR_IO;
    }
    return (int)n;
}

int sd_avro_write_encoded(sd_avro_writer *w, const void *datum, size_t len)
{
    if (w == NULL || (datum == NULL && len > 0))
        return SD_ERR_INVAL;
    if (w->failed)
        return w->failed;
    if (len > AV_MAX_BLOCK / 2)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record of %zu bytes is too large", w->path, len);
    const uint8_t *p = datum, *end = p + len;
    const char *why = NULL;
    if (skip_datum(w->schema, &p, end, 0, &why) != 0 || p != end)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record does not match the schema: %s", w->path,
                          why != NULL ? why : "trailing bytes");
    if (!w->header_done) {
        int rc = write_header(w);
        if (rc < 0)
            return rc;
    }
    if (grow_buf(&w->blk, &w->bcap, w->blen + len) < 0)
        return sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
    if (len > 0)
        memcpy(w->blk + w->blen, datum, len);
    w->blen += len;
    return record_added(w, len) < 0 ? (w->failed ? w->failed : SD_ERR_IO) : 0;
}

int sd_avro_write_value(sd_avro_writer *w, struct avro_value *value)
{
    if (w == NULL || value == NULL)
        return SD_ERR_INVAL;
    if (w->failed)
        return w->failed;
    avro_schema_t vs = avro_value_get_schema(value);
    if (vs != w->schema && !avro_schema_equal(vs, w->schema))
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: value's schema is not the writer schema", w->path);
    size_t len = 0;
    if (avro_value_sizeof(value, &len) != 0)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: cannot size the value: %s", w->path, avro_strerror());
    if (len > AV_MAX_BLOCK / 2)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: record of %zu bytes is too large", w->path, len);
    if (!w->header_done) {
        int rc = write_header(w);
        if (rc < 0)
            return rc;
    }
    if (grow_buf(&w->blk, &w->bcap, w->blen + len + 1) < 0)
        return sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
    if (w->vw == NULL) {
        w->vw = avro_writer_memory((const char *)w->blk + w->blen, (int64_t)len);
        if (w->vw == NULL)
            return sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
    } else {
        avro_writer_memory_set_dest(w->vw, (const char *)w->blk + w->blen, (int64_t)len);
    }
    if (avro_value_write(w->vw, value) != 0 || avro_writer_tell(w->vw) != (int64_t)len)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: cannot encode the value: %s", w->path, avro_strerror());
    w->blen += len;
    return record_added(w, len) < 0 ? (w->failed ? w->failed : SD_ERR_IO) : 0;
}

uint64_t sd_avro_writer_records(const sd_avro_writer *w) { return w == NULL ? 0 : w->records; }

int sd_avro_writer_close(sd_avro_writer *w, char *errbuf)
{
    if (w == NULL)
        return 0;
    int rc = w->failed;
    if (rc == 0 && !w->header_done)
        rc = write_header(w);
    if (rc == 0)
        rc = flush_block(w);
    if (rc == 0)
        rc = out_flush(w);
    /* fsync before the rename, so a crash never leaves a name pointing at
     * data that is not on disk. Devices and pipes cannot be synced. */
    if (rc == 0 && !w->out.to_stdout && w->out.tmp != NULL && fsync(w->out.fd) != 0) {
        int e = errno;
        rc = sd__seterr(&w->h, SD_ERR_IO, "%s: fsync: %s", w->path, strerror(e));
    }
    if (rc == 0)
        rc = sd__output_commit(&w->out, w->h.errmsg, sizeof w->h.errmsg);
    if (rc == 0 && w->done_file && !w->out.to_stdout) {
        size_t plen = strlen(w->path);
        char *done = sd__malloc(plen + sizeof ".done");
        if (done == NULL) {
            rc = sd__seterr(&w->h, SD_ERR_NOMEM, "%s: out of memory", w->path);
        } else {
            memcpy(done, w->path, plen);
            memcpy(done + plen, ".done", sizeof ".done");
            int fd = open(done, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
            if (fd < 0 || close(fd) != 0) {
                int e = errno;
                rc = sd__seterr(&w->h, sd__errno_to_err(e) == SD_ERR_NOMEM ? SD_ERR_IO : sd__errno_to_err(e),
                                "%s: cannot create %s: %s", w->path, done, strerror(e));
            }
            sd__free(done);
        }
    }
    if (rc < 0)
        sd__errbuf(errbuf, rc, "%s", w->h.errmsg);
    writer_free(w);
    return rc;
}

void sd_avro_writer_discard(sd_avro_writer *w)
{
    if (w != NULL)
        writer_free(w);
}

/* ---------------------------------------------------------------- reader */

struct sd_avro_reader {
    struct sd__handle h; /* must be first: sd_errmsg() */
    char *path;
    int fd;
    int own_fd;
    uint8_t *ibuf;          /* file bytes read ahead */
    size_t icap, ipos, ilen;
    uint64_t ibase;         /* file offset of ibuf[0] */
    int eof;
    uint64_t file_size;     /* 0: unknown (a pipe) */
    char *schema_json;
    avro_schema_t schema;
    int schema_id;
    int codec;
    uint8_t sync[16];
    struct meta_entry *meta;
    size_t nmeta;
    uint8_t *dbuf;          /* decoded block */
    size_t dcap;
    const uint8_t *bstart, *bp, *bend; /* current block: records at bp */
    int64_t left;           /* records of the current block not yet read */
    uint64_t block_off;     /* file offset of the current block */
    uint64_t blocks, records;
    z_stream zs;
    int zinit;
    int pending;            /* error to return at the next read */
    int sticky;             /* SD_EOF or a block error: returned for ever */
    avro_value_iface_t *iface;
    avro_value_t value;
    int have_value, value_ok;
    avro_reader_t mem;
};

/* Make at least n bytes available at ibuf[ipos] unless the file ends first.
 * Moves the buffer: pointers into ibuf are invalid afterwards. */
static int fill(struct sd_avro_reader *r, size_t n)
{
    if (r->ilen - r->ipos >= n)
        return 0;
    if (r->ipos > 0) {
        memmove(r->ibuf, r->ibuf + r->ipos, r->ilen - r->ipos);
        r->ibase += r->ipos;
        r->ilen -= r->ipos;
        r->ipos = 0;
    }
    if (n > r->icap && grow_buf(&r->ibuf, &r->icap, n) < 0)
        return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: out of memory", r->path);
    while (r->ilen < n && !r->eof) {
        ssize_t k = read(r->fd, r->ibuf + r->ilen, r->icap - r->ilen);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return sd__seterr(&r->h, SD_ERR_IO, "%s: read: %s", r->path, strerror(e));
        }
        if (k == 0)
            r->eof = 1;
        r->ilen += (size_t)k;
    }
    return 0;
}

static uint64_t roff(const struct sd_avro_reader *r) { return r->ibase + r->ipos; }

/* A varint of the container structure (header or block prefix). */
static int rd_long(struct sd_avro_reader *r, int64_t *v, const char *what)
{
    uint64_t off = roff(r);
    int rc = fill(r, 10);
    if (rc < 0)
        return rc;
    const uint8_t *p = r->ibuf + r->ipos;
    if (get_long(&p, r->ibuf + r->ilen, v) != 0) {
        if (r->ilen - r->ipos >= 10)
            return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: offset %llu: %s is not a valid varint", r->path,
                              (unsigned long long)off, what);
        return sd__seterr(&r->h, SD_ERR_TRUNCATED, "%s: offset %llu: file ends inside the %s", r->path,
                          (unsigned long long)off, what);
    }
    r->ipos = (size_t)(p - r->ibuf);
    return 0;
}

/* Read an Avro string/bytes of the header into a new NUL-terminated buffer. */
static int rd_bytes(struct sd_avro_reader *r, char **out, size_t *lenp, size_t max, const char *what)
{
    int64_t len;
    int rc = rd_long(r, &len, what);
    if (rc < 0)
        return rc;
    uint64_t off = roff(r);
    if (len < 0 || (uint64_t)len > max)
        return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: offset %llu: %s length %lld is out of range", r->path,
                          (unsigned long long)off, what, (long long)len);
    if (r->file_size != 0 && off + (uint64_t)len > r->file_size)
        return sd__seterr(&r->h, SD_ERR_TRUNCATED, "%s: offset %llu: %s of %lld bytes goes past the end of the file",
                          r->path, (unsigned long long)off, what, (long long)len);
    if ((rc = fill(r, (size_t)len)) < 0)
        return rc;
    if (r->ilen - r->ipos < (size_t)len)
        return sd__seterr(&r->h, SD_ERR_TRUNCATED, "%s: offset %llu: file ends inside the %s", r->path,
                          (unsigned long long)off, what);
    char *s = sd__malloc((size_t)len + 1);
    if (s == NULL)
        return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: out of memory", r->path);
    memcpy(s, r->ibuf + r->ipos, (size_t)len);
    s[len] = '\0';
    r->ipos += (size_t)len;
    *out = s;
    *lenp = (size_t)len;
    return 0;
}

static int read_header(struct sd_avro_reader *r)
{
    int rc = fill(r, 4);
    if (rc < 0)
        return rc;
    if (r->ilen < 4 || memcmp(r->ibuf, "Obj\x01", 4) != 0)
        return sd__seterr(&r->h, r->ilen < 4 && r->ilen > 0 && memcmp(r->ibuf, "Obj\x01", r->ilen) == 0
                                     ? SD_ERR_TRUNCATED : SD_ERR_FORMAT,
                          "%s: offset 0: not an Avro container file (magic is not \"Obj\\x01\")", r->path);
    r->ipos = 4;
    for (;;) {
        int64_t count;
        if ((rc = rd_long(r, &count, "metadata count")) < 0)
            return rc;
        if (count == 0)
            break;
        if (count < 0) {
            int64_t size;
            if (count == INT64_MIN || (rc = rd_long(r, &size, "metadata block size")) < 0)
                return rc < 0 ? rc : sd__seterr(&r->h, SD_ERR_FORMAT, "%s: bad metadata count", r->path);
            count = -count;
        }
        if (count > AV_MAX_META_ENTRIES || r->nmeta + (size_t)count > AV_MAX_META_ENTRIES)
            return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: offset %llu: %lld metadata entries exceed the limit of %d",
                              r->path, (unsigned long long)roff(r), (long long)count, AV_MAX_META_ENTRIES);
        struct meta_entry *nm = sd__realloc(r->meta, (r->nmeta + (size_t)count) * sizeof *nm);
        if (nm == NULL)
            return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: out of memory", r->path);
        r->meta = nm;
        for (int64_t i = 0; i < count; i++) {
            struct meta_entry *m = &r->meta[r->nmeta];
            size_t klen;
            m->key = m->val = NULL;
            if ((rc = rd_bytes(r, &m->key, &klen, 4096, "metadata key")) < 0)
                return rc;
            if ((rc = rd_bytes(r, &m->val, &m->vlen, AV_MAX_META_VALUE, "metadata value")) < 0) {
                sd__free(m->key);
                return rc;
            }
            r->nmeta++;
        }
    }
    if ((rc = fill(r, 16)) < 0)
        return rc;
    if (r->ilen - r->ipos < 16)
        return sd__seterr(&r->h, SD_ERR_TRUNCATED, "%s: offset %llu: file ends inside the header's sync marker",
                          r->path, (unsigned long long)roff(r));
    memcpy(r->sync, r->ibuf + r->ipos, 16);
    r->ipos += 16;

    const struct meta_entry *codec = find_meta(r->meta, r->nmeta, "avro.codec");
    r->codec = SD_AVRO_NULL;
    if (codec != NULL) {
        int c;
        for (c = SD_AVRO_NULL; c <= SD_AVRO_SNAPPY; c++)
            if (strlen(sd_avro_codec_name(c)) == codec->vlen && memcmp(codec->val, sd_avro_codec_name(c), codec->vlen) == 0)
                break;
        if (c > SD_AVRO_SNAPPY || !sd_avro_codec_supported(c))
            return sd__seterr(&r->h, SD_ERR_UNSUPPORTED, "%s: codec '%.32s' is not supported", r->path, codec->val);
        r->codec = c;
    }
    const struct meta_entry *schema = find_meta(r->meta, r->nmeta, "avro.schema");
    if (schema == NULL)
        return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: header has no avro.schema", r->path);
    r->schema_json = schema->val;
    if (avro_schema_from_json_length(schema->val, schema->vlen, &r->schema) != 0) {
        r->schema = NULL;
        return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: header schema does not parse: %s", r->path, avro_strerror());
    }
    r->schema_id = classify(r->schema);
    return 0;
}

void sd_avro_reader_close(sd_avro_reader *r)
{
    if (r == NULL)
        return;
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    if (r->zinit)
        inflateEnd(&r->zs);
    if (r->have_value)
        avro_value_decref(&r->value);
    if (r->iface != NULL)
        avro_value_iface_decref(r->iface);
    if (r->mem != NULL)
        avro_reader_free(r->mem);
    if (r->schema != NULL)
        avro_schema_decref(r->schema);
    free_meta(r->meta, r->nmeta);
    r->h.magic = 0;
    sd__free(r->ibuf);
    sd__free(r->dbuf);
    sd__free(r->path);
    sd__free(r);
}

int sd_avro_reader_open(sd_avro_reader **rp, const char *path, char *errbuf)
{
    if (rp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_avro_reader_open: rp is NULL");
    *rp = NULL;
    if (path == NULL || path[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_avro_reader_open: empty path");
    struct sd_avro_reader *r = sd__calloc(1, sizeof *r);
    if (r == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    sd__handle_init(&r->h);
    r->fd = -1;
    int rc;
    r->path = sd__strdup(path);
    if (r->path == NULL || grow_buf(&r->ibuf, &r->icap, AV_READ_CHUNK) < 0) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int e = errno;
            rc = sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
            goto fail;
        }
        r->own_fd = 1;
    }
    struct stat sb;
    if (fstat(r->fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            rc = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: is a directory", path);
            goto fail;
        }
        if (S_ISREG(sb.st_mode))
            r->file_size = (uint64_t)sb.st_size;
    }
    rc = read_header(r);
    if (rc < 0) {
        sd__errbuf(errbuf, rc, "%s", r->h.errmsg);
        goto fail;
    }
    if (r->codec == SD_AVRO_DEFLATE) {
        if (inflateInit2(&r->zs, -15) != Z_OK) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: zlib initialisation failed", path);
            goto fail;
        }
        r->zinit = 1;
    }
    *rp = r;
    return 0;
fail:
    sd_avro_reader_close(r);
    return rc;
}

/* Block error: "FILE: block N at offset O: reason". */
#define BLOCK_ERR(r, code, fmt, ...)                                                                      \
    sd__seterr(&(r)->h, (code), "%s: block %llu at offset %llu: " fmt, (r)->path,                         \
               (unsigned long long)(r)->blocks + 1, (unsigned long long)(r)->block_off, __VA_ARGS__)

static int inflate_block(struct sd_avro_reader *r, const uint8_t *data, size_t len, size_t *outlen)
{
    if (inflateReset(&r->zs) != Z_OK)
        return BLOCK_ERR(r, SD_ERR_FORMAT, "%s", "zlib reset failed");
    size_t want = len * 4 < 65536 ? 65536 : len * 4;
    if (want > AV_MAX_BLOCK)
        want = AV_MAX_BLOCK;
    if (r->dcap < want && grow_buf(&r->dbuf, &r->dcap, want) < 0)
        return BLOCK_ERR(r, SD_ERR_NOMEM, "%s", "out of memory");
    r->zs.next_in = (Bytef *)(uintptr_t)data;
    r->zs.avail_in = (uInt)len;
    size_t used = 0;
    for (;;) {
        r->zs.next_out = r->dbuf + used;
        r->zs.avail_out = (uInt)(r->dcap - used);
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        used = r->dcap - r->zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_BUF_ERROR && r->zs.avail_in == 0)
            return BLOCK_ERR(r, SD_ERR_FORMAT, "%s", "deflate data ends early");
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return BLOCK_ERR(r, SD_ERR_FORMAT, "deflate data is corrupt (%s)",
                             r->zs.msg != NULL ? r->zs.msg : "zlib error");
        if (r->zs.avail_out == 0) {
            if (r->dcap >= AV_MAX_BLOCK)
                return BLOCK_ERR(r, SD_ERR_FORMAT, "decoded block exceeds the limit of %u bytes", AV_MAX_BLOCK);
            if (grow_buf(&r->dbuf, &r->dcap, r->dcap * 2) < 0)
                return BLOCK_ERR(r, SD_ERR_NOMEM, "%s", "out of memory");
        }
    }
    /* Bytes after the end of the deflate stream are ignored, as Java and
     * Python readers do: python3-avro's writer leaves 3 bytes of the zlib
     * checksum there. */
    *outlen = used;
    return 0;
}

/* Read, check and decode the next block. 0, SD_EOF or an error. */
static int next_block(struct sd_avro_reader *r)
{
    int rc = fill(r, 1);
    if (rc < 0)
        return rc;
    if (r->ilen == r->ipos)
        return SD_EOF;
    r->block_off = roff(r);
    int64_t count, size;
    if ((rc = rd_long(r, &count, "block count")) < 0)
        goto bad_header;
    /* Checked before the size is read: a file that ends right after an
     * absurd count is reported for the count. */
    if (count <= 0 || count > AV_MAX_COUNT)
        return BLOCK_ERR(r, SD_ERR_FORMAT, "record count %lld is %s", (long long)count,
                         count <= 0 ? "not positive" : "beyond the limit of 2147483647");
    if ((rc = rd_long(r, &size, "block size")) < 0)
        goto bad_header;
    if (size < 0 || size > AV_MAX_BLOCK)
        return BLOCK_ERR(r, SD_ERR_FORMAT, "block size %lld is out of range (limit %u)", (long long)size,
                         AV_MAX_BLOCK);
    uint64_t need = (uint64_t)size + 16;
    if (r->file_size != 0 && roff(r) + need > r->file_size)
        return BLOCK_ERR(r, SD_ERR_TRUNCATED, "block of %lld bytes and its sync marker go past the end of the file "
                         "(%llu bytes)", (long long)size, (unsigned long long)r->file_size);
    if ((rc = fill(r, (size_t)need)) < 0)
        return rc;
    if (r->ilen - r->ipos < need)
        return BLOCK_ERR(r, SD_ERR_TRUNCATED, "file ends inside the block of %lld bytes", (long long)size);
    const uint8_t *data = r->ibuf + r->ipos;
    if (memcmp(data + size, r->sync, 16) != 0)
        return BLOCK_ERR(r, SD_ERR_FORMAT, "sync marker at offset %llu does not match the header's",
                         (unsigned long long)(roff(r) + (uint64_t)size));
    size_t dlen = (size_t)size;
    if (r->codec == SD_AVRO_NULL) {
        r->bstart = data;
    } else if (r->codec == SD_AVRO_DEFLATE) {
        if ((rc = inflate_block(r, data, (size_t)size, &dlen)) < 0)
            return rc;
        r->bstart = r->dbuf;
    }
#ifdef HAVE_SNAPPY
    else {
        size_t ulen;
        if (size < 4 || snappy_uncompressed_length((const char *)data, (size_t)size - 4, &ulen) != SNAPPY_OK)
            return BLOCK_ERR(r, SD_ERR_FORMAT, "%s", "not a snappy block");
        if (ulen > AV_MAX_BLOCK)
            return BLOCK_ERR(r, SD_ERR_FORMAT, "decoded block of %zu bytes exceeds the limit of %u", ulen,
                             AV_MAX_BLOCK);
        if (grow_buf(&r->dbuf, &r->dcap, ulen + 1) < 0)
            return BLOCK_ERR(r, SD_ERR_NOMEM, "%s", "out of memory");
        dlen = r->dcap;
        if (snappy_uncompress((const char *)data, (size_t)size - 4, (char *)r->dbuf, &dlen) != SNAPPY_OK)
            return BLOCK_ERR(r, SD_ERR_FORMAT, "%s", "snappy data is corrupt");
        uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), r->dbuf, (uInt)dlen);
        if (crc != sd__be32(data + size - 4))
            return BLOCK_ERR(r, SD_ERR_FORMAT, "snappy CRC32 %08x does not match the data's %08x",
                             sd__be32(data + size - 4), crc);
        r->bstart = r->dbuf;
    }
#endif
    r->ipos += (size_t)need;
    r->bp = r->bstart;
    r->bend = r->bstart + dlen;
    r->left = count;
    r->blocks++;
    return 0;
bad_header:
    if (rc == SD_ERR_IO || rc == SD_ERR_NOMEM)
        return rc;
    return BLOCK_ERR(r, rc, "%s", rc == SD_ERR_TRUNCATED ? "file ends inside the block header" : "bad block header");
}

/* Make a record available: 0 (r->left > 0), SD_EOF, or an error. Also
 * checks that the records of a finished block used exactly its bytes. */
static int need_record(struct sd_avro_reader *r)
{
    if (r->pending) {
        int rc = r->pending;
        r->pending = r->sticky;
        return rc;
    }
    if (r->left > 0)
        return 0;
    if (r->blocks > 0 && r->bp != r->bend) {
        r->blocks--; /* name the block the bytes belong to */
        int rc = BLOCK_ERR(r, SD_ERR_FORMAT, "records end at byte %zu of %zu", (size_t)(r->bp - r->bstart),
                           (size_t)(r->bend - r->bstart));
        r->blocks++;
        r->bp = r->bend;
        return rc;
    }
    int rc = next_block(r);
    /* The end, and a damaged block (after which no record can be found),
     * stay: every later read returns them again. */
    if (rc < 0)
        r->pending = r->sticky = rc;
    return rc;
}

static int record_err(struct sd_avro_reader *r, int code, const char *what)
{
    r->blocks--;
    int rc = BLOCK_ERR(r, code, "record %llu (byte %zu of the block): %s", (unsigned long long)r->records + 1,
                       (size_t)(r->bp - r->bstart), what);
    r->blocks++;
    /* Skip the rest of the block: its records cannot be found any more. */
    r->left = 0;
    r->bp = r->bend;
    return rc;
}

int sd_avro_read_raw(sd_avro_reader *r, const void **datum, size_t *len)
{
    if (r == NULL || datum == NULL || len == NULL)
        return SD_ERR_INVAL;
    int rc = need_record(r);
    if (rc < 0)
        return rc;
    const uint8_t *p = r->bp;
    const char *why = NULL;
    if (skip_datum(r->schema, &p, r->bend, 0, &why) != 0)
        return record_err(r, SD_ERR_FORMAT, why);
    *datum = r->bp;
    *len = (size_t)(p - r->bp);
    r->bp = p;
    r->left--;
    r->records++;
    return 1;
}

/* ---- typed decoding ---- */

struct dec {
    const uint8_t *p, *end;
    const char *field; /* the field that failed */
    int code;
};

#define DLONG(d, name, var, lo, hi)                                                                       \
    do {                                                                                                  \
        int64_t v_;                                                                                       \
        if (SD__UNLIKELY(get_long(&(d)->p, (d)->end, &v_) != 0)) {                                       \
            (d)->field = name;                                                                            \
            (d)->code = SD_ERR_TRUNCATED;                                                                 \
            return -1;                                                                                    \
        }                                                                                                 \
        if (SD__UNLIKELY(v_ < (int64_t)(lo) || v_ > (int64_t)(hi))) {                                     \
            (d)->field = name;                                                                            \
            (d)->code = SD_ERR_FORMAT;                                                                    \
            return -1;                                                                                    \
        }                                                                                                 \
        (var) = (__typeof__(var))v_;                                                                      \
    } while (0)

static inline int dgeo(struct dec *d, const char *name, char out[2])
{
    if (SD__UNLIKELY(d->end - d->p < 3 || d->p[0] != 4)) {
        d->field = name;
        d->code = d->end - d->p < 3 ? SD_ERR_TRUNCATED : SD_ERR_FORMAT;
        return -1;
    }
    out[0] = (char)d->p[1];
    out[1] = (char)d->p[2];
    d->p += 3;
    return 0;
}

static int dlist(struct dec *d, const char *name, uint64_t *vals, uint32_t *n)
{
    uint32_t k = 0;
    for (;;) {
        int64_t c;
        DLONG(d, name, c, -(SD_FT4_MAX_COMMON + 1), SD_FT4_MAX_COMMON + 1);
        if (c == 0)
            break;
        if (c < 0) {
            int64_t size;
            DLONG(d, name, size, 0, INT64_MAX);
            (void)size;
            c = -c;
        }
        if (k + c > SD_FT4_MAX_COMMON) {
            d->field = name;
            d->code = SD_ERR_FORMAT;
            return -1;
        }
        for (int64_t i = 0; i < c; i++)
            DLONG(d, name, vals[k++], 0, INT64_MAX);
    }
    *n = k;
    return 0;
}

/* c is zeroed by dec_ft4(), the only caller. */
static int dcommon(struct dec *d, const char *vname, const char *fname, sd_ft4_common *c)
{
    uint32_t nf;
    if (dlist(d, vname, c->value, &c->n) < 0 || dlist(d, fname, c->freq, &nf) < 0)
        return -1;
    if (nf != c->n) {
        d->field = fname;
        d->code = SD_ERR_FORMAT;
        return -1;
    }
    return 0;
}

static int dec_ft3(struct dec *d, sd_ft3_record *o)
{
    memset(o, 0, sizeof *o);
    DLONG(d, "time", o->time, 0, UINT32_MAX);
    DLONG(d, "src_ip", o->src_ip, 0, UINT32_MAX);
    DLONG(d, "dst_ip", o->dst_ip, 0, UINT32_MAX);
    DLONG(d, "src_port", o->src_port, 0, UINT16_MAX);
    DLONG(d, "dst_port", o->dst_port, 0, UINT16_MAX);
    DLONG(d, "protocol", o->protocol, 0, UINT8_MAX);
    DLONG(d, "ttl", o->ttl, 0, UINT8_MAX);
    DLONG(d, "tcp_flags", o->tcp_flags, 0, UINT8_MAX);
    DLONG(d, "ip_len", o->ip_len, 0, UINT16_MAX);
    DLONG(d, "tcp_synlen", o->tcp_synlen, 0, UINT16_MAX);
    DLONG(d, "tcp_synwinlen", o->tcp_synwinlen, 0, UINT16_MAX);
    DLONG(d, "packet_cnt", o->packet_cnt, 0, INT64_MAX);
    DLONG(d, "is_spoofed", o->is_spoofed, 0, UINT8_MAX);
    DLONG(d, "is_masscan", o->is_masscan, 0, UINT8_MAX);
    if (dgeo(d, "maxmind_continent", o->maxmind_continent) < 0 ||
        dgeo(d, "maxmind_country", o->maxmind_country) < 0 ||
        dgeo(d, "netacq_continent", o->netacq_continent) < 0 || dgeo(d, "netacq_country", o->netacq_country) < 0)
        return -1;
    DLONG(d, "prefix2asn", o->prefix2asn, 0, UINT32_MAX);
    return 0;
}

static int dec_ft4(struct dec *d, sd_ft4_record *o, int version)
{
    memset(o, 0, sizeof *o);
    DLONG(d, "time", o->time, 0, UINT32_MAX);
    DLONG(d, "src_ip", o->src_ip, 0, UINT32_MAX);
    DLONG(d, "dst_net", o->dst_net, 0, UINT32_MAX);
    DLONG(d, "dst_port", o->dst_port, 0, INT32_MAX);
    DLONG(d, "protocol", o->protocol, 0, UINT8_MAX);
    DLONG(d, "packet_cnt", o->packet_cnt, 0, INT64_MAX);
    DLONG(d, "uniq_dst_ips", o->uniq_dst_ips, 0, INT32_MAX);
    DLONG(d, "uniq_pkt_sizes", o->uniq_pkt_sizes, 0, INT32_MAX);
    DLONG(d, "uniq_ttls", o->uniq_ttls, 0, INT32_MAX);
    DLONG(d, "uniq_src_ports", o->uniq_src_ports, 0, INT32_MAX);
    DLONG(d, "uniq_tcp_flags", o->uniq_tcp_flags, 0, INT32_MAX);
    DLONG(d, "first_syn_length", o->first_syn_length, 0, INT32_MAX);
    DLONG(d, "first_tcp_rwin", o->first_tcp_rwin, 0, INT32_MAX);
    if (dcommon(d, "common_pktsizes", "common_pktsize_freqs", &o->common_pktsizes) < 0 ||
        dcommon(d, "common_ttls", "common_ttl_freqs", &o->common_ttls) < 0 ||
        dcommon(d, "common_srcports", "common_srcport_freqs", &o->common_srcports) < 0 ||
        dcommon(d, "common_tcpflags", "common_tcpflag_freqs", &o->common_tcpflags) < 0)
        return -1;
    if (version >= SD_FT4_V1) {
        if (dgeo(d, "maxmind_continent", o->maxmind_continent) < 0 ||
            dgeo(d, "maxmind_country", o->maxmind_country) < 0)
            return -1;
    } else {
        memcpy(o->maxmind_continent, "??", 2);
        memcpy(o->maxmind_country, "??", 2);
    }
    if (dgeo(d, "netacq_continent", o->netacq_continent) < 0 || dgeo(d, "netacq_country", o->netacq_country) < 0)
        return -1;
    DLONG(d, "prefix2asn", o->prefix2asn, 0, UINT32_MAX);
    if (version >= SD_FT4_V2) {
        DLONG(d, "spoofed_packet_cnt", o->spoofed_packet_cnt, 0, INT64_MAX);
        DLONG(d, "masscan_packet_cnt", o->masscan_packet_cnt, 0, INT64_MAX);
    }
    return 0;
}

static int typed_err(struct sd_avro_reader *r, const struct dec *d)
{
    char what[160];
    snprintf(what, sizeof what, "field %s: %s", d->field,
             d->code == SD_ERR_TRUNCATED ? "record ends early or bad varint"
                                         : "value out of range or malformed (strings must be 2 bytes, "
                                           "at most 5 common values)");
    return record_err(r, d->code == SD_ERR_TRUNCATED ? SD_ERR_FORMAT : d->code, what);
}

/* Shared loop of the typed readers. An error after some records returns
 * those first and the error at the next call. */
#define TYPED_READ(r, recs, n, DECODE)                                                                    \
    size_t got = 0;                                                                                       \
    while (got < (n)) {                                                                                   \
        int rc_ = need_record(r);                                                                         \
        if (rc_ < 0) {                                                                                    \
            if (got > 0) {                                                                                \
                if (rc_ != SD_EOF)                                                                        \
                    (r)->pending = rc_;                                                                   \
                break;                                                                                    \
            }                                                                                             \
            return rc_;                                                                                   \
        }                                                                                                 \
        struct dec d_ = {(r)->bp, (r)->bend, NULL, 0};                                                    \
        int64_t take_ = (r)->left;                                                                        \
        if ((uint64_t)take_ > (n)-got)                                                                    \
            take_ = (int64_t)((n)-got);                                                                   \
        for (int64_t i_ = 0; i_ < take_; i_++) {                                                          \
            if (SD__UNLIKELY(DECODE(&d_, &(recs)[got]) != 0)) {                                           \
                int e_ = typed_err(r, &d_);                                                               \
                if (got > 0) {                                                                            \
                    (r)->pending = e_;                                                                    \
                    return (int)got;                                                                      \
                }                                                                                         \
                return e_;                                                                                \
            }                                                                                             \
            (r)->bp = d_.p;                                                                               \
            (r)->left--;                                                                                  \
            (r)->records++;                                                                               \
            got++;                                                                                        \
        }                                                                                                 \
    }                                                                                                     \
    return (int)got;

int sd_avro_read_ft3(sd_avro_reader *r, sd_ft3_record *recs, size_t n)
{
    if (r == NULL || recs == NULL || n == 0 || n > INT_MAX)
        return SD_ERR_INVAL;
    if (r->schema_id != SD_AVRO_SCHEMA_FT3)
        return sd__seterr(&r->h, SD_ERR_STATE, "%s: the writer schema is %s (%s), not FT3", r->path,
                          sd_avro_schema_name(r->schema_id), avro_schema_name(r->schema) ? avro_schema_name(r->schema) : "?");
#define DEC3(d, o) dec_ft3((d), (o))
    TYPED_READ(r, recs, n, DEC3)
#undef DEC3
}

int sd_avro_read_ft4(sd_avro_reader *r, sd_ft4_record *recs, size_t n)
{
    if (r == NULL || recs == NULL || n == 0 || n > INT_MAX)
        return SD_ERR_INVAL;
    int version;
    switch (r->schema_id) {
    case SD_AVRO_SCHEMA_FT4_V0: version = SD_FT4_V0; break;
    case SD_AVRO_SCHEMA_FT4_V1: version = SD_FT4_V1; break;
    case SD_AVRO_SCHEMA_FT4: version = SD_FT4_V2; break;
    default:
        return sd__seterr(&r->h, SD_ERR_STATE, "%s: the writer schema is %s (%s), not FT4", r->path,
                          sd_avro_schema_name(r->schema_id), avro_schema_name(r->schema) ? avro_schema_name(r->schema) : "?");
    }
#define DEC4(d, o) dec_ft4((d), (o), version)
    TYPED_READ(r, recs, n, DEC4)
#undef DEC4
}

/* ---- generic values ---- */

int sd_avro_reader_next(sd_avro_reader *r)
{
    if (r == NULL)
        return SD_ERR_INVAL;
    r->value_ok = 0;
    /* Set up on first use, each step on its own state, so that a call
     * after a failed one (out of memory) resumes where it stopped. */
    if (r->iface == NULL && (r->iface = avro_generic_class_from_schema(r->schema)) == NULL)
        return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: avro-c: %s", r->path, avro_strerror());
    if (!r->have_value) {
        if (avro_generic_value_new(r->iface, &r->value) != 0)
            return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: avro-c: %s", r->path, avro_strerror());
        r->have_value = 1;
    }
    if (r->mem == NULL && (r->mem = avro_reader_memory(NULL, 0)) == NULL)
        return sd__seterr(&r->h, SD_ERR_NOMEM, "%s: out of memory", r->path);
    const void *datum;
    size_t len;
    int rc = sd_avro_read_raw(r, &datum, &len);
    if (rc < 0)
        return rc;
    /* The bytes were checked by skip_datum(): avro-c never sees a length
     * beyond them. */
    avro_reader_memory_set_source(r->mem, datum, (int64_t)len);
    avro_value_reset(&r->value);
    if (avro_value_read(r->mem, &r->value) != 0)
        return sd__seterr(&r->h, SD_ERR_FORMAT, "%s: record %llu: avro-c: %s", r->path,
                          (unsigned long long)r->records, avro_strerror());
    r->value_ok = 1;
    return 1;
}

struct avro_value *sd_avro_reader_value(sd_avro_reader *r)
{
    return r != NULL && r->value_ok ? &r->value : NULL;
}

int sd_avro_field_count(const sd_avro_reader *r)
{
    if (r == NULL || !is_avro_record(r->schema))
        return 0;
    return (int)avro_schema_record_size(r->schema);
}

const char *sd_avro_field_name(const sd_avro_reader *r, int i)
{
    if (i < 0 || i >= sd_avro_field_count(r))
        return NULL;
    return avro_schema_record_field_name(r->schema, i);
}

int sd_avro_field_index(const sd_avro_reader *r, const char *name)
{
    if (r == NULL || name == NULL || !is_avro_record(r->schema))
        return SD_ERR_NOTFOUND;
    int i = avro_schema_record_field_get_index(r->schema, name);
    return i < 0 ? SD_ERR_NOTFOUND : i;
}

/* The current record's field i, through a union's current branch. */
static int get_field(sd_avro_reader *r, int i, avro_value_t *f)
{
    if (r == NULL)
        return SD_ERR_INVAL;
    if (!r->value_ok)
        return SD_ERR_STATE;
    if (i < 0 || i >= sd_avro_field_count(r))
        return SD_ERR_NOTFOUND;
    if (avro_value_get_by_index(&r->value, (size_t)i, f, NULL) != 0)
        return SD_ERR_NOTFOUND;
    if (avro_value_get_type(f) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(f, &b) != 0)
            return SD_ERR_INVAL;
        *f = b;
    }
    return 0;
}

int sd_avro_get_long(sd_avro_reader *r, int i, int64_t *out)
{
    avro_value_t f;
    int rc = get_field(r, i, &f);
    if (rc < 0 || out == NULL)
        return rc < 0 ? rc : SD_ERR_INVAL;
    switch (avro_value_get_type(&f)) {
    case AVRO_INT32: {
        int32_t v = 0;
        if (avro_value_get_int(&f, &v) != 0)
            return SD_ERR_INVAL;
        *out = v;
        return 0;
    }
    case AVRO_INT64:
        return avro_value_get_long(&f, out) == 0 ? 0 : SD_ERR_INVAL;
    case AVRO_BOOLEAN: {
        int v = 0;
        if (avro_value_get_boolean(&f, &v) != 0)
            return SD_ERR_INVAL;
        *out = v;
        return 0;
    }
    case AVRO_ENUM: {
        int v = 0;
        if (avro_value_get_enum(&f, &v) != 0)
            return SD_ERR_INVAL;
        *out = v;
        return 0;
    }
    default:
        return SD_ERR_INVAL;
    }
}

int sd_avro_get_double(sd_avro_reader *r, int i, double *out)
{
    avro_value_t f;
    int rc = get_field(r, i, &f);
    if (rc < 0 || out == NULL)
        return rc < 0 ? rc : SD_ERR_INVAL;
    switch (avro_value_get_type(&f)) {
    case AVRO_FLOAT: {
        float v = 0;
        if (avro_value_get_float(&f, &v) != 0)
            return SD_ERR_INVAL;
        *out = v;
        return 0;
    }
    case AVRO_DOUBLE:
        return avro_value_get_double(&f, out) == 0 ? 0 : SD_ERR_INVAL;
    default: {
        int64_t v;
        rc = sd_avro_get_long(r, i, &v);
        if (rc == 0)
            *out = (double)v;
        return rc;
    }
    }
}

int sd_avro_get_string(sd_avro_reader *r, int i, const char **s, size_t *len)
{
    avro_value_t f;
    int rc = get_field(r, i, &f);
    if (rc < 0 || s == NULL || len == NULL)
        return rc < 0 ? rc : SD_ERR_INVAL;
    const void *p = NULL;
    size_t n = 0;
    switch (avro_value_get_type(&f)) {
    case AVRO_STRING:
        if (avro_value_get_string(&f, (const char **)&p, &n) != 0)
            return SD_ERR_INVAL;
        if (n > 0)
            n--; /* avro-c counts the NUL */
        break;
    case AVRO_BYTES:
        if (avro_value_get_bytes(&f, &p, &n) != 0)
            return SD_ERR_INVAL;
        break;
    case AVRO_FIXED:
        if (avro_value_get_fixed(&f, &p, &n) != 0)
            return SD_ERR_INVAL;
        break;
    default:
        return SD_ERR_INVAL;
    }
    *s = p != NULL ? p : "";
    *len = n;
    return 0;
}

/* ---- accessors ---- */

int sd_avro_reader_schema_id(const sd_avro_reader *r) { return r == NULL ? SD_AVRO_SCHEMA_OTHER : r->schema_id; }
const char *sd_avro_reader_schema_json(const sd_avro_reader *r) { return r == NULL ? NULL : r->schema_json; }
struct avro_obj_t *sd_avro_reader_schema(const sd_avro_reader *r) { return r == NULL ? NULL : r->schema; }
int sd_avro_reader_codec(const sd_avro_reader *r) { return r == NULL ? SD_ERR_INVAL : r->codec; }
uint64_t sd_avro_reader_blocks(const sd_avro_reader *r) { return r == NULL ? 0 : r->blocks; }
uint64_t sd_avro_reader_records(const sd_avro_reader *r) { return r == NULL ? 0 : r->records; }
uint64_t sd_avro_reader_offset(const sd_avro_reader *r) { return r == NULL ? 0 : roff(r); }

const char *sd_avro_reader_meta(const sd_avro_reader *r, const char *key, size_t *len)
{
    if (r == NULL || key == NULL)
        return NULL;
    const struct meta_entry *m = find_meta(r->meta, r->nmeta, key);
    if (m == NULL)
        return NULL;
    if (len != NULL)
        *len = m->vlen;
    return m->val;
}
