// thread_local destructors and pthread key destructors that allocate while threads end,
// and at process exit for the main thread.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

static std::atomic<int> destroyed{0};
static pthread_key_t key;

struct Noisy {
    std::vector<std::string> items;
    Noisy() : items(8, std::string(50, 'a')) {}
    ~Noisy() {
        std::string *late = new std::string(200, 'z'); // allocates during thread exit
        destroyed += late->size() == 200;
        delete late;
    }
};

static thread_local Noisy noisy;

static void key_destructor(void *p) {
    void *q = std::malloc(300);
    std::free(q);
    std::free(p);
    destroyed++;
}

int main() {
    pthread_key_create(&key, key_destructor);
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; i++)
        threads.emplace_back([] {
            noisy.items.push_back("thread");
            pthread_setspecific(key, std::malloc(100));
        });
    for (auto &t : threads) t.join();
    std::printf("destroyed %d\n", destroyed.load());
    noisy.items.push_back("main"); // the main thread's destructor runs at exit
    return 0;
}
