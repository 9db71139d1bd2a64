/* stardust: umbrella header. Include this, link with -lstardust
 * (pkg-config --cflags --libs libstardust). See stardust(7). */
#ifndef STARDUST_H
#define STARDUST_H

#include <stardust/export.h>
#include <stardust/version.h>
#include <stardust/err.h>
#include <stardust/packet.h>
#include <stardust/parse.h>
#include <stardust/source.h>
#include <stardust/pcap_writer.h>
#include <stardust/erf_writer.h>
#include <stardust/gen.h>
#include <stardust/ndag.h>
#include <stardust/ndag_recv.h>
#include <stardust/ndag_send.h>
#include <stardust/filterbits.h>
#include <stardust/lpm.h>
#include <stardust/pfx2as.h>
#include <stardust/geo.h>
#include <stardust/tag.h>
#include <stardust/tagger_config.h>
#include <stardust/flowtuple.h>
#include <stardust/avro.h>
#include <stardust/interval.h>
#include <stardust/ft4.h>

#endif
