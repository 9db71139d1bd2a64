/* stardust: geolocation table core (see include/stardust/geo.h).
 *
 * Loaders (geo_mmdb.c, geo_csv.c) intern de-duplicated records and map
 * prefixes to their indices in one sd_lpm; lookups are one LPM read.
 */
#include <math.h>
#include <string.h>

#include <stardust/geo.h>

#include "geo_int.h"

int sd__geo_new(sd_geo **geop, int kind)
{
    sd_geo *g = sd__calloc(1, sizeof *g);
    if (g == NULL)
        return SD_ERR_NOMEM;
    sd__handle_init(&g->h);
    g->kind = kind;
    int rc = sd_lpm_create(&g->lpm);
    if (rc != 0) {
        sd__free(g);
        return rc;
    }
    *geop = g;
    return 0;
}

long sd__geo_intern(sd_geo *g, const sd_geo_record *r)
{
    return sd__intern((void **)&g->recs, &g->nrecs, &g->caprecs, sizeof *r, &g->hash,
                      &g->hashcap, SD_LPM_VALUE_MAX, r);
}

int sd__geo_add_range4(sd_geo *g, uint32_t first, uint32_t last, uint32_t idx)
{
    uint64_t a = first, end = (uint64_t)last + 1;
    while (a < end) {
        /* The largest aligned block starting at a that stays inside. */
        unsigned len = 32;
        while (len > 0) {
            uint64_t size = (uint64_t)1 << (33 - len);
            if ((a & (size - 1)) != 0 || a + size > end)
                break;
            len--;
        }
        int rc = sd_lpm_insert4(g->lpm, (uint32_t)a, len, idx);
        if (rc != 0)
            return rc;
        a += (uint64_t)1 << (32 - len);
    }
    return 0;
}

int sd__geo_add4(sd_geo *g, uint32_t addr, unsigned len, uint32_t idx)
{
    return sd_lpm_insert4(g->lpm, addr, len, idx);
}

int sd__geo_add6(sd_geo *g, const uint8_t addr[16], unsigned len, uint32_t idx)
{
    return sd_lpm_insert6(g->lpm, addr, len, idx);
}

int sd__geo_finish(sd_geo *g)
{
    sd__free(g->hash);
    g->hash = NULL;
    g->hashcap = 0;
    return sd_lpm_freeze(g->lpm);
}

/* GeoIP's country -> continent table (tags.md §5.2). Sorted by code. */
static const char continent_table[][5] = {
    "A1??", "A2??", "ADEU", "AEAS", "AFAS", "AGNA", "AINA", "ALEU", "AMAS", "ANNA", "AOAF",
    "APAS", "AQAN", "ARSA", "ASOC", "ATEU", "AUOC", "AWNA", "AXEU", "AZAS", "BAEU", "BBNA",
    "BDAS", "BEEU", "BFAF", "BGEU", "BHAS", "BIAF", "BJAF", "BLNA", "BMNA", "BNAS", "BOSA",
    "BQNA", "BRSA", "BSNA", "BTAS", "BVAN", "BWAF", "BYEU", "BZNA", "CANA", "CCAS", "CDAF",
    "CFAF", "CGAF", "CHEU", "CIAF", "CKOC", "CLSA", "CMAF", "CNAS", "COSA", "CRNA", "CUNA",
    "CVAF", "CWNA", "CXAS", "CYAS", "CZEU", "DEEU", "DJAF", "DKEU", "DMNA", "DONA", "DZAF",
    "ECSA", "EEEU", "EGAF", "EHAF", "ERAF", "ESEU", "ETAF", "EUEU", "FIEU", "FJOC", "FKSA",
    "FMOC", "FOEU", "FREU", "FXEU", "GAAF", "GBEU", "GDNA", "GEAS", "GFSA", "GGEU", "GHAF",
    "GIEU", "GLNA", "GMAF", "GNAF", "GPNA", "GQAF", "GREU", "GSAN", "GTNA", "GUOC", "GWAF",
    "GYSA", "HKAS", "HMAN", "HNNA", "HREU", "HTNA", "HUEU", "IDAS", "IEEU", "ILAS", "IMEU",
    "INAS", "IOAS", "IQAS", "IRAS", "ISEU", "ITEU", "JEEU", "JMNA", "JOAS", "JPAS", "KEAF",
    "KGAS", "KHAS", "KIOC", "KMAF", "KNNA", "KPAS", "KRAS", "KWAS", "KYNA", "KZAS", "LAAS",
    "LBAS", "LCNA", "LIEU", "LKAS", "LRAF", "LSAF", "LTEU", "LUEU", "LVEU", "LYAF", "MAAF",
    "MCEU", "MDEU", "MEEU", "MFNA", "MGAF", "MHOC", "MKEU", "MLAF", "MMAS", "MNAS", "MOAS",
    "MPOC", "MQNA", "MRAF", "MSNA", "MTEU", "MUAF", "MVAS", "MWAF", "MXNA", "MYAS", "MZAF",
    "NAAF", "NCOC", "NEAF", "NFOC", "NGAF", "NINA", "NLEU", "NOEU", "NPAS", "NROC", "NUOC",
    "NZOC", "O1??", "OMAS", "PANA", "PESA", "PFOC", "PGOC", "PHAS", "PKAS", "PLEU", "PMNA",
    "PNOC", "PRNA", "PSAS", "PTEU", "PWOC", "PYSA", "QAAS", "REAF", "ROEU", "RSEU", "RUEU",
    "RWAF", "SAAS", "SBOC", "SCAF", "SDAF", "SEEU", "SGAS", "SHAF", "SIEU", "SJEU", "SKEU",
    "SLAF", "SMEU", "SNAF", "SOAF", "SRSA", "SSAF", "STAF", "SVNA", "SXNA", "SYAS", "SZAF",
    "TCNA", "TDAF", "TFAN", "TGAF", "THAS", "TJAS", "TKOC", "TLAS", "TMAS", "TNAF", "TOOC",
    "TRAS", "TTNA", "TVOC", "TWAS", "TZAF", "UAEU", "UGAF", "UMOC", "USNA", "UYSA", "UZAS",
    "VAEU", "VCNA", "VESA", "VGNA", "VINA", "VNAS", "VUOC", "WFOC", "WSOC", "YEAS", "YTAF",
    "ZAAF", "ZMAF", "ZWAF",
};

