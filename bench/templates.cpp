// A template-heavy translation unit for swheap's overhead suite: the clang++ front end
// and optimiser allocate heavily while instantiating these. Compiled with
// clang++ -std=c++17 -O2 -c (or -fsyntax-only); it is never linked or run.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace bench {

template <int N> struct Fib { static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value; };
template <> struct Fib<0> { static constexpr long value = 0; };
template <> struct Fib<1> { static constexpr long value = 1; };

template <typename... Ts> struct TypeList {};
template <typename L, typename T> struct Append;
template <typename... Ts, typename T> struct Append<TypeList<Ts...>, T> { using type = TypeList<Ts..., T>; };

template <int I> struct Tag { int v = I; };

template <int N, typename Acc = TypeList<>> struct MakeTags {
    using type = typename MakeTags<N - 1, typename Append<Acc, Tag<N>>::type>::type;
};
template <typename Acc> struct MakeTags<0, Acc> { using type = Acc; };

template <typename L> struct ToVariant;
template <typename... Ts> struct ToVariant<TypeList<Ts...>> { using type = std::variant<Ts...>; };

using BigVariant = ToVariant<MakeTags<40>::type>::type;

inline int visit_sum(const std::vector<BigVariant> &vs) {
    int s = 0;
    for (const auto &v : vs) s += std::visit([](const auto &t) { return t.v; }, v);
    return s;
}

template <typename K, typename V, int Seed> struct Store {
    std::map<K, std::vector<V>> by_key;
    std::unordered_map<std::string, std::set<K>> index;
    std::function<bool(const V &, const V &)> less = [](const V &a, const V &b) { return a < b; };

    void add(const K &k, const V &v, const std::string &name) {
        by_key[k].push_back(v);
        index[name].insert(k);
        std::sort(by_key[k].begin(), by_key[k].end(), less);
    }
    std::optional<V> best(const std::string &name) const {
        auto it = index.find(name);
        if (it == index.end()) return std::nullopt;
        std::optional<V> out;
        for (const auto &k : it->second) {
            auto f = by_key.find(k);
            if (f != by_key.end() && !f->second.empty() && (!out || less(*out, f->second.back())))
                out = f->second.back();
        }
        return out;
    }
    std::string describe() const {
        std::ostringstream os;
        for (const auto &[k, vs] : by_key) os << vs.size() << ':' << Seed << ';';
        return os.str();
    }
};

template <int I> using TupleOf = std::tuple<Tag<I>, std::string, std::vector<Tag<I + 1>>, std::map<int, Tag<I + 2>>>;

template <int I> std::string instantiate() {
    Store<int, std::pair<long, std::string>, I> a;
    Store<long, double, I> b;
    Store<std::pair<int, int>, std::string, I> c;
    for (int k = 0; k < I + 3; k++) {
        a.add(k, {k * Fib<20>::value, std::to_string(k)}, "a" + std::to_string(k % 3));
        b.add(k, k * 0.5, "b");
        c.add({k, -k}, std::to_string(k * I), "c");
    }
    std::vector<TupleOf<I>> rows(4);
    std::sort(rows.begin(), rows.end(), [](const auto &x, const auto &y) { return std::get<1>(x) < std::get<1>(y); });
    std::regex re("([a-z]+)_" + std::to_string(I) + "\\s*=\\s*(\\d+)");
    std::smatch m;
    std::string text = a.describe() + b.describe() + c.describe();
    std::regex_search(text, m, re);
    auto best = a.best("a1");
    return text + (best ? best->second : std::string()) + m.str(0);
}

template <int... Is> std::string all(std::integer_sequence<int, Is...>) {
    std::string s;
    ((s += instantiate<Is>()), ...);
    return s;
}

} // namespace bench

std::string run_all() {
    std::vector<bench::BigVariant> vs(10);
    return bench::all(std::make_integer_sequence<int, 2>{}) + std::to_string(bench::visit_sum(vs));
}
