// Test that header file is self-contained.
#include <garage/layout/system.hpp>

#include <garage/layout/error.hpp>
#include <garage/rpc/endpoint.hpp>

#include <test/rpc/fixture.hpp>
#include <test/support/temp_dir.hpp>

#include <boost/asio/co_spawn.hpp>

#include <catch2/catch.hpp>

namespace {

namespace layout = garage::layout;
namespace rpc = garage::rpc;
namespace util = garage::util;
namespace test = garage::test;
namespace net = boost::asio;
using test::eventually;
using test::rpc_cluster;
using tcp = net::ip::tcp;

constexpr std::uint64_t gb = 1'000'000'000;

/// One node: transport, peering, layout manager and system (destroyed in reverse order).
struct sys_node {
    test::temp_dir dir;
    std::unique_ptr<rpc::network> own_net; // for nodes restarted outside the fixture
    rpc::network* net = nullptr;
    tcp::endpoint address;
    std::unique_ptr<rpc::peering> peering;
    std::unique_ptr<layout::layout_manager> mgr;
    std::unique_ptr<layout::system> sys;

    /// Builds the services over `net`.
    void start(std::string const& hostname, std::vector<std::string> bootstrap = {})
    {
        rpc::peering_options po;
        po.public_address = address;
        peering = std::make_unique<rpc::peering>(*net, nullptr, po);
        mgr = layout::layout_manager::open(*net, {dir.path(), 3}).value();
        layout::system_options so;
        so.metadata_dir = dir.path();
        so.data_dirs = {dir.path()};
        so.hostname = hostname;
        so.bootstrap_peers = std::move(bootstrap);
        so.status_interval = std::chrono::milliseconds(20);
        sys = layout::system::open(*net, *peering, *mgr, so).value();
    }

    /// `<hex id>@<host>:<port>` of this node.
    std::string spec(std::string const& host = "127.0.0.1") const
    {
        return net->id().to_hex() + "@" + host + ":" + std::to_string(address.port());
    }
};

std::vector<std::unique_ptr<sys_node>> make_nodes(rpc_cluster& c, std::size_t n)
{
    std::vector<std::unique_ptr<sys_node>> out;
    for (std::size_t i = 0; i < n; ++i) {
        auto x = std::make_unique<sys_node>();
        x->net = &c.add();
        x->address = c.endpoint_of(*x->net);
        x->start("node-" + std::to_string(i));
        out.push_back(std::move(x));
    }
    return out;
}

/// Connects every pair, then lets peering ping everyone (twice: learn, then ping).
net::awaitable<void> mesh(std::vector<std::unique_ptr<sys_node>> const& nodes, std::size_t count)
{
    for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t j = i + 1; j < count; ++j) {
            auto r = co_await nodes[i]->net->connect(nodes[j]->address, nodes[j]->net->id());
            REQUIRE(r);
            // The accepting side registers the link a moment after the connecting side.
            REQUIRE(co_await eventually([&] { return nodes[j]->net->is_connected(nodes[i]->net->id()); }));
        }
    }
    for (int round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < count; ++i) {
            co_await nodes[i]->peering->tick();
        }
    }
}

/// Stages and applies version 1 on node 0 (nodes 0..2 in three zones) and waits for `count` nodes to have it.
net::awaitable<void> apply_v1(std::vector<std::unique_ptr<sys_node>> const& nodes, std::size_t count)
{
    auto& m = *nodes[0]->mgr;
    for (std::size_t i = 0; i < 3; ++i) {
        auto const id = nodes[i]->net->id();
        layout::assign_options o;
        o.zone = "dc" + std::to_string(i + 1);
        o.capacity = gb;
        REQUIRE(m.stage_assign(std::span(&id, 1), o));
    }
    REQUIRE(m.apply(1));
    bool const all = co_await eventually([&] {
        for (std::size_t i = 0; i < count; ++i) {
            if (nodes[i]->mgr->snapshot()->current().version != 1) {
                return false;
            }
        }
        return true;
    });
    REQUIRE(all);
}

std::optional<layout::known_node> find(layout::system const& s, util::node_id const& id)
{
    for (auto const& k : s.known_nodes()) {
        if (k.id == id) {
            return k;
        }
    }
    return std::nullopt;
}

