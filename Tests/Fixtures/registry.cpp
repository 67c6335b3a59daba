// A C++ service for argv[1] steps of argv[2] ms, every allocation through the standard
// library (make_shared, unordered_map, map, vector, string, deque):
//   leak:     SessionRegistry::open (sessions made with make_shared, registered, never closed)
//   not leak: LruCache::put (bounded: the oldest entry evicted), handle_request (freed at once)
// Ends with _exit, as a killed service would: nothing is freed at exit.
#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace service {

struct Session {
    explicit Session(long id) : id(id), user("user-session-" + std::to_string(id)), buffer(700, 'x') {}
    long id;
    std::string user;
    std::vector<char> buffer;
};

class SessionRegistry {
public:
    __attribute__((noinline)) void open(long id) { sessions_[id] = std::make_shared<Session>(id); }
    size_t size() const { return sessions_.size(); }

private:
    std::unordered_map<long, std::shared_ptr<Session>> sessions_;
};

template <typename Value>
class LruCache {
public:
    explicit LruCache(size_t capacity) : capacity_(capacity) {}
    __attribute__((noinline)) void put(long key) {
        if (order_.size() == capacity_) {
            entries_.erase(order_.front());
            order_.pop_front();
        }
        entries_.emplace(key, Value(1024, 'c'));
        order_.push_back(key);
    }
    size_t size() const { return entries_.size(); }

private:
    size_t capacity_;
    std::map<long, Value> entries_;
    std::deque<long> order_;
};

__attribute__((noinline)) size_t handle_request(long step) {
    std::vector<std::string> words;
    for (long i = 0; i < step % 16 + 4; i++) words.push_back("word-number-" + std::to_string(i));
    return words.size();
}

}  // namespace service

int main(int argc, char **argv) {
    long steps = argc > 1 ? std::atol(argv[1]) : 40, ms = argc > 2 ? std::atol(argv[2]) : 25;
    auto *registry = new service::SessionRegistry();
    auto *cache = new service::LruCache<std::vector<char>>(64);
    size_t served = 0;
    for (long step = 0; step < steps; step++) {
        for (long i = 0; i < 4; i++) registry->open(step * 4 + i);
        for (long i = 0; i < 8; i++) cache->put(step * 8 + i);
        served += service::handle_request(step);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    std::printf("%zu sessions, %zu cached, %zu served\n", registry->size(), cache->size(), served);
    std::fflush(stdout);
    _exit(0);
}
