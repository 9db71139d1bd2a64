/* placeholder */
#include "config.h"
#include "internal.h"
#include <stardust/pcap_writer.h>
