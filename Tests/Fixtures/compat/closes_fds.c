/* Closes every descriptor and changes directory, then keeps allocating across several
 * dump intervals and exits: the shim's dumps must not write into a reused descriptor or a
 * relative path. The result is reported by exit status only (stdout is closed). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    for (int fd = 0; fd < 1024; fd++) close(fd);
    if (chdir("/") != 0) return 2;
    struct timespec pause = {0, 20 * 1000000L};
    void *kept[200];
    for (int i = 0; i < 200; i++) {
        kept[i] = malloc(4000);
        if (i % 20 == 0) nanosleep(&pause, NULL);
    }
    for (int i = 0; i < 200; i++) free(kept[i]);
    return 17;
}
