/* placeholder */
#ifndef SD_IO_INT_H
#define SD_IO_INT_H
#endif
