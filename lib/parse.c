/* placeholder */
#include "config.h"
#include "internal.h"
#include <stardust/parse.h>
