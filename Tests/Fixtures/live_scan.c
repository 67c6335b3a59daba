/* A service for live scans: it never ends by itself (the tests kill it). Each of STEPS steps
 * leaks one 512-byte block from site_dropped (its pointer is dropped), keeps one 256-byte
 * block from site_kept in a global table, and churns; a worker thread keeps one 384-byte
 * block from site_worker in a local of its own frame and one in a thread-local. After the
 * steps it prints "steady" and only churns, so a scan from then on finds exactly STEPS
 * dropped blocks unreferenced and the kept ones referenced. It counts SIGCHLD and reaps any
 * child (as a service that runs workers does): on SIGUSR1 it prints "sigchld N reaped M", which
 * must stay 0 0 however often the shim copies the process to scan it.
 *
 *   live_scan STEPS [HEAP_MIB [seccomp]]
 * HEAP_MIB: first build a reachable heap of that many MiB in 1 KiB blocks (0: none).
 * seccomp: first install a seccomp filter (one that allows everything), as a service confined
 * by systemd's SystemCallFilter= runs. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static void **kept;
static void **big;
static __thread void *worker_tls_block;
static volatile unsigned long sink;
static volatile sig_atomic_t sigchld_seen, report_asked;
static int reaped;

static void on_sigchld(int sig) { (void)sig, sigchld_seen++; }
static void on_usr1(int sig) { (void)sig, report_asked = 1; }

/* What the program itself sees of children: SIGCHLD, and whatever wait(-1) reaps. */
static void watch_children(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) reaped++;
    if (report_asked) {
        report_asked = 0;
        printf("sigchld %d reaped %d\n", (int)sigchld_seen, reaped);
    }
}

__attribute__((noinline)) static void *keep(void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void site_dropped(void) {
    char *p = keep(malloc(512));
    memset(p, 1, 512);
    sink += (unsigned long)p * 7; /* scrambled: no word anywhere points at the block */
}

__attribute__((noinline)) static void site_kept(int i) {
    kept[i] = keep(malloc(256));
    memset(kept[i], 2, 256);
}

__attribute__((noinline)) static void site_churn(int i) {
    for (int k = 0; k < 16; k++) {
        char *p = keep(malloc(32 + (size_t)((i + k) % 500)));
        p[0] = 3;
        free(p);
    }
}

__attribute__((noinline)) static void *site_worker(size_t size) {
    void *p = keep(malloc(size));
    memset(p, 4, size);
    return p;
}

static void pause_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *worker(void *unused) {
    (void)unused;
    void *volatile on_stack = site_worker(384);
    worker_tls_block = site_worker(384);
    for (;;) {
        site_churn(7);
        pause_ms(5);
        sink += *(volatile char *)on_stack + *(volatile char *)worker_tls_block;
    }
    return NULL;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 200;
    size_t heap_mib = argc > 2 ? (size_t)atol(argv[2]) : 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 3 && strcmp(argv[3], "seccomp") == 0) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog program = {.len = 1, .filter = &allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
            perror("seccomp");
            return 1;
        }
    }
    signal(SIGCHLD, on_sigchld);
    signal(SIGUSR1, on_usr1);
    if (heap_mib) {
        size_t n = heap_mib * 1024;
        big = malloc(n * sizeof *big);
        for (size_t i = 0; i < n; i++) {
            big[i] = malloc(1024 - 16);
            memset(big[i], (int)i, 1024 - 16);
        }
    }
    kept = calloc((size_t)steps, sizeof *kept);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    for (int i = 0; i < steps; i++) {
        site_dropped();
        site_kept(i);
        site_churn(i);
        watch_children();
        pause_ms(2);
    }
    printf("steady %d\n", steps);
    for (int i = 0;; i++) {
        site_churn(i);
        watch_children();
        pause_ms(5);
    }
}
