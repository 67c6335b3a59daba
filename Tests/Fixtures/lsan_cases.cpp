/* Cases from compiler-rt's LeakSanitizer tests (test/lsan/TestCases), one per run (argv[1]),
 * one site per verdict: the integration tests run each under swheap and, built with
 * -fsanitize=leak, under LeakSanitizer, and require both to class every site_* alike.
 *   malloc-zero   a zero-size block dropped, another kept by a global (malloc_zero.c)
 *   swapcontext   a coroutine on a heap-allocated stack: a block it allocates, held only by
 *                 its frame on that stack, is kept while the stack block is; the stack block
 *                 itself is kept by a global (swapcontext.cpp)
 *   new-array-0   `new T[0]` for a T with a destructor returns the address right past the
 *                 8-byte array cookie, one past the block's end: it points into the block;
 *                 one kept by a global, one dropped (new_array_with_dtor_0.cpp)
 *   stale         a block whose only copy lies in a dead frame far below main's (the
 *                 stack exit() runs on never overwrites it) (stale_stack_leak.cpp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define SITE extern "C" __attribute__((noinline))

void *volatile kept[4];

SITE void *site_zero_dropped(void) { return malloc(0); }
SITE void *site_zero_kept(void) { return malloc(0); }
SITE void *site_coroutine_kept(void) { return malloc(2664); }
SITE void *site_coroutine_stack(size_t size) { return malloc(size); }

struct WithDtor {
    ~WithDtor() { fprintf(stderr, "never\n"); }
};
SITE WithDtor *site_new_array_0_kept(void) { return new WithDtor[0]; }
SITE WithDtor *site_new_array_0_dropped(void) { return new WithDtor[0]; }
SITE void *site_stale(void) { return malloc(1337); }

static ucontext_t caller, coroutine;

static void coroutine_body(void) {
    void *volatile held = site_coroutine_kept(); /* only on the coroutine's (heap) stack */
    swapcontext(&coroutine, &caller);           /* never resumed */
    (void)held;
}

void **stale_slot;

/* A deep frame: its first local lies far below main's frame and exit()'s. */
SITE void put_on_stale_stack(void *p) {
    void *locals[2048];
    locals[0] = p;
    stale_slot = &locals[0];
    __asm__ volatile("" : : "r"(locals) : "memory");
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "malloc-zero") == 0) {
        void *volatile p = site_zero_dropped();
        p = NULL;
        kept[0] = site_zero_kept();
    } else if (strcmp(what, "swapcontext") == 0) {
        enum { STACK = 1 << 20 };
        char *stack = (char *)site_coroutine_stack(STACK);
        kept[0] = stack;
        getcontext(&coroutine);
        coroutine.uc_stack.ss_sp = stack;
        coroutine.uc_stack.ss_size = STACK;
        coroutine.uc_link = &caller;
        makecontext(&coroutine, coroutine_body, 0);
        if (swapcontext(&caller, &coroutine) < 0) return 2;
    } else if (strcmp(what, "new-array-0") == 0) {
        kept[0] = site_new_array_0_kept();
        WithDtor *volatile p = site_new_array_0_dropped();
        p = NULL;
    } else if (strcmp(what, "stale") == 0) {
        put_on_stale_stack(site_stale());
    } else {
        fprintf(stderr, "usage: lsan_cases malloc-zero|swapcontext|new-array-0|stale\n");
        return 2;
    }
    printf("lsan_cases: %s done\n", what);
    fflush(stdout);
    return 0;
}
