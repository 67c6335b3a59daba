# The one compile recipe of libswheap.so, sourced by every script that builds the shim
# (scripts/build, scripts/sanitizers, scripts/shim-graph, bench/dump-sizes). Built with the C
# compiler, never SwiftPM: a SwiftPM library links the Swift runtime into every process.
#   shim_cflags    flags for every object (callers append theirs: later flags win)
#   shim_includes  ROOT: the include flags for a source tree at ROOT
#   shim_sources   ROOT: every C file of the core (Sources/CSwHeap, also the SwiftPM target the
#                  unit tests use) and of the entry points (Sources/CSwHeapPreload), by glob
#   shim_libs      what the library links against
#   shim_build     ROOT OUT [FLAG...]: compiles and links ROOT's shim into OUT in one step

shim_cflags=(-std=c11 -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-omit-frame-pointer
    -Wall -Wextra -Werror=implicit-function-declaration)
shim_libs=(-Wl,--as-needed -lunwind -lpthread -lm -lz -Wl,-z,now)

# ROOT as a path prefix: "" for ".", so names read Sources/... as scripts write them.
shim_root() { [ "$1" = . ] && echo "" || echo "${1%/}/"; }

shim_includes() {
    local r
    r=$(shim_root "$1")
    printf '%s\n' "-I${r}Sources/CSwHeap/include" "-I${r}Sources/CSwHeap" "-I${r}Sources/CSwHeapFormat/include"
}

shim_sources() {
    local r
    r=$(shim_root "$1")
    printf '%s\n' "${r}"Sources/CSwHeap/*.c "${r}"Sources/CSwHeapPreload/*.c
}

shim_build() {
    local root=$1 out=$2
    shift 2
    local includes sources
    mapfile -t includes < <(shim_includes "$root")
    mapfile -t sources < <(shim_sources "$root")
    "${CC:-cc}" "${shim_cflags[@]}" "$@" -shared "${includes[@]}" "${sources[@]}" -o "$out.tmp" "${shim_libs[@]}" &&
        mv "$out.tmp" "$out"
}

# The injector behind `swheap attach` and `swheap detach` (Sources/CSwHeapAttach), installed
# beside the shim: a plain C program, because ptrace ties a tracee to one thread of its tracer.
#   attach_build ROOT OUT
attach_build() {
    local root=$1 out=$2 r
    r=$(shim_root "$root")
    "${CC:-cc}" -std=c11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
        "-I${r}Sources/CSwHeapFormat/include" "${r}"Sources/CSwHeapAttach/*.c -o "$out.tmp" &&
        mv "$out.tmp" "$out"
}
