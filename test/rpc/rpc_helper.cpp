// Test that header file is self-contained.
#include <garage/rpc/rpc_helper.hpp>

#include <test/rpc/fixture.hpp>

#include <cereal/types/string.hpp>

#include <catch2/catch.hpp>

#include <map>

namespace {

namespace rpc = garage::rpc;
namespace util = garage::util;
namespace net = boost::asio;
using garage::test::eventually;
using garage::test::rpc_cluster;

struct probe {
    std::uint64_t n = 0;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(n);
    }
};
struct answer {
    std::string who;
    template <class Archive>
    void serialize(Archive& ar, std::uint32_t const /*version*/)
    {
        ar(who);
    }
};
struct probe_endpoint {
    static constexpr std::string_view path = "test/helper/probe";
    using request_type = probe;
    using response_type = answer;
};

probe const one{1};
probe const two{2};
probe const three{3};
probe const four{4};

enum class behaviour { ok, fail, hang };

/// Four nodes: a (the caller) and b in zone z1, c and d in zone z2; all connected to a.
struct four_nodes {
    rpc_cluster c;
    rpc::network* nodes[4];
    std::map<util::node_id, std::string> names;
    std::map<util::node_id, std::string> zones;
    std::map<std::string, int> calls;
    std::map<std::string, behaviour> how;
    net::steady_timer gate{c.io, net::steady_timer::time_point::max()};

