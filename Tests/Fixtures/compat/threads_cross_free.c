/* Four producer threads hand blocks to four consumer threads that free them: every free
 * happens on a thread other than the one that allocated. Prints a checksum. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PRODUCERS = 4, PER_PRODUCER = 50000, SLOTS = 1024 };

static void *ring[SLOTS];
static size_t head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static unsigned long long checksum;
static int producers_left = PRODUCERS;

static void *produce(void *arg) {
    size_t seed = (size_t)arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        size_t n = 16 + (seed * 7919 + (size_t)i * 104729) % 4000;
        unsigned char *p = malloc(n);
        memset(p, (int)(n & 0xff), n);
        p[0] = (unsigned char)(n & 0xff);
        pthread_mutex_lock(&lock);
        while (head - tail == SLOTS) pthread_cond_wait(&changed, &lock);
        ring[head++ % SLOTS] = p;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    producers_left--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consume(void *arg) {
    (void)arg;
    unsigned long long sum = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (head == tail && producers_left) pthread_cond_wait(&changed, &lock);
        if (head == tail) {
            checksum += sum;
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        unsigned char *p = ring[tail++ % SLOTS];
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        sum += p[0];
        free(p);
    }
}

int main(void) {
    pthread_t t[2 * PRODUCERS];
    for (size_t i = 0; i < PRODUCERS; i++) pthread_create(&t[i], NULL, produce, (void *)i);
    for (size_t i = 0; i < PRODUCERS; i++) pthread_create(&t[PRODUCERS + i], NULL, consume, NULL);
    for (int i = 0; i < 2 * PRODUCERS; i++) pthread_join(t[i], NULL);
    printf("checksum %llu\n", checksum);
    return 0;
}
