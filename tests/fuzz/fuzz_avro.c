/* libFuzzer harness for the Avro container reader (lib/avro.c): the input
 * is a file, held in a memfd and opened by /proc/self/fd path, read to its
 * end through the typed reader its schema allows (FT3/FT4) and through the
 * generic value API and field accessor. Every failure must explain itself,
 * and a reader must never return more records than it counts. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stardust/avro.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sd_ft3_record ft3[64];
static size_t g_size;
static sd_ft4_record ft4[64];

static void read_all(const char *path, int generic)
{
    sd_avro_reader *r = NULL;
    char errbuf[SD_ERRBUF_SIZE];
    errbuf[0] = '\0';
    if (sd_avro_reader_open(&r, path, errbuf) != 0) {
        if (errbuf[0] == '\0' || r != NULL)
            __builtin_trap();
        return;
    }
    int id = sd_avro_reader_schema_id(r), rc;
    uint64_t n = 0;
    if (!generic && id == SD_AVRO_SCHEMA_FT3) {
        while ((rc = sd_avro_read_ft3(r, ft3, 64)) > 0)
            n += (uint64_t)rc;
    } else if (!generic && (id == SD_AVRO_SCHEMA_FT4 || id == SD_AVRO_SCHEMA_FT4_V1 || id == SD_AVRO_SCHEMA_FT4_V0)) {
        while ((rc = sd_avro_read_ft4(r, ft4, 64)) > 0) {
            for (int i = 0; i < rc; i++)
                if (ft4[i].common_ttls.n > SD_FT4_MAX_COMMON)
                    __builtin_trap();
            n += (uint64_t)rc;
        }
    } else {
        int nf = sd_avro_field_count(r);
        while ((rc = sd_avro_reader_next(r)) > 0) {
            n++;
            for (int i = 0; i < nf; i++) {
                int64_t l;
                double d;
                const char *s;
                size_t len;
                if (sd_avro_get_long(r, i, &l) != 0 && sd_avro_get_double(r, i, &d) != 0 &&
                    sd_avro_get_string(r, i, &s, &len) == 0 && len > g_size)
                    __builtin_trap(); /* a string longer than the file */
            }
        }
    }
    if (rc != SD_EOF && sd_errmsg(r)[0] == '\0')
        __builtin_trap();
    /* A record our checks pass and avro-c still refuses (it cannot make a
     * fixed of size 0) is counted as read: at most one such. */
    uint64_t got = sd_avro_reader_records(r);
    if (n > got || got - n > 1)
        __builtin_trap();
    sd_avro_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_avro", 0);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    g_size = size;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    read_all(path, 0);
    read_all(path, 1);
    close(fd);
    return 0;
}
