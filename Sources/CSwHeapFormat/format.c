/* The format is a header (include/swheap_format.h); this file makes it a SwiftPM target and
 * compiles its static assertions once. */
#include "swheap_format.h"
