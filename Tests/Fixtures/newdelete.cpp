// C++ new and delete reach the shim through malloc and free in libstdc++.
#include <cstdio>
#include <string>
#include <vector>

struct Widget {
    char payload[48];
};

static std::vector<Widget *> kept;

__attribute__((noinline)) Widget *site_new() { return new Widget(); }
__attribute__((noinline)) int *site_new_array() { return new int[25]; }

int main() {
    for (int i = 0; i < 30; i++) kept.push_back(site_new());
    for (int i = 0; i < 10; i++) delete kept[i];          // live 20 x 48
    for (int i = 0; i < 8; i++) delete[] site_new_array(); // freed 8 x 100
    std::printf("newdelete: %zu widgets\n", kept.size() - 10);
    return 0;
}