void sd__geo_continent(const char cc[2], char out[2])
{
    size_t lo = 0, hi = sizeof continent_table / sizeof continent_table[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(continent_table[mid], cc, 2);
        if (c == 0) {
            memcpy(out, continent_table[mid] + 2, 2);
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memcpy(out, "??", 2);
}

const sd_geo_record *sd_geo_lookup4(const sd_geo *g, uint32_t addr)
{
    uint32_t v = sd_lpm_lookup4(g->lpm, addr);
    return v == SD_LPM_NONE ? NULL : &g->recs[v];
}

/* Whether the first len bits of a and b are equal. */
static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(a, b, full) != 0)
        return 0;
    return rest == 0 || ((a[full] ^ b[full]) & (0xff00u >> rest) & 0xffu) == 0;
}

/* The 32 bits of addr that start at bit off (off <= 96). */
static uint32_t bits32_at(const uint8_t addr[16], unsigned off)
{
    uint64_t w = 0;
    for (unsigned k = 0; k < 5; k++)
        w = w << 8 | (off / 8 + k < 16 ? addr[off / 8 + k] : 0u);
    return (uint32_t)(w >> (8 - off % 8));
}

const sd_geo_record *sd_geo_lookup6(const sd_geo *g, const uint8_t addr[16])
{
    for (unsigned i = 0; i < g->nalias; i++)
        if (prefix_equal(addr, g->alias[i].addr, g->alias[i].len))
            return sd_geo_lookup4(g, bits32_at(addr, g->alias[i].len));
    uint32_t v = sd_lpm_lookup6(g->lpm, addr);
    return v == SD_LPM_NONE ? NULL : &g->recs[v];
}

int sd_geo_kind(const sd_geo *g)
{
    return g ? g->kind : 0;
}

size_t sd_geo_count(const sd_geo *g, int family)
{
    return g ? sd_lpm_count(g->lpm, family) : 0;
}

size_t sd_geo_records(const sd_geo *g)
{
    return g ? g->nrecs : 0;
}

size_t sd_geo_memory(const sd_geo *g)
{
    if (g == NULL)
        return 0;
    return sizeof *g + sd_lpm_memory(g->lpm) + g->caprecs * sizeof *g->recs +
           g->hashcap * sizeof *g->hash;
}

void sd_geo_close(sd_geo *g)
{
    if (g == NULL)
        return;
    sd_lpm_destroy(g->lpm);
    sd__free(g->recs);
    sd__free(g->hash);
    g->h.magic = 0;
    sd__free(g);
}
