/* stardust: symbol export and function attributes. */
#ifndef STARDUST_EXPORT_H
#define STARDUST_EXPORT_H

/* SD_API marks the public interface. The library is compiled with
 * -fvisibility=hidden -DSD_BUILDING, so only SD_API symbols are exported. */
#if defined(SD_BUILDING) && defined(__GNUC__)
#define SD_API __attribute__((visibility("default")))
#else
#define SD_API
#endif

#if defined(__GNUC__)
#define SD_NODISCARD __attribute__((warn_unused_result))
#define SD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SD_NODISCARD
#define SD_PRINTF(fmt, args)
#endif

#endif
