/* Fuzz target for the header parser.
 *
 * Input: byte 0 selects the link type (index % 9 into the table below) and
 * how the wire length relates to the capture ((byte 0 / 9) % 4); the rest
 * is the packet. Checks what the parser promises for any input: offsets
 * within caplen, flags consistent with the return code and the fields,
 * bulk and single calls identical, and the same for an ICMP quote parsed
 * with sd_parse_ip(). abort() on a broken promise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/err.h>
#include <stardust/parse.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t links[9] = {
    SD_LINK_ETHERNET, SD_LINK_RAW,       SD_LINK_NULL, SD_LINK_LOOP, SD_LINK_LINUX_SLL,
    SD_LINK_LINUX_SLL2, SD_LINK_IPV4,    SD_LINK_IPV6, 147, /* not supported */
};

static void check(const sd_parsed *o, int rc, uint32_t caplen)
{
    uint32_t lim = caplen < 65535 ? caplen : 65535;
    if (o->l2_len > lim || o->l3_off > lim || o->l4_off > lim || o->payload_off > lim ||
        o->inner_off > lim)
        abort();
    if (o->pad0 != 0)
        abort();
    for (size_t i = 0; i < sizeof o->reserved; i++)
        if (o->reserved[i] != 0)
            abort();
    int want = 0;
    if (o->flags & SD_P_UNKNOWN_LINK)
        want = SD_ERR_UNSUPPORTED;
    else if (o->flags & SD_P_MALFORMED)
        want = SD_ERR_FORMAT;
    else if (o->flags & SD_P_TRUNCATED)
        want = SD_ERR_TRUNCATED;
    if (rc != want)
        abort();
    if ((o->flags & SD_P_MALFORMED) && (o->flags & SD_P_TRUNCATED))
        abort();
    int ip = (o->flags & (SD_P_IP4 | SD_P_IP6)) != 0;
    if ((o->flags & SD_P_IP4) && (o->flags & SD_P_IP6))
        abort();
    if (!ip && (o->ip_version != 0 || o->l3_off != 0 || o->l4_off != 0 || o->payload_off != 0))
        abort();
    if (ip && o->ip_version != ((o->flags & SD_P_IP4) ? 4 : 6))
        abort();
    if ((o->flags & (SD_P_TCP | SD_P_UDP | SD_P_ICMP | SD_P_ICMP6)) && !ip)
        abort();
    if (o->l4_off != 0 && o->l4_off != o->l3_off + o->ip_hl)
        abort();
    if ((o->flags & SD_P_FRAG_LATER) &&
        (o->l4_off != 0 || (o->flags & (SD_P_TCP | SD_P_UDP | SD_P_ICMP | SD_P_ICMP6))))
        abort();
    if (!(o->flags & SD_P_ICMP_QUOTE) != (o->inner_off == 0))
        abort();
    if ((o->flags & SD_P_ICMP_QUOTE) && o->inner_off >= lim)
        abort(); /* at least the first quoted byte is captured */
    if ((o->flags & SD_P_TCP) && o->tcp_doff >= 20 && o->payload_off != 0 &&
        o->payload_off != o->l4_off + o->tcp_doff)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    sd_packet k;
    memset(&k, 0, sizeof k);
    k.data = size > 1 ? data + 1 : NULL;
    k.caplen = (uint32_t)(size - 1);
    k.linktype = links[sel % 9];
    switch ((sel / 9) % 4) {
    case 0:
        k.wirelen = k.caplen;
        break;
    case 1:
        k.wirelen = 0; /* unknown */
        break;
    case 2:
        k.wirelen = k.caplen + 1000; /* snaplen cut */
        break;
    default:
        k.wirelen = k.caplen / 2; /* inconsistent source */
        break;
    }

    sd_parsed o, b;
    memset(&o, 0xa5, sizeof o);
    int rc = sd_parse(&k, &o);
    check(&o, rc, k.caplen);

    const sd_packet *kp = &k;
    memset(&b, 0x5a, sizeof b);
    if (sd_parse_bulk(&kp, &b, 1) != 1 || memcmp(&o, &b, sizeof o) != 0)
        abort();

    if (o.flags & SD_P_ICMP_QUOTE) {
        sd_parsed q;
        rc = sd_parse_ip(k.data + o.inner_off, k.caplen - o.inner_off, &q);
        check(&q, rc, k.caplen - o.inner_off);
        if (q.flags & SD_P_PAYLOAD_SHORT)
            abort();
    }

    /* The whole input as a raw IP packet, too. */
    rc = sd_parse_ip(data, (uint32_t)size, &o);
    check(&o, rc, (uint32_t)size);
    if (o.flags & (SD_P_ETH | SD_P_VLAN | SD_P_MPLS | SD_P_PAYLOAD_SHORT | SD_P_UNKNOWN_LINK))
        abort();
    return 0;
}
