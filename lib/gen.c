/* placeholder */
#include "config.h"
#include "internal.h"
#include <stardust/gen.h>
