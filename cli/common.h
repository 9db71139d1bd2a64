#ifndef SD_CLI_COMMON_H
#define SD_CLI_COMMON_H
#endif
