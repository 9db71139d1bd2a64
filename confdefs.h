/* confdefs.h */
#define PACKAGE_NAME "stardust"
#define PACKAGE_TARNAME "stardust"
#define PACKAGE_VERSION "0.1.0"
#define PACKAGE_STRING "stardust 0.1.0"
#define PACKAGE_BUGREPORT ""
#define PACKAGE_URL ""
#define PACKAGE "stardust"
#define VERSION "0.1.0"
