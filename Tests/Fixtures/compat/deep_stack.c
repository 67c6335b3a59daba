/* Allocations from stacks far deeper than the depth cap (64 frames by default). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long descend(int depth) {
    if (depth == 0) {
        unsigned long sum = 0;
        for (int i = 0; i < 1000; i++) {
            unsigned char *volatile p = malloc(100 + (size_t)i);
            p[0] = 1;
            sum += p[0];
            free(p);
        }
        return sum;
    }
    unsigned long r = descend(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return r + 1;
}

int main(void) {
    printf("%lu\n", descend(3000));
    return 0;
}
