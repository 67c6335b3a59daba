/* A plugin the deepbind fixture loads with dlopen by bare name (found through the program's
 * RUNPATH), with or without RTLD_DEEPBIND. Under RTLD_DEEPBIND its malloc and free bind to
 * the allocator directly unless the preload clears the flag. */
#include <stdlib.h>

void *plugin_alloc(size_t size) { return malloc(size); }

void plugin_free(void *p) { free(p); }
