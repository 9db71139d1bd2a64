/* Helpers shared by check_erf.c and check_pcapng.c: reference packets read
 * with libpcap, whole-file reads, temporary directories and the damaged-file
 * (.expect) runner. */
#ifndef SD_NATIVE_UTIL_H
#define SD_NATIVE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <stardust/stardust.h>
#include "internal.h"
#include "io_int.h"
#include "testutil.h"

/* A packet as libpcap reads it. */
struct ref_pkt {
    uint64_t ts_us; /* microseconds since the epoch */
    uint32_t caplen, wirelen;
    uint8_t *data;
};

/* Read every packet of a pcap file with libpcap; returns the count. */
static inline size_t load_pcap(const char *path, struct ref_pkt **out, int *linktype)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, eb);
    ck_assert_msg(p != NULL, "libpcap cannot open %s: %s", path, eb);
    if (linktype != NULL)
        *linktype = pcap_datalink(p);
    size_t n = 0, cap = 0;
    struct ref_pkt *v = NULL;
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 128;
            v = realloc(v, cap * sizeof *v);
            ck_assert_ptr_nonnull(v);
        }
        v[n].ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        v[n].caplen = h->caplen;
        v[n].wirelen = h->len;
        v[n].data = malloc(h->caplen ? h->caplen : 1);
        ck_assert_ptr_nonnull(v[n].data);
        memcpy(v[n].data, d, h->caplen);
        n++;
    }
    ck_assert_int_eq(rc, PCAP_ERROR_BREAK); /* clean end of file */
    pcap_close(p);
    *out = v;
    return n;
}

static inline void free_pcap(struct ref_pkt *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
}

/* A fresh temporary directory (removed, with its files, by rm_tmpdir). */
static inline const char *make_tmpdir(void)
{
    static char dir[4096];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sd-check-XXXXXX", t != NULL && t[0] ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static inline void rm_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Files in dir (other than . and ..). */
static inline int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Read a source to its end; returns the final (negative) code and the
 * packet count in *npkts. Reads `batch` at a time. */
static inline int drain(sd_source *src, size_t batch, long *npkts)
{
    const sd_packet *p[1024];
    long n = 0;
    int rc;
    if (batch > 1024)
        batch = 1024;
    while ((rc = sd_source_read(src, p, batch)) > 0)
        n += rc;
    *npkts = n;
    return rc;
}

static inline void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Run every damaged file tests/data/bad/<sub>/NAME<ext> against its
 * NAME.expect (errname, sd_errmsg substring, "open" or "read N"), through
 * "<scheme>:PATH" and through the buffer mode, with batches of 64 and 1.
 * Returns the number of files checked. */
static inline int run_bad_files(const char *sub, const char *scheme, const char *ext)
{
    const char *srcdir = getenv("SD_SRCDIR");
    ck_assert_msg(srcdir != NULL, "SD_SRCDIR is not set (run through make check)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/bad/%s", srcdir, sub);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name), el = strlen(ext);
        if (nl <= el || strcmp(e->d_name + nl - el, ext) != 0)
            continue;
        char path[4096], xpath[4096], uri[4200];
        int l1 = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int l2 = snprintf(xpath, sizeof xpath, "%s/%.*s.expect", dir, (int)(nl - el), e->d_name);
        int l3 = snprintf(uri, sizeof uri, "%s:%s", scheme, path);
        ck_assert(l1 < (int)sizeof path && l2 < (int)sizeof xpath && l3 < (int)sizeof uri);
        FILE *xf = fopen(xpath, "r");
        ck_assert_msg(xf != NULL, "%s has no .expect file", path);
        char want_name[128] = "", want_msg[512] = "", want_where[64] = "";
        ck_assert_ptr_nonnull(fgets(want_name, sizeof want_name, xf));
        ck_assert_ptr_nonnull(fgets(want_msg, sizeof want_msg, xf));
        ck_assert_ptr_nonnull(fgets(want_where, sizeof want_where, xf));
        fclose(xf);
        chomp(want_name);
        chomp(want_msg);
        chomp(want_where);
        size_t len;
        uint8_t *bytes = sd_test_read_file(path, &len);
        for (int mode = 0; mode < 4; mode++) {
            sd_source *src = NULL;
            char eb[SD_ERRBUF_SIZE] = "";
            int rc = (mode & 1) ? sd__source_open_buffer(&src, scheme, path, bytes, len, eb)
                                : sd_source_open(&src, uri, eb);
            if (strcmp(want_where, "open") == 0) {
                ck_assert_msg(rc < 0, "%s: open succeeded", path);
                ck_assert_msg(strcmp(sd_errname(rc), want_name) == 0, "%s: open gave %s, want %s (%s)",
                              path, sd_errname(rc), want_name, eb);
                ck_assert_msg(strstr(eb, want_msg) != NULL, "%s: errbuf \"%s\" lacks \"%s\"", path, eb,
                              want_msg);
                ck_assert_ptr_null(src);
                continue;
            }
            long want_pkts = -1;
            ck_assert_msg(sscanf(want_where, "read %ld", &want_pkts) == 1, "%s: bad line 3", xpath);
            ck_assert_msg(rc == 0, "%s: open failed: %s", path, eb);
            long n;
            rc = drain(src, (mode & 2) ? 1 : 64, &n);
            ck_assert_msg(strcmp(sd_errname(rc), want_name) == 0, "%s: read gave %s, want %s (%s)", path,
                          sd_errname(rc), want_name, sd_errmsg(src));
            ck_assert_msg(strstr(sd_errmsg(src), want_msg) != NULL, "%s: sd_errmsg \"%s\" lacks \"%s\"",
                          path, sd_errmsg(src), want_msg);
            ck_assert_msg(strstr(sd_errmsg(src), path) != NULL, "%s: sd_errmsg \"%s\" lacks the path",
                          path, sd_errmsg(src));
            ck_assert_int_eq(n, want_pkts);
            /* The failure is sticky. */
            const sd_packet *p[4];
            ck_assert_int_eq(sd_source_read(src, p, 4), rc);
            sd_source_close(src);
        }
        free(bytes);
        files++;
    }
    closedir(d);
    return files;
}

#endif