    four_nodes()
    {
        char const* label[] = {"a", "b", "c", "d"};
        char const* zone[] = {"z1", "z1", "z2", "z2"};
        for (int i = 0; i < 4; ++i) {
            nodes[i] = &c.add();
            names[nodes[i]->id()] = label[i];
            zones[nodes[i]->id()] = zone[i];
            how[label[i]] = behaviour::ok;
            std::string const me = label[i];
            rpc::serve<probe_endpoint>(
                *nodes[i], [this, me](util::node_id, probe) -> net::awaitable<util::result<answer>> {
                    ++calls[me];
                    if (how[me] == behaviour::fail) {
                        co_return util::failure(util::error::io_error, me + " is failing");
                    }
                    if (how[me] == behaviour::hang) {
                        co_await gate.async_wait(net::as_tuple(net::use_awaitable));
                    }
                    co_return answer{me};
                });
        }
    }
    rpc::network& a() { return *nodes[0]; }
    util::node_id id(int i) const { return nodes[i]->id(); }
    rpc::rpc_helper::zone_function zone_function()
    {
        return [this](util::node_id const& n) -> std::optional<std::string> {
            auto it = zones.find(n);
            return it == zones.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
    }
    net::awaitable<void> connect_all()
    {
        for (int i = 1; i < 4; ++i) {
            auto const up = co_await a().connect(c.endpoint_of(*nodes[i]), id(i));
            REQUIRE(up);
        }
    }
    std::vector<std::string> who(rpc::quorum_responses<answer> const& r)
    {
        std::vector<std::string> out;
        for (auto const& [node, ans] : r) {
            CHECK(names[node] == ans.who);
            out.push_back(ans.who);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST_CASE("the request order is self, then the same zone, then the lowest ping", "[rpc][rpc_helper]")
{
    four_nodes f;
    rpc::rpc_helper h(f.a(), f.zone_function());
    auto const a = f.id(0), b = f.id(1), c = f.id(2), d = f.id(3);
    CHECK(h.request_order({d, c, b, a}) == std::vector<util::node_id>{a, b, d, c}); // ties keep their order
    h.record_ping(c, std::chrono::milliseconds(5));
    h.record_ping(d, std::chrono::milliseconds(50));
    CHECK(h.request_order({d, c, b, a}) == std::vector<util::node_id>{a, b, c, d});
    h.record_ping(d, std::chrono::milliseconds(1));
    CHECK(h.average_ping(d) == std::chrono::milliseconds(40)); // 0.8 * 50 + 0.2 * 1
    CHECK_FALSE(h.average_ping(b));

    rpc::rpc_helper no_zones(f.a());
    CHECK(no_zones.request_order({d, c, b, a}).front() == a);
}

TEST_CASE("try_call_many asks only the preferred nodes and replaces the ones that fail", "[rpc][rpc_helper]")
{
    four_nodes f;
    rpc::rpc_helper h(f.a(), f.zone_function());
    h.record_ping(f.id(2), std::chrono::milliseconds(5));
    std::vector<util::node_id> const all{f.id(3), f.id(2), f.id(1), f.id(0)};

    auto body = [&]() -> net::awaitable<void> {
        co_await f.connect_all();
        rpc::request_strategy s;
        s.quorum = 2;
        auto const r = co_await h.try_call_many<probe_endpoint>(all, one, s);
        REQUIRE(r);
        CHECK(f.who(*r) == std::vector<std::string>{"a", "b"});
        CHECK(f.calls == std::map<std::string, int>{{"a", 1}, {"b", 1}});

        f.how["b"] = behaviour::fail;
        auto const r2 = co_await h.try_call_many<probe_endpoint>(all, two, s);
        REQUIRE(r2);
        CHECK(f.who(*r2) == std::vector<std::string>{"a", "c"}); // c: same zone as nobody, but pinged
        CHECK(f.calls["d"] == 0);

        f.how["c"] = behaviour::fail;
        f.how["d"] = behaviour::fail;
        auto const r3 = co_await h.try_call_many<probe_endpoint>(all, three, s);
        REQUIRE_FALSE(r3);
        CHECK(r3.error().code == rpc::error::quorum_not_reached);
        CHECK(r3.error().is(util::condition::quorum_not_reached));
        CHECK(r3.error().message.find("b is failing") != std::string::npos);
        CHECK(r3.error().message.find("d is failing") != std::string::npos);

        s.quorum = 5;
        auto const r4 = co_await h.try_call_many<probe_endpoint>(all, four, s);
        REQUIRE_FALSE(r4);
        CHECK(r4.error().code == rpc::error::quorum_not_reached);
    };
    f.c.run(body);
}

TEST_CASE("try_call_many counts an unreachable node or a timeout as a failure", "[rpc][rpc_helper]")
{
    four_nodes f;
    rpc::rpc_helper h(f.a(), f.zone_function());

    auto body = [&]() -> net::awaitable<void> {
        // Only c is connected: b (same zone) is unreachable, d hangs past the timeout.
        auto const up = co_await f.a().connect(f.c.endpoint_of(*f.nodes[2]), f.id(2));
        REQUIRE(up);
        auto const up_d = co_await f.a().connect(f.c.endpoint_of(*f.nodes[3]), f.id(3));
        REQUIRE(up_d);
        f.how["a"] = behaviour::fail;
        f.how["d"] = behaviour::hang;
        rpc::request_strategy s;
        s.quorum = 1;
        s.timeout = std::chrono::milliseconds(200);
        h.record_ping(f.id(3), std::chrono::milliseconds(1)); // d before c
        std::vector<util::node_id> const candidates{f.id(0), f.id(1), f.id(2), f.id(3)};
        auto const r = co_await h.try_call_many<probe_endpoint>(candidates, one, s);
        REQUIRE(r);
        CHECK(f.who(*r) == std::vector<std::string>{"c"});
        CHECK(f.calls["d"] == 1);
        f.gate.cancel();
    };
    f.c.run(body);
}

TEST_CASE("try_write_many_sets returns once every set has its quorum, without waiting for the rest",
          "[rpc][rpc_helper]")
{
    four_nodes f;
    rpc::rpc_helper h(f.a(), f.zone_function());

    auto body = [&]() -> net::awaitable<void> {
        co_await f.connect_all();
        f.how["d"] = behaviour::hang;
        rpc::request_strategy s;
        s.quorum = 2;
        std::vector<std::vector<util::node_id>> sets{{f.id(0), f.id(1), f.id(2)},
                                                     {f.id(1), f.id(2), f.id(3)}};
        auto const r = co_await h.try_write_many_sets<probe_endpoint>(sets, one, s);
        REQUIRE(r);
        auto const got = f.who(*r);
        CHECK(std::count(got.begin(), got.end(), "d") == 0); // d is still hanging
        CHECK(std::count(got.begin(), got.end(), "b") == 1);
        CHECK(std::count(got.begin(), got.end(), "c") == 1);
        auto const d_started = co_await eventually([&] { return f.calls["d"] == 1; });
        CHECK(d_started);
        CHECK(f.calls["b"] == 1); // b is in both sets but called once

        // One set cannot reach its quorum: c and d fail.
        f.gate.cancel();
        f.how["c"] = behaviour::fail;
        f.how["d"] = behaviour::fail;
        auto const bad = co_await h.try_write_many_sets<probe_endpoint>(sets, two, s);
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == rpc::error::quorum_not_reached);

        std::vector<std::vector<util::node_id>> tiny{{f.id(0)}};
        auto const too_small = co_await h.try_write_many_sets<probe_endpoint>(tiny, three, s);
        REQUIRE_FALSE(too_small);
        CHECK(too_small.error().code == rpc::error::quorum_not_reached);
    };
    f.c.run(body);
}

} // namespace
