// Test that header file is self-contained.
#include <garage/layout/manager.hpp>

#include <garage/layout/error.hpp>
#include <garage/layout/messages.hpp>
#include <garage/rpc/endpoint.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/util/persister.hpp>

#include <test/rpc/fixture.hpp>
#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

namespace {

namespace layout = garage::layout;
namespace rpc = garage::rpc;
namespace util = garage::util;
namespace test = garage::test;
namespace net = boost::asio;
using test::eventually;
using test::rpc_cluster;

constexpr std::uint64_t gb = 1'000'000'000;

/// One node of the in-process cluster: its transport, its metadata dir, its manager.
struct node {
    rpc::network* net = nullptr;
    test::temp_dir dir;
    std::unique_ptr<layout::layout_manager> mgr;
};

std::vector<std::unique_ptr<node>> make_nodes(rpc_cluster& c, std::size_t n, std::size_t rf = 3)
{
    std::vector<std::unique_ptr<node>> out;
    for (std::size_t i = 0; i < n; ++i) {
        auto x = std::make_unique<node>();
        x->net = &c.add();
        x->mgr = layout::layout_manager::open(*x->net, {x->dir.path(), rf}).value();
        out.push_back(std::move(x));
    }
    return out;
}

/// Connects every pair.
net::awaitable<void> mesh(rpc_cluster& c, std::vector<std::unique_ptr<node>> const& nodes)
{
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (std::size_t j = i + 1; j < nodes.size(); ++j) {
            auto r = co_await nodes[i]->net->connect(c.endpoint_of(*nodes[j]->net), nodes[j]->net->id());
            REQUIRE(r);
            // The accepting side registers the link a moment after the connecting side.
            REQUIRE(co_await eventually([&] { return nodes[j]->net->is_connected(nodes[i]->net->id()); }));
        }
    }
}

/// Stages nodes[i] in zone dc<i+1> with 1 GB on `on`.
void stage_all(layout::layout_manager& on, std::vector<std::unique_ptr<node>> const& nodes, std::size_t count)
{
    for (std::size_t i = 0; i < count; ++i) {
        auto const id = nodes[i]->net->id();
        layout::assign_options o;
        o.zone = "dc" + std::to_string(i + 1);
        o.capacity = gb;
        REQUIRE(on.stage_assign(std::span(&id, 1), o));
    }
}

/// A message that is not a layout history.
struct garbage {
    std::string bytes;
    template <class A>
    void serialize(A& ar)
    {
        ar(bytes);
    }
};

/// The layout advertisement path, sending garbage.
struct garbage_endpoint {
    static constexpr std::string_view path = layout::advertise_layout_endpoint::path;
    using request_type = garbage;
    using response_type = layout::empty_message;
};

std::string file_bytes(std::filesystem::path const& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

TEST_CASE("a fresh node starts with an empty history of the configured replication factor",
          "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 1, 3);
    auto const s = nodes[0]->mgr->snapshot();
    CHECK(s->current().version == 0);
    CHECK(s->current().replication_factor == 3);
    CHECK_FALSE(s->is_check_ok());
    CHECK(nodes[0]->mgr->local_node() == nodes[0]->net->id());
    CHECK(nodes[0]->mgr->replication_factor() == 3);
    CHECK_FALSE(std::filesystem::exists(nodes[0]->dir.path() / "cluster_layout"));

    // Staging persists; a manager of another replication factor refuses the file.
    stage_all(*nodes[0]->mgr, nodes, 1);
    CHECK(std::filesystem::exists(nodes[0]->dir.path() / "cluster_layout"));
    rpc::network other(c.io.get_executor(), *rpc::node_key::generate(), test::test_secret());
    auto wrong = layout::layout_manager::open(other, {nodes[0]->dir.path(), 2});
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == layout::error::invalid_parameter);
    CHECK_THAT(wrong.error().message, Catch::Contains("replication factor 3"));
    CHECK_FALSE(layout::layout_manager::open(other, {nodes[0]->dir.path(), 0}));
}

