/* A program that closes numbers it no longer owns, as bash closes a pipe's number twice and a
 * daemon closes every number it did not open: argv[1] rounds, each closing 3..63, then
 * appending one line to its own file argv[2] (whose number is the lowest free one) and
 * leaking a little. At the end the file must hold exactly its own lines: prints "intact" and
 * exits 0, or says what it found and exits 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE __attribute__((noinline))
SITE void *site_leak(void) { return malloc(256); }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    const char *own = argc > 2 ? argv[2] : "own.txt";
    struct timespec pause = {0, 200000};
    for (int i = 0; i < rounds; i++) {
        for (int fd = 3; fd < 64; fd++) close(fd); /* not ours: whatever is there */
        int fd = open(own, O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd < 0) return perror(own), 1;
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\n", i);
        if (write(fd, line, (size_t)n) != n) return perror("write"), 1;
        close(fd);
        if (!site_leak()) return 1;
        nanosleep(&pause, NULL);
    }
    FILE *in = fopen(own, "r");
    if (!in) return perror(own), 1;
    char got[64], want[32];
    for (int i = 0; i < rounds; i++) {
        snprintf(want, sizeof want, "line %d\n", i);
        if (!fgets(got, sizeof got, in) || strcmp(got, want) != 0) return printf("line %d is not ours\n", i), 1;
    }
    if (fgetc(in) != EOF) return printf("more than our lines\n"), 1;
    puts("intact");
    return 0;
}
