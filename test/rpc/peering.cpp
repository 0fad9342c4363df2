// Test that header file is self-contained.
#include <garage/rpc/peering.hpp>

#include <test/rpc/fixture.hpp>

#include <catch2/catch.hpp>

namespace {

namespace rpc = garage::rpc;
namespace util = garage::util;
namespace net = boost::asio;
using garage::test::rpc_cluster;

std::optional<rpc::peer_info> find(rpc::peering const& p, util::node_id const& id)
{
    for (auto const& i : p.peers()) {
        if (i.id == id) {
            return i;
        }
    }
    return std::nullopt;
}

rpc::peering_options announcing(rpc_cluster& c, rpc::network const& n)
{
    rpc::peering_options o;
    o.public_address = c.endpoint_of(n);
    return o;
}

TEST_CASE("gossip spreads addresses: a node that knows one peer ends up connected to all", "[rpc][peering]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    auto& x = c.add();
    rpc::rpc_helper helper_a(a);
    rpc::peering pa(a, &helper_a, announcing(c, a));
    rpc::peering pb(b, nullptr, announcing(c, b));
    rpc::peering px(x, nullptr, announcing(c, x));
    pb.add_peer(x.id(), c.endpoint_of(x));
    auto const b_address = rpc::node_address{b.id(), "127.0.0.1", c.endpoint_of(b).port()};
    REQUIRE(pa.add_peer(b_address));
    CHECK_FALSE(pa.add_peer(rpc::node_address{b.id(), "garage-b.example.com", 3901}));
    CHECK(pa.peer_list_hash() != pb.peer_list_hash());

    auto body = [&]() -> net::awaitable<void> {
        co_await pb.tick(); // b connects to x; they swap lists
        CHECK(b.is_connected(x.id()));
        co_await pa.tick(); // a connects to b, learns x
        CHECK(a.is_connected(b.id()));
        auto const learnt = find(pa, x.id());
        REQUIRE(learnt);
        CHECK(learnt->address == c.endpoint_of(x));
        CHECK_FALSE(a.is_connected(x.id()));
        co_await pa.tick(); // a connects to x
        CHECK(a.is_connected(x.id()));

        auto const info_b = find(pa, b.id());
        REQUIRE(info_b);
        CHECK(info_b->up);
        CHECK(info_b->last_ping.has_value());
        CHECK(info_b->last_seen_msec > 0);
        CHECK(helper_a.average_ping(b.id()).has_value());
        // b learnt a's announced address from a's list.
        auto const a_in_b = find(pb, a.id());
        REQUIRE(a_in_b);
        CHECK(a_in_b->address == c.endpoint_of(a));
        CHECK(pa.peer_list_hash() == pb.peer_list_hash());
    };
    c.run(body);
}

TEST_CASE("a node that stops answering pings is marked down, then abandoned after max retries",
          "[rpc][peering]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    rpc::peering_options o;
    o.ping_timeout = std::chrono::milliseconds(100);
    o.failed_ping_threshold = 2;
    o.retry_interval = std::chrono::milliseconds(0);
    o.max_retries = 2;
    rpc::peering pa(a, nullptr, o);
    rpc::peering pb(b, nullptr, announcing(c, b));
    pa.add_peer(b.id(), c.endpoint_of(b));

    auto body = [&]() -> net::awaitable<void> {
        co_await pa.tick();
        REQUIRE(a.is_connected(b.id()));
        auto const first = find(pa, b.id());
        REQUIRE(first);
        CHECK(first->up);

        // b's pings now hang past the timeout.
        b.add_handler(
            "garage_net/peering.rs/Ping",
            [](util::node_id, rpc::raw_message m) -> net::awaitable<util::result<rpc::raw_message>> {
                net::steady_timer t(co_await net::this_coro::executor, std::chrono::seconds(60));
                co_await t.async_wait(net::as_tuple(net::use_awaitable));
                co_return m;
            });
        co_await pa.tick();
        auto const once = find(pa, b.id());
        CHECK(once->failed_pings == 1);
        CHECK(once->up); // below the threshold
        CHECK(a.is_connected(b.id()));
        co_await pa.tick();
        auto const twice = find(pa, b.id());
        CHECK(twice->failed_pings == 2);
        CHECK_FALSE(twice->up);
        auto const gone = co_await garage::test::eventually([&] { return !a.is_connected(b.id()); });
        CHECK(gone);

        // b disappears: connection attempts fail until the peer is abandoned.
        b.stop();
        co_await pa.tick();
        co_await pa.tick();
        auto const last = find(pa, b.id());
        REQUIRE(last);
        CHECK(last->connect_failures == 2);
        CHECK(last->abandoned);
        co_await pa.tick(); // no more attempts
        CHECK(find(pa, b.id())->connect_failures == 2);
    };
    c.run(body);
}

} // namespace
