// GNU libiberty's demangler (Debian: libiberty-dev, a static library): the one c++filt, gdb
// and perf use, for C++ (Itanium), Rust's legacy scheme (`_ZN...17h<hash>E`, `$LT$` escapes)
// and Rust's v0 scheme (`_R...`). Without DMGL_VERBOSE it leaves out what a reader does not
// need: Rust's hash suffixes and crate disambiguators.
#include <stdlib.h>
#include <libiberty/demangle.h>

static inline char *swheap_gnu_demangle(const char *name) {
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
