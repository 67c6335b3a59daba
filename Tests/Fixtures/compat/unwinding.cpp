// Exceptions thrown through frames that allocate, and setjmp/longjmp over allocating
// frames: the unwinder and the shim must leave both intact.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

static std::jmp_buf jump;

__attribute__((noinline)) static int deep_throw(int depth) {
    std::vector<std::string> held(4, std::string(100, 'x'));
    if (depth == 0) throw std::runtime_error("bottom " + std::to_string(held.size()));
    return deep_throw(depth - 1) + 1;
}

__attribute__((noinline)) static void deep_jump(int depth) {
    void *volatile p = std::malloc(64 + depth);
    std::free(p);
    if (depth == 0) std::longjmp(jump, 42);
    deep_jump(depth - 1);
}

int main() {
    int caught = 0;
    for (int i = 0; i < 2000; i++) {
        try {
            deep_throw(i % 20);
        } catch (const std::runtime_error &e) {
            caught += e.what()[0] == 'b';
        }
    }
    int jumped = 0;
    for (int i = 0; i < 2000; i++) {
        int v = setjmp(jump);
        if (v == 0) deep_jump(i % 20);
        else jumped += v == 42;
    }
    std::printf("caught %d jumped %d\n", caught, jumped);
    return 0;
}