TEST_CASE("a layout staged and applied on one node reaches every node and is persisted", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    std::atomic<int> notified = 0;
    auto const sub = nodes[2]->mgr->subscribe([&](auto const& s) {
        if (s->current().version == 1) {
            ++notified;
        }
    });
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(c, nodes);
        auto& a = *nodes[0]->mgr;
        stage_all(a, nodes, 3);
        CHECK(a.snapshot()->history().has_staged_changes());
        auto report = a.apply(1);
        REQUIRE(report);
        CHECK_FALSE(report->empty());
        CHECK(a.snapshot()->current().version == 1);
        CHECK(a.snapshot()->is_check_ok());
        bool const reached = co_await eventually([&] {
            for (auto const& n : nodes) {
                if (n->mgr->snapshot()->current().version != 1) {
                    return false;
                }
            }
            return true;
        });
        CHECK(reached);
        for (auto const& n : nodes) {
            CHECK(n->mgr->snapshot()->current() == a.snapshot()->current());
            CHECK(n->mgr->zone_of(nodes[1]->net->id()) == std::optional<std::string>("dc2"));
        }
        CHECK(notified.load() >= 1);
    };
    c.run(body);
    nodes[2]->mgr->unsubscribe(sub);

    // Reopened from disk (with another transport), every node has version 1.
    for (auto const& n : nodes) {
        auto const expected = n->mgr->snapshot()->current();
        n->mgr.reset();
        rpc::network again(c.io.get_executor(), *rpc::node_key::generate(), test::test_secret());
        auto m = layout::layout_manager::open(again, {n->dir.path(), 3});
        REQUIRE(m);
        CHECK((*m)->snapshot()->current() == expected);
    }
}

TEST_CASE("a stale or missing apply version is refused and changes nothing", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto& a = *nodes[0]->mgr;
    stage_all(a, nodes, 3);
    auto const before = file_bytes(nodes[0]->dir.path() / "cluster_layout");
    auto r = a.apply(std::nullopt);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::missing_version);
    r = a.apply(2);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::stale_version);
    CHECK(file_bytes(nodes[0]->dir.path() / "cluster_layout") == before);
    REQUIRE(a.apply(1));
    r = a.apply(1); // the same version twice
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::stale_version);
    CHECK_THAT(r.error().message, Catch::Contains("expected 2"));
    CHECK(a.snapshot()->current().version == 1);

    // Revert drops staged changes.
    auto const id = nodes[0]->net->id();
    layout::assign_options o;
    o.capacity = 2 * gb;
    REQUIRE(a.stage_assign(std::span(&id, 1), o));
    CHECK(a.snapshot()->history().has_staged_changes());
    REQUIRE(a.revert());
    CHECK_FALSE(a.snapshot()->history().has_staged_changes());
    layout::assign_options bad;
    bad.capacity = 0;
    CHECK_FALSE(a.stage_assign(std::span(&id, 1), bad));
}

TEST_CASE("two nodes applying conflicting versions are reported and neither is overwritten",
          "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto& a = *nodes[0]->mgr;
    auto& b = *nodes[1]->mgr;
    // Not connected yet: each applies its own version 1.
    stage_all(a, nodes, 3);
    REQUIRE(a.apply(1));
    stage_all(b, nodes, 3);
    auto const id = nodes[2]->net->id();
    layout::assign_options o;
    o.capacity = 3 * gb;
    REQUIRE(b.stage_assign(std::span(&id, 1), o));
    REQUIRE(b.apply(1));
    REQUIRE_FALSE(a.snapshot()->current() == b.snapshot()->current());
    auto const b_file = file_bytes(nodes[1]->dir.path() / "cluster_layout");
    auto const b_current = b.snapshot()->current();

    auto body = [&]() -> net::awaitable<void> {
        REQUIRE(co_await nodes[0]->net->connect(c.endpoint_of(*nodes[1]->net), nodes[1]->net->id()));
        auto r = co_await a.advertise_layout_to(nodes[1]->net->id());
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("Inconsistent layout histories"));
        auto p = co_await b.pull_layout(nodes[0]->net->id());
        REQUIRE_FALSE(p);
        CHECK(p.error().code == layout::error::inconsistent_history);
    };
    c.run(body);
    auto const conflicts = b.conflicts();
    REQUIRE(conflicts.size() == 2);
    CHECK(conflicts[0].peer == nodes[0]->net->id());
    CHECK(conflicts[0].versions == std::vector<std::uint64_t>{1});
    CHECK(b.snapshot()->current() == b_current);
    CHECK(file_bytes(nodes[1]->dir.path() / "cluster_layout") == b_file);
}

