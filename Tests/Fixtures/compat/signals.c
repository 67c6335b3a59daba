/* A timer signal lands every 200 us during an allocation-heavy loop; the handler does
 * async-signal-safe work only. Interrupted allocations must complete normally. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;
static void on_tick(int sig) { (void)sig; ticks++; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 200}, {0, 200}};
    setitimer(ITIMER_REAL, &every, NULL);
    unsigned long long sum = 0;
    void *kept[256] = {0};
    for (unsigned i = 0; i < 2000000 && ticks < 2000; i++) {
        free(kept[i % 256]);
        unsigned char *p = malloc(1 + i % 5000);
        p[0] = (unsigned char)i;
        sum += p[0];
        kept[i % 256] = p;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < 256; i++) free(kept[i]);
    printf("signals arrived: %s\n", ticks > 0 ? "yes" : "no");
    return 0;
}
