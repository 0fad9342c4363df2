// Test that header file is self-contained.
#include <garage/model/k2v_subscriptions.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <thread>

namespace {
using namespace garage;
using model::k2v_item;
using model::k2v_subscriptions;
using namespace std::chrono_literals;

model::k2v_item_partition part(std::string pk = "p")
{
    util::uuid b;
    b[0] = 2;
    return {b, std::move(pk)};
}

boost::asio::awaitable<void> wait_one(k2v_subscriptions::subscription* s, std::chrono::milliseconds timeout,
                                      std::optional<k2v_item>* out)
{
    *out = co_await s->next(std::chrono::steady_clock::now() + timeout);
}

TEST_CASE("a notification from another thread wakes a waiting subscriber", "[model][k2v][subscriptions]")
{
    k2v_subscriptions subs;
    boost::asio::io_context ioc;
    auto sub = subs.subscribe_item(part(), "k", ioc.get_executor());
    std::optional<k2v_item> got;
    boost::asio::co_spawn(ioc, wait_one(&sub, 10s, &got), boost::asio::detached);
    ioc.poll(); // the coroutine is now suspended on the channel
    CHECK_FALSE(got);
    std::thread writer([&] {
        k2v_item i(part(), "k");
        i.update(1, std::nullopt, std::string("v"), 1);
        subs.notify(i);
    });
    auto const start = std::chrono::steady_clock::now();
    ioc.run();
    writer.join();
    REQUIRE(got);
    CHECK(got->sort_key() == "k");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("a subscriber times out when nothing arrives", "[model][k2v][subscriptions]")
{
    k2v_subscriptions subs;
    boost::asio::io_context ioc;
    auto sub = subs.subscribe_item(part(), "k", ioc.get_executor());
    subs.notify(k2v_item(part(), "other")); // another item
    subs.notify(k2v_item(part("q"), "k"));  // another partition
    std::optional<k2v_item> got;
    boost::asio::co_spawn(ioc, wait_one(&sub, 20ms, &got), boost::asio::detached);
    ioc.run();
    CHECK_FALSE(got);
}

TEST_CASE("a full queue drops notifications without blocking", "[model][k2v][subscriptions]")
{
    k2v_subscriptions subs;
    boost::asio::io_context ioc;
    auto sub = subs.subscribe_partition(part(), ioc.get_executor());
    for (std::size_t n = 0; n < k2v_subscriptions::queue_capacity + 10; ++n) {
        subs.notify(k2v_item(part(), std::to_string(n)));
    }
    std::size_t received = 0;
    boost::asio::co_spawn(
        ioc,
        [](k2v_subscriptions::subscription* s, std::size_t* count) -> boost::asio::awaitable<void> {
            while (co_await s->next(std::chrono::steady_clock::now() + 10ms)) {
                ++*count;
            }
        }(&sub, &received),
        boost::asio::detached);
    ioc.run();
    CHECK(received == k2v_subscriptions::queue_capacity);
}

TEST_CASE("closing ends every wait at once", "[model][k2v][subscriptions]")
{
    k2v_subscriptions subs;
    boost::asio::io_context ioc;
    auto sub = subs.subscribe_item(part(), "k", ioc.get_executor());
    std::optional<k2v_item> got;
    bool done = false;
    boost::asio::co_spawn(
        ioc,
        [](k2v_subscriptions::subscription* s, std::optional<k2v_item>* out,
           bool* d) -> boost::asio::awaitable<void> {
            *out = co_await s->next(std::chrono::steady_clock::now() + 60s);
            *d = true;
        }(&sub, &got, &done),
        boost::asio::detached);
    ioc.poll();
    CHECK_FALSE(done);
    auto const start = std::chrono::steady_clock::now();
    subs.close();
    ioc.run();
    CHECK(done);
    CHECK_FALSE(got);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    // A subscription made after closing does not wait either.
    auto late = subs.subscribe_item(part(), "k", ioc.get_executor());
    ioc.restart();
    done = false;
    boost::asio::co_spawn(
        ioc,
        [](k2v_subscriptions::subscription* s, std::optional<k2v_item>* out,
           bool* d) -> boost::asio::awaitable<void> {
            *out = co_await s->next(std::chrono::steady_clock::now() + 60s);
            *d = true;
        }(&late, &got, &done),
        boost::asio::detached);
    ioc.run();
    CHECK(done);
}

} // namespace
