/* stardust: runtime version. */
#include "config.h"

#include <stardust/version.h>

const char *sd_version_string(void) { return SD_VERSION_STRING; }

int sd_version_number(void) { return SD_VERSION_NUMBER; }