TEST_CASE("the status exchange shows every node's hostname and layout digest", "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(nodes, 3);
        co_await apply_v1(nodes, 3);
        for (auto const& n : nodes) {
            co_await n->sys->advertise_status();
        }
        auto& s0 = *nodes[0]->sys;
        auto const local = s0.local_status();
        CHECK(local.hostname == "node-0");
        CHECK(local.replication_factor == 3);
        CHECK(local.digest == nodes[0]->mgr->snapshot()->digest());
        REQUIRE(local.metadata_disk);
        CHECK(local.metadata_disk->total > 0);
        CHECK(local.metadata_disk->available <= local.metadata_disk->total);
        REQUIRE(local.data_disk);
        CHECK(local.data_disk->total == local.metadata_disk->total); // one file system, counted once

        bool const seen = co_await eventually([&] {
            for (std::size_t i = 1; i < 3; ++i) {
                auto k = find(s0, nodes[i]->net->id());
                if (!k || !k->status) {
                    return false;
                }
            }
            return true;
        });
        REQUIRE(seen);
        auto const known = s0.known_nodes();
        REQUIRE(known.size() == 3);
        CHECK(known[0].is_self);
        CHECK(known[0].id == nodes[0]->net->id());
        for (std::size_t i = 1; i < 3; ++i) {
            auto const k = find(s0, nodes[i]->net->id());
            REQUIRE(k);
            CHECK_FALSE(k->is_self);
            CHECK(k->up);
            CHECK(k->address == nodes[i]->address);
            REQUIRE(k->last_seen_secs_ago);
            CHECK(k->status->hostname == "node-" + std::to_string(i));
            CHECK(k->status->digest == nodes[i]->mgr->snapshot()->digest());
        }

        // `garage status` asks a node over RPC.
        layout::empty_message const none;
        auto const remote =
            co_await rpc::call<layout::get_known_nodes_endpoint>(*nodes[1]->net, nodes[0]->net->id(), none);
        REQUIRE(remote);
        REQUIRE(remote->nodes.size() == 3);
        CHECK(remote->nodes[0].is_self);
        CHECK(remote->nodes[0].id == nodes[0]->net->id());
        REQUIRE(remote->nodes[0].status);
        CHECK(remote->nodes[0].status->hostname == "node-0");
        for (std::size_t i = 1; i < 3; ++i) {
            auto const it = std::find_if(remote->nodes.begin(), remote->nodes.end(),
                                         [&](auto const& k) { return k.id == nodes[i]->net->id(); });
            REQUIRE(it != remote->nodes.end());
            CHECK(it->address == nodes[i]->address);
            CHECK(it->up);
            REQUIRE(it->status);
            CHECK(it->status->hostname == "node-" + std::to_string(i));
        }
    };
    c.run(body);
}

TEST_CASE("a node joining late catches up through the status exchange", "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 4);
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(nodes, 3);
        co_await apply_v1(nodes, 3);
        auto& late = *nodes[3];
        CHECK(late.mgr->snapshot()->current().version == 0);
        // `garage node connect` with a DNS name.
        auto id = co_await late.sys->connect(nodes[0]->spec("localhost"));
        REQUIRE(id);
        CHECK(*id == nodes[0]->net->id());
        CHECK(late.net->is_connected(nodes[0]->net->id()));
        // Node 0's status carries a newer digest: the late node pulls the layout.
        // (the accepting side registers the link a moment after the connecting side)
        CHECK(co_await eventually([&] { return nodes[0]->net->is_connected(late.net->id()); }));
        co_await nodes[0]->sys->advertise_status();
        auto const k = find(*late.sys, nodes[0]->net->id());
        REQUIRE(k);
        REQUIRE(k->status);
        CHECK(k->status->digest.current_version == 1);
        CHECK(co_await eventually([&] { return late.mgr->snapshot()->current().version == 1; }));
        CHECK(late.mgr->snapshot()->current() == nodes[0]->mgr->snapshot()->current());
    };
    c.run(body);
}

TEST_CASE("health goes healthy, then degraded with one node down, then unavailable with two",
          "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(nodes, 3);
        co_await apply_v1(nodes, 3);
        auto& s0 = *nodes[0]->sys;
        auto h = s0.health();
        CHECK(h.status == layout::health_status::healthy);
        CHECK(h.known_nodes == 3);
        CHECK(h.connected_nodes == 3);
        CHECK(h.storage_nodes == 3);
        CHECK(h.storage_nodes_ok == 3);
        CHECK(h.partitions == 256);
        CHECK(h.partitions_quorum == 256);
        CHECK(h.partitions_all_ok == 256);

        nodes[2]->net->stop();
        CHECK(co_await eventually([&] { return !nodes[0]->net->is_connected(nodes[2]->net->id()); }));
        co_await nodes[0]->peering->tick();
        h = s0.health();
        CHECK(h.status == layout::health_status::degraded);
        CHECK(to_string(h.status) == "degraded");
        CHECK(h.connected_nodes == 2);
        CHECK(h.storage_nodes_ok == 2);
        CHECK(h.partitions_quorum == 256);
        CHECK(h.partitions_all_ok == 0);

        nodes[1]->net->stop();
        CHECK(co_await eventually([&] { return !nodes[0]->net->is_connected(nodes[1]->net->id()); }));
        co_await nodes[0]->peering->tick();
        h = s0.health();
        CHECK(h.status == layout::health_status::unavailable);
        CHECK(h.connected_nodes == 1);
        CHECK(h.known_nodes == 3);
        CHECK(h.partitions_quorum == 0);
    };
    c.run(body);
}

