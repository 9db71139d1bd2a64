/* placeholder */
#include "config.h"
#include "internal.h"
#include <stardust/erf_writer.h>
