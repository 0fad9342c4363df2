// Test that header file is self-contained.
#include <garage/util/byte_budget.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <vector>

namespace {
namespace net = boost::asio;
using garage::util::byte_budget;

/// Acquires `n` bytes into `out` and records its turn in `order`.
net::awaitable<void> take(byte_budget& b, std::uint64_t n, std::optional<byte_budget::lease>& out,
                          std::vector<int>& order, int id)
{
    auto l = co_await b.acquire(n);
    order.push_back(id);
    out.emplace(std::move(l));
}

/// Runs the handlers that are ready (restarting the context, which stops when it runs out of work).
void run_ready(net::io_context& ioc)
{
    ioc.restart();
    ioc.poll();
}

TEST_CASE("A byte budget grants leases while bytes are available and takes them back on release",
          "[util][byte_budget]")
{
    byte_budget b(100);
    auto l1 = b.try_acquire(60);
    CHECK(l1.bytes() == 60);
    CHECK(b.available() == 40);
    auto l2 = b.try_acquire(50);
    CHECK(l2.bytes() == 0); // not enough left
    CHECK(b.available() == 40);
    l1.release();
    CHECK(b.available() == 100);
    l1.release(); // idempotent
    CHECK(b.available() == 100);
    {
        auto l3 = b.try_acquire(100);
        CHECK(l3.bytes() == 100);
        auto moved = std::move(l3);
        CHECK(l3.bytes() == 0);
        CHECK(b.available() == 0);
    }
    CHECK(b.available() == 100);
}

TEST_CASE("A byte budget makes a coroutine wait until enough bytes come back", "[util][byte_budget]")
{
    net::io_context ioc;
    byte_budget b(100);
    std::optional<byte_budget::lease> a, c;
    std::vector<int> order;
    net::co_spawn(ioc, take(b, 80, a, order, 1), net::detached);
    run_ready(ioc);
    REQUIRE(a);
    CHECK(a->bytes() == 80);
    net::co_spawn(ioc, take(b, 50, c, order, 2), net::detached);
    run_ready(ioc);
    CHECK_FALSE(c); // only 20 left
    CHECK(b.waiting() == 1);
    a->release();
    run_ready(ioc);
    REQUIRE(c);
    CHECK(c->bytes() == 50);
    CHECK(b.available() == 50);
    CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("A byte budget serves waiters in arrival order, a small request not overtaking a large one",
          "[util][byte_budget]")
{
    net::io_context ioc;
    byte_budget b(100);
    auto held = b.try_acquire(70);
    std::optional<byte_budget::lease> big, small;
    std::vector<int> order;
    net::co_spawn(ioc, take(b, 90, big, order, 1), net::detached);
    net::co_spawn(ioc, take(b, 10, small, order, 2), net::detached);
    run_ready(ioc);
    // 30 are free, enough for the small one, but the big one came first
    CHECK_FALSE(big);
    CHECK_FALSE(small);
    CHECK(b.try_acquire(10).bytes() == 0); // nor may anyone jump the queue
    held.release();
    run_ready(ioc);
    REQUIRE(big);
    REQUIRE(small);
    CHECK(order == std::vector<int>{1, 2});
    CHECK(b.available() == 0);
}

TEST_CASE("A byte budget clamps a request larger than itself, and capacity 0 means unlimited",
          "[util][byte_budget]")
{
    net::io_context ioc;
    byte_budget b(100);
    std::optional<byte_budget::lease> l;
    std::vector<int> order;
    net::co_spawn(ioc, take(b, 1000, l, order, 1), net::detached);
    run_ready(ioc);
    REQUIRE(l);
    CHECK(l->bytes() == 100);
    CHECK(b.available() == 0);

    byte_budget unlimited(0);
    auto u = unlimited.try_acquire(1u << 30);
    CHECK(u.bytes() == 0); // nothing to account
    std::optional<byte_budget::lease> w;
    net::co_spawn(ioc, take(unlimited, 1ull << 40, w, order, 2), net::detached);
    run_ready(ioc);
    CHECK(w);
}

TEST_CASE("A byte budget never lends more than its capacity to coroutines on several threads",
          "[util][byte_budget]")
{
    net::thread_pool pool(4);
    byte_budget b(10);
    std::atomic<int> held{0};
    std::atomic<int> peak{0};
    std::atomic<int> done{0};
    auto worker = [&]() -> net::awaitable<void> {
        for (int i = 0; i < 200; ++i) {
            auto l = co_await b.acquire(3);
            int const now = held.fetch_add(3) + 3;
            int prev = peak.load();
            while (now > prev && !peak.compare_exchange_weak(prev, now)) {
            }
            held.fetch_sub(3);
        }
        ++done;
    };
    for (int i = 0; i < 8; ++i) {
        net::co_spawn(pool, worker, net::detached);
    }
    pool.join();
    CHECK(done == 8);
    CHECK(peak <= 9); // three leases of 3 fit in 10, a fourth never
    CHECK(b.available() == 10);
    CHECK(b.peak_in_use() <= 9);
    CHECK(b.peak_in_use() >= 3);
}

TEST_CASE("A byte budget remembers the most bytes ever lent at once", "[util][byte_budget]")
{
    byte_budget b(100);
    CHECK(b.peak_in_use() == 0);
    {
        auto l1 = b.try_acquire(30);
        auto l2 = b.try_acquire(50);
        CHECK(b.peak_in_use() == 80);
    }
    auto l3 = b.try_acquire(10);
    CHECK(b.available() == 90);
    CHECK(b.peak_in_use() == 80); // a high-water mark: it does not go down
}

} // namespace