TEST_CASE("a node joining late catches up from a peer whose digest is newer", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 4);
    auto body = [&]() -> net::awaitable<void> {
        auto& a = *nodes[0]->mgr;
        stage_all(a, nodes, 3);
        REQUIRE(a.apply(1));
        // The fourth node was not connected when version 1 was applied.
        auto& late = *nodes[3];
        CHECK(late.mgr->snapshot()->current().version == 0);
        REQUIRE(co_await late.net->connect(c.endpoint_of(*nodes[0]->net), nodes[0]->net->id()));
        late.mgr->on_peer_digest(nodes[0]->net->id(), a.snapshot()->digest());
        CHECK(co_await eventually([&] { return late.mgr->snapshot()->current().version == 1; }));
        CHECK(late.mgr->snapshot()->current() == a.snapshot()->current());
        // Once equal, a digest changes nothing.
        CHECK(late.mgr->snapshot()->digest().current_version == a.snapshot()->digest().current_version);
    };
    c.run(body);
}

TEST_CASE("trackers advance on every node until the old version retires", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 4);
    auto body = [&]() -> net::awaitable<void> {
        co_await mesh(c, nodes);
        auto& a = *nodes[0]->mgr;
        stage_all(a, nodes, 3);
        REQUIRE(a.apply(1));
        CHECK(co_await eventually([&] {
            for (auto const& n : nodes) {
                if (n->mgr->snapshot()->current().version != 1) {
                    return false;
                }
            }
            return true;
        }));
        // Version 2 adds the fourth node: two live versions.
        auto const id = nodes[3]->net->id();
        layout::assign_options o;
        o.zone = "dc4";
        o.capacity = gb;
        REQUIRE(a.stage_assign(std::span(&id, 1), o));
        {
            // A write in flight on version 1 holds back this node's ack of version 2.
            auto guard = a.lock_write();
            CHECK(guard.version() == 1);
            REQUIRE(a.apply(2));
            CHECK(a.snapshot()->history().trackers.ack.get(nodes[0]->net->id(), 0) == 1);
        }
        CHECK(a.snapshot()->history().trackers.ack.get(nodes[0]->net->id(), 0) == 2);
        CHECK(co_await eventually([&] {
            for (auto const& n : nodes) {
                if (n->mgr->snapshot()->versions().size() != 2) {
                    return false;
                }
            }
            return true;
        }));
        for (auto const& n : nodes) {
            CHECK(n->mgr->snapshot()->sync_map_min() == 1); // reads stay on version 1
            n->mgr->register_table("object");
            n->mgr->register_table("version");
        }
        // Every node syncs its tables up to version 2.
        for (auto const& n : nodes) {
            n->mgr->sync_table_until("object", 2);
        }
        CHECK(nodes[0]->mgr->snapshot()->history().trackers.sync.get(nodes[0]->net->id(), 0) == 1);
        for (auto const& n : nodes) {
            n->mgr->sync_table_until("version", 2);
        }
        bool const retired = co_await eventually([&] {
            for (auto const& n : nodes) {
                auto const s = n->mgr->snapshot();
                if (s->versions().size() != 1 || s->current().version != 2) {
                    return false;
                }
            }
            return true;
        });
        CHECK(retired);
        for (auto const& n : nodes) {
            auto const s = n->mgr->snapshot();
            CHECK(s->history().old_versions.size() == 1);
            CHECK(s->sync_map_min() == 2);
            for (auto const& m : nodes) {
                CHECK(s->history().trackers.sync.get(m->net->id(), 0) == 2);
            }
        }
    };
    c.run(body);
}

