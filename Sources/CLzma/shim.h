// liblzma (Debian: liblzma-dev), for the xz-compressed MiniDebugInfo (.gnu_debugdata) section.
#include <lzma.h>