TEST_CASE("the peer list is persisted and reused after a restart; bootstrap peers resolve DNS names",
          "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 2); // B and C
    auto a = std::make_unique<sys_node>();
    auto const key = rpc::node_key::load_or_create(a->dir.path()).value();
    a->own_net = std::make_unique<rpc::network>(c.io.get_executor(), key, test::test_secret());
    a->net = a->own_net.get();
    a->address = a->net->listen(tcp::endpoint(net::ip::address_v4::loopback(), 0)).value();
    a->start("node-a", {nodes[0]->spec("localhost")});
    REQUIRE(a->sys->bootstrap_peers().size() == 1);
    CHECK(a->sys->bootstrap_peers()[0].host == "localhost");

    auto body = [&]() -> net::awaitable<void> {
        // Not configured: discovery connects to the bootstrap peer (a DNS name).
        CHECK(co_await a->sys->discover());
        CHECK(a->net->is_connected(nodes[0]->net->id()));
        REQUIRE(co_await a->sys->connect(nodes[1]->spec()));
        co_await a->peering->tick(); // pings: both up
        REQUIRE(a->sys->save_peer_list());
        CHECK(std::filesystem::exists(a->dir.path() / "peer_list"));

        // Restart A with the same key and no bootstrap peer: the saved list brings B and C back.
        a->sys.reset();
        a->mgr.reset();
        a->peering.reset();
        a->own_net->stop();
        auto again = std::make_unique<rpc::network>(c.io.get_executor(), key, test::test_secret());
        a->net = again.get();
        a->address = a->net->listen(tcp::endpoint(net::ip::address_v4::loopback(), 0)).value();
        a->start("node-a");
        auto known = a->peering->peers();
        CHECK(known.size() == 2);
        CHECK_FALSE(a->net->is_connected(nodes[0]->net->id()));
        CHECK(co_await a->sys->discover());
        CHECK(a->net->is_connected(nodes[0]->net->id()));
        CHECK(a->net->is_connected(nodes[1]->net->id()));
        a->sys.reset();
        a->mgr.reset();
        a->peering.reset();
        again->stop();
        a->own_net = std::move(again);
    };
    c.run(body);
}

TEST_CASE("bad node specifications and statuses of another cluster are clear errors", "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 2);
    rpc::peering p(*nodes[0]->net, nullptr);
    layout::system_options so;
    so.metadata_dir = nodes[0]->dir.path();
    so.bootstrap_peers = {"not-a-node-id@10.0.0.1:3901"};
    // A second system on the same transport, only to check the refusal.
    auto bad = layout::system::open(*nodes[0]->net, p, *nodes[0]->mgr, so);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("bootstrap_peers"));
    CHECK_THAT(bad.error().message, Catch::Contains("not-a-node-id@10.0.0.1:3901"));
    so.bootstrap_peers = {nodes[1]->net->id().to_hex() + "@10.0.0.1"};
    bad = layout::system::open(*nodes[0]->net, p, *nodes[0]->mgr, so);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::error::config_invalid_value);

    auto body = [&]() -> net::awaitable<void> {
        auto& s = *nodes[0]->sys;
        auto r = co_await s.connect("nonsense");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("Unable to parse node specification"));
        // A port where nothing listens.
        tcp::acceptor probe(c.io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        auto const closed = probe.local_endpoint().port();
        probe.close();
        r = co_await s.connect(nodes[1]->net->id().to_hex() + "@127.0.0.1:" + std::to_string(closed));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("Could not connect"));

        // The Connect endpoint, as `garage node connect` uses it.
        REQUIRE(co_await nodes[1]->net->connect(nodes[0]->address, nodes[0]->net->id()));
        layout::connect_request const req{"garbage"};
        auto via = co_await rpc::call<layout::connect_endpoint>(*nodes[1]->net, nodes[0]->net->id(), req);
        REQUIRE_FALSE(via);
        CHECK_THAT(via.error().message, Catch::Contains("Unable to parse"));

        // A status of another replication factor is refused and not recorded.
        auto other = nodes[1]->sys->local_status();
        other.replication_factor = 2;
        auto st =
            co_await rpc::call<layout::advertise_status_endpoint>(*nodes[1]->net, nodes[0]->net->id(), other);
        REQUIRE_FALSE(st);
        CHECK_THAT(st.error().message, Catch::Contains("replication factor 2"));
        auto const k = find(s, nodes[1]->net->id());
        CHECK((!k || !k->status));
    };
    c.run(body);
}

TEST_CASE("run exchanges statuses periodically until stopped", "[layout][system]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 2);
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(nodes, 2);
        std::atomic<bool> finished = false;
        net::co_spawn(c.io, nodes[0]->sys->run(), [&](std::exception_ptr) { finished = true; });
        CHECK(co_await eventually([&] {
            auto k = find(*nodes[1]->sys, nodes[0]->net->id());
            return k && k->status && k->status->hostname == "node-0";
        }));
        nodes[0]->sys->stop();
        CHECK(co_await eventually([&] { return finished.load(); }));
    };
    c.run(body);
}

} // namespace