TEST_CASE("a corrupt or inconsistent advertised layout is refused and nothing persisted changes",
          "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto& a = *nodes[0]->mgr;
    stage_all(a, nodes, 3);
    REQUIRE(a.apply(1));
    auto const path = nodes[0]->dir.path() / "cluster_layout";
    auto const before = file_bytes(path);
    auto const current = a.snapshot()->current();
    auto& sender = *nodes[1]->net;

    auto body = [&]() -> net::awaitable<void> {
        REQUIRE(co_await sender.connect(c.endpoint_of(*nodes[0]->net), nodes[0]->net->id()));
        auto const to = nodes[0]->net->id();
        rpc::call_options const opts{rpc::priority::high, std::chrono::milliseconds(5000)};

        // Bytes that are not a history.
        garbage const junk{"not a layout"}; // named: g++ 12 destroys braced temporaries in co_await twice
        auto r = co_await rpc::call<garbage_endpoint>(sender, to, junk, opts);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::decode_error);

        // A history of another replication factor.
        auto other = layout::layout_history::make(2);
        r = co_await rpc::call<layout::advertise_layout_endpoint>(sender, to, other, opts);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("another cluster"));

        // Version 2 whose ring points past the node list.
        auto bad = a.snapshot()->history();
        auto v2 = bad.current();
        v2.version = 2;
        v2.ring[0] = 200;
        bad.versions.push_back(v2);
        r = co_await rpc::call<layout::advertise_layout_endpoint>(sender, to, bad, opts);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("refused layout version 2"));

        // Live versions that skip a number.
        auto gap = a.snapshot()->history();
        auto v3 = gap.current();
        v3.version = 3;
        gap.versions.push_back(v3);
        r = co_await rpc::call<layout::advertise_layout_endpoint>(sender, to, gap, opts);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("not consecutive"));

        // An invalid version newer than ours (an empty layout numbered 5).
        auto empty = layout::layout_history::make(3);
        empty.versions.back().version = 5;
        r = co_await rpc::call<layout::advertise_layout_endpoint>(sender, to, empty, opts);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("refused layout version 5"));

        // An older layout that is not valid (a fresh node's) is ignored, not an error.
        auto fresh = layout::layout_history::make(3);
        r = co_await rpc::call<layout::advertise_layout_endpoint>(sender, to, fresh, opts);
        CHECK(r);
    };
    c.run(body);
    CHECK(a.snapshot()->current() == current);
    CHECK(file_bytes(path) == before);
    CHECK(a.conflicts().empty());
}

} // namespace

namespace {

TEST_CASE("skip-dead-nodes raises the trackers of a node that never acknowledges", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto& a = *nodes[0]->mgr;
    stage_all(a, nodes, 3);
    REQUIRE(a.apply(1));
    auto r = a.skip_dead_nodes(
        1, [](auto const&) { return true; }, false);
    REQUIRE_FALSE(r); // only one live version
    CHECK(r.error().code == layout::error::invalid_parameter);

    util::node_id ghost; // a node that never runs
    ghost[0] = 0xEE;
    layout::assign_options o;
    o.zone = "dc4";
    o.capacity = gb;
    REQUIRE(a.stage_assign(std::span(&ghost, 1), o));
    REQUIRE(a.apply(2));
    REQUIRE(a.snapshot()->versions().size() == 2);
    CHECK(a.snapshot()->ack_map_min() == 1);
    r = a.skip_dead_nodes(
        3, [](auto const&) { return true; }, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::invalid_parameter);
    auto const alive = [&](util::node_id const& id) { return id != ghost; };
    r = a.skip_dead_nodes(2, alive, false);
    REQUIRE(r);
    REQUIRE(r->size() >= 1);
    CHECK_THAT(r->front(), Catch::Contains("ACK"));
    CHECK(a.snapshot()->history().trackers.ack.get(ghost, 0) == 2);
    // Persisted.
    auto const saved =
        util::persister<layout::layout_history>(nodes[0]->dir.path() / "cluster_layout").load().value();
    REQUIRE(saved);
    CHECK(saved->trackers.ack.get(ghost, 0) == 2);
    r = a.skip_dead_nodes(2, alive, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::nothing_to_do);
}

TEST_CASE("the manager orders read nodes as the RPC helper does once given one", "[layout][manager]")
{
    rpc_cluster c;
    auto nodes = make_nodes(c, 3);
    auto& a = *nodes[0]->mgr;
    stage_all(a, nodes, 3);
    REQUIRE(a.apply(1));
    auto const n0 = nodes[0]->net->id();
    auto const n1 = nodes[1]->net->id();
    auto const n2 = nodes[2]->net->id();
    // Without a helper: self first, the others in their order.
    CHECK(a.preferred_order({n2, n1, n0}) == std::vector<util::node_id>{n0, n2, n1});
    rpc::rpc_helper helper(*nodes[0]->net, [&](util::node_id const& id) { return a.zone_of(id); });
    a.set_rpc_helper(&helper);
    helper.record_ping(n1, std::chrono::milliseconds(3));
    helper.record_ping(n2, std::chrono::milliseconds(30));
    CHECK(a.preferred_order({n2, n1, n0}) == std::vector<util::node_id>{n0, n1, n2});
    a.set_rpc_helper(nullptr);
    CHECK(a.zone_of(n2) == std::optional<std::string>("dc3"));
    CHECK_FALSE(a.zone_of(util::node_id{}));
}

} // namespace
