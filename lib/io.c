/* placeholder */
#include "config.h"
#include "io_int.h"
typedef int sd__io_placeholder;
