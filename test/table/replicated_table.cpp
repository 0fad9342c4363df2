// Test that header file is self-contained.
#include <garage/table/replicated_table.hpp>

#include <test/table/cluster_fixture.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::eventually;
using test::kv;
using test::kv_entry;
using test::kv_schema;
using test::table_cluster;
namespace net = boost::asio;

std::string short_id(util::node_id const& n)
{
    return n.to_hex().substr(0, 16);
}

/** Sends node 1 of `c`, from node 0, an update of a valid entry ("p", `sk`) and a garbage item,
    and checks that it is refused as undecodable. @return The request sent. */
template <class Cluster>
net::awaitable<table::update_request> refuse_garbage_update(Cluster& c, std::string const& sk)
{
    table::update_request bad;
    bad.entries.push_back(util::encode(kv("p", sk, 1, "valid")));
    bad.entries.push_back("\x01garbage");
    auto r =
        co_await rpc::call<table::table_endpoint<kv_schema>>(*c[0].net, c[1].id(), table::table_request(bad));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("does not decode"));
    co_return bad;
}

static_assert(table::table_endpoint<kv_schema>::path == "garage_table/table.rs/Rpc:kv");
static_assert(table::sync_endpoint<kv_schema>::path == "garage_table/sync.rs/Rpc:kv");
static_assert(table::gc_endpoint<kv_schema>::path == "garage_table/gc.rs/Rpc:kv");
static_assert(rpc::endpoint<table::table_endpoint<kv_schema>>);
struct local_only_filter {
    std::string prefix;
};
static_assert(table::wire_filter<test::value_prefix>);
static_assert(!table::wire_filter<local_only_filter>, "a filter without serialize cannot travel");

TEST_CASE("a quorum write is read back from another node", "[table][replicated_table]")
{
    table_cluster<storage::lmdb_backend> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        auto w = co_await c[0].table->insert(kv("p", "a", 1, "one"));
        REQUIRE(w);
        CHECK(c.copies("p", "a", "one") >= 2); // a write quorum has it when the write returns
        auto got = co_await c[1].table->get("p", "a");
        REQUIRE(got);
        REQUIRE(got->has_value());
        CHECK((*got)->value == "one");
        auto missing = co_await c[2].table->get("p", "nothing");
        REQUIRE(missing);
        CHECK_FALSE(missing->has_value());
        CHECK(co_await eventually([&] { return c.copies("p", "a", "one") == 3; }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("a write with one node of three down succeeds and the node catches up through sync",
          "[table][replicated_table][syncer]")
{
    table_cluster<storage::lmdb_backend> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        co_await c.isolate(2);
        for (int i = 0; i < 20; ++i) {
            auto w = co_await c[0].table->insert(kv("p", "k" + std::to_string(i), 1, "v"));
            REQUIRE(w);
        }
        CHECK(c[2].local->len().value() == 0);
        auto got = co_await c[1].table->get("p", "k7");
        REQUIRE(got);
        REQUIRE(got->has_value());

        // While it is down, a pass cannot reach it; once back, one pass from a node that has
        // the entries brings it up to date.
        auto partial = co_await c[0].sync->sync_pass();
        REQUIRE(partial);
        CHECK(partial->complete()); // two of three (a write quorum) took part
        co_await c.rejoin(2);
        c.update_merkle(); // node 1's tree is up to date (its Merkle worker is not running here)
        auto pass = co_await c[0].sync->sync_pass();
        REQUIRE(pass);
        CHECK(pass->complete());
        CHECK(pass->items_pushed == 20);
        CHECK(c[2].local->len().value() == 20);
        c.update_merkle();
        CHECK(c[2].local->merkle().root_hash(0).value() == c[0].local->merkle().root_hash(0).value());
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("a write with two of three nodes down fails with a quorum error naming them",
          "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        co_await c.isolate(1);
        co_await c.isolate(2);
        auto w = co_await c[0].table->insert(kv("p", "a", 1, "v"));
        REQUIRE_FALSE(w);
        CHECK(w.error().code == rpc::error::quorum_not_reached);
        CHECK_THAT(w.error().message, Catch::Contains(short_id(c[1].id())));
        CHECK_THAT(w.error().message, Catch::Contains(short_id(c[2].id())));
        CHECK_THAT(w.error().message, Catch::Contains("kv"));
        // A read needs two answers too.
        auto r = co_await c[0].table->get("p", "a");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::quorum_not_reached);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("read repair fixes a stale replica", "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 1, "old")));
        REQUIRE(co_await eventually([&] { return c.copies("p", "a", "old") == 3; }));
        // A newer version reaches nodes 0 and 1 only (node 2 missed it).
        REQUIRE(c[0].local->insert(kv("p", "a", 2, "new")));
        REQUIRE(c[1].local->insert(kv("p", "a", 2, "new")));
        // Node 2 reads itself and node 0: the answers differ, the merge is the newer one.
        auto got = co_await c[2].table->get("p", "a");
        REQUIRE(got);
        REQUIRE(got->has_value());
        CHECK((*got)->value == "new");
        CHECK(co_await eventually([&] { return c.copies("p", "a", "new") == 3; }));
        CHECK(c[2].table->stats().read_repairs == 1);
        // Equal answers repair nothing.
        REQUIRE(co_await c[2].table->get("p", "a"));
        CHECK(c[2].table->stats().read_repairs == 1);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("concurrent writes to one key from two nodes converge", "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        int done = 0;
        bool ok = true;
        auto write = [](table_cluster<>::replicated_type* t, kv_entry e, int* done,
                        bool* ok) -> net::awaitable<void> {
            for (int i = 0; i < 10; ++i) {
                e.ts = static_cast<std::uint64_t>(i);
                *ok = *ok && (co_await t->insert(e)).has_value();
            }
            ++*done;
        };
        auto ex = co_await net::this_coro::executor;
        net::co_spawn(ex, write(c[0].table.get(), kv("p", "x", 0, "from-0"), &done, &ok), net::detached);
        net::co_spawn(ex, write(c[1].table.get(), kv("p", "x", 0, "from-1"), &done, &ok), net::detached);
        REQUIRE(co_await eventually([&] { return done == 2; }));
        CHECK(ok);
        for (std::size_t i = 0; i < 3; ++i) {
            auto got = co_await c[i].table->get("p", "x");
            REQUIRE(got);
            REQUIRE(got->has_value());
            CHECK((*got)->ts == 9);
            CHECK((*got)->value == "from-1"); // equal timestamps: the larger value wins everywhere
        }
        CHECK(co_await eventually([&] { return c.copies("p", "x", "from-1") == 3; }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("range reads across nodes honour start, limit, direction and filter", "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        std::vector<kv_entry> batch;
        for (int i = 0; i < 20; ++i) {
            char key[8];
            std::snprintf(key, sizeof key, "k%02d", i);
            batch.push_back(kv("p", key, 1, (i % 2 == 0 ? "even-" : "odd-") + std::to_string(i)));
        }
        batch.push_back(kv("other", "k00", 1, "other partition"));
        REQUIRE(co_await c[0].table->insert_many(batch));
        REQUIRE(co_await eventually([&] { return c[2].local->len().value() == 21; }));

        auto first = co_await c[1].table->get_range("p", std::nullopt, std::nullopt, 5);
        REQUIRE(first);
        REQUIRE(first->size() == 5);
        CHECK(first->front().sk == "k00");
        CHECK(first->back().sk == "k04");

        auto from = co_await c[1].table->get_range("p", std::string("k15"), std::nullopt, 100);
        REQUIRE(from);
        REQUIRE(from->size() == 5);
        CHECK(from->front().sk == "k15");

        auto rev = co_await c[2].table->get_range("p", std::string("k10"), std::nullopt, 3,
                                                  storage::direction::reverse);
        REQUIRE(rev);
        REQUIRE(rev->size() == 3);
        CHECK(rev->at(0).sk == "k10");
        CHECK(rev->at(2).sk == "k08");

        // The filter travels: each node filters before applying the limit.
        std::optional<test::value_prefix> odd;
        odd.emplace().prefix = "odd";
        auto filtered = co_await c[1].table->get_range("p", std::nullopt, odd, 3);
        REQUIRE(filtered);
        REQUIRE(filtered->size() == 3);
        CHECK(filtered->at(0).sk == "k01");
        CHECK(filtered->at(1).sk == "k03");
        CHECK(filtered->at(2).sk == "k05");
        auto odd_rev = co_await c[0].table->get_range("p", std::nullopt, odd, 2, storage::direction::reverse);
        REQUIRE(odd_rev);
        REQUIRE(odd_rev->size() == 2);
        CHECK(odd_rev->at(0).sk == "k19");
        CHECK(odd_rev->at(1).sk == "k17");
        // A filter that matches nothing, and an empty partition.
        std::optional<test::value_prefix> none;
        none.emplace().prefix = "zzz";
        auto nothing = co_await c[2].table->get_range("p", std::nullopt, none, 10);
        REQUIRE(nothing);
        CHECK(nothing->empty());
        auto empty = co_await c[2].table->get_range("nobody", std::nullopt, std::nullopt, 10);
        REQUIRE(empty);
        CHECK(empty->empty());
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("a range read repairs the keys a replica lacks and returns only what every answer covers",
          "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        // Node 1 has five entries that node 0 lacks (node 2 has none).
        for (int i = 0; i < 5; ++i) {
            REQUIRE(c[1].local->insert(kv("p", "k" + std::to_string(i), 1, "v")));
        }
        REQUIRE(c[0].local->insert(kv("p", "k9", 1, "v")));
        // Node 1 asks itself and node 0 (self first, then the layout's order).
        auto r = co_await c[1].table->get_range("p", std::nullopt, std::nullopt, 3);
        REQUIRE(r);
        // Node 1 answered k0..k2 (its limit), node 0 answered k9: only k0..k2 are known.
        REQUIRE(r->size() == 3);
        CHECK(r->at(0).sk == "k0");
        CHECK(r->at(2).sk == "k2");
        CHECK(co_await eventually([&] {
            auto g = c[0].local->get("p", "k2");
            return g && g->has_value();
        }));
        // Node 1 learns nothing past what it covered, so k9 is not pushed to it yet.
        CHECK_FALSE(c[1].local->get("p", "k9").value().has_value());
        auto all = co_await c[1].table->get_range("p", std::nullopt, std::nullopt, 100);
        REQUIRE(all);
        CHECK(all->size() == 6);
        CHECK(co_await eventually([&] {
            auto g = c[1].local->get("p", "k9");
            return g && g->has_value() && c[0].local->len().value() == 6;
        }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("queued inserts are flushed to their storage nodes", "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(c[0].store.db.transact(
            [&](auto& tx) { return c[0].local->queue_insert(tx, kv("q", "x", 1, "queued")); }));
        REQUIRE(c[0].local->insert_queue_len().value() == 1);
        auto n = co_await c[0].table->flush_insert_queue();
        REQUIRE(n);
        CHECK(*n == 1);
        CHECK(c[0].local->insert_queue_len().value() == 0);
        CHECK(c.copies("q", "x", "queued") >= 2);
        CHECK(co_await eventually([&] { return c.copies("q", "x", "queued") == 3; }));
        // With the others down the flush fails and the item stays queued.
        co_await c.isolate(1);
        co_await c.isolate(2);
        REQUIRE(c[0].store.db.transact(
            [&](auto& tx) { return c[0].local->queue_insert(tx, kv("q", "y", 1, "queued")); }));
        auto failed = co_await c[0].table->flush_insert_queue();
        CHECK_FALSE(failed);
        CHECK(c[0].local->insert_queue_len().value() == 1);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("garbage update messages are refused without touching storage", "[table][replicated_table]")
{
    table_cluster<> c(3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        REQUIRE(co_await c[0].table->insert(kv("p", "a", 1, "v")));
        REQUIRE(co_await eventually([&] { return c.copies("p", "a", "v") == 3; }));
        auto const before = c[1].local->len().value();
        c.update_merkle();
        auto const root = c[1].local->merkle().root_hash(0).value();

        // A batch with one valid entry and one garbage item: nothing of it is written.
        auto bad = co_await refuse_garbage_update(c, "b");
        // The same through the sync and GC endpoints.
        table::push_items_request items;
        items.entries = bad.entries;
        auto s = co_await rpc::call<table::sync_endpoint<kv_schema>>(*c[0].net, c[1].id(),
                                                                     table::sync_request(items));
        CHECK_FALSE(s);
        auto g =
            co_await rpc::call<table::gc_endpoint<kv_schema>>(*c[0].net, c[1].id(), table::gc_request(bad));
        CHECK_FALSE(g);
        // A message that is not a table request at all.
        rpc::raw_message raw;
        raw.message = "\x01\xff\xff\xff";
        auto x = co_await c[0].net->call(c[1].id(), std::string(table::table_endpoint<kv_schema>::path), raw);
        REQUIRE_FALSE(x);
        CHECK(x.error().code == rpc::error::decode_error);

        // A range read whose filter does not decode.
        table::read_range_request rr;
        rr.partition_hash = table::partition_hash(std::string("p"));
        rr.filter = "\x01\xff";
        rr.limit = 10;
        auto f = co_await rpc::call<table::table_endpoint<kv_schema>>(*c[0].net, c[1].id(),
                                                                      table::table_request(rr));
        REQUIRE_FALSE(f);
        CHECK_THAT(f.error().message, Catch::Contains("filter"));

        CHECK(c[1].local->len().value() == before);
        CHECK_FALSE(c[1].local->get("p", "b").value().has_value());
        c.update_merkle();
        CHECK(c[1].local->merkle().root_hash(0).value() == root);
        CHECK(c[1].table->stats().refused == 2);
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("with a group committer, concurrent updates from peers are merged in shared transactions",
          "[table][replicated_table]")
{
    net::thread_pool pool(1); // declared first: joined last
    std::vector<std::unique_ptr<storage::group_committer<storage::lmdb_backend>>> committers;
    table_cluster<storage::lmdb_backend> c(3);
    for (std::size_t i = 0; i < 3; ++i) {
        committers.push_back(std::make_unique<storage::group_committer<storage::lmdb_backend>>(
            c[i].store.db, pool.get_executor()));
        c[i].table->set_committer(committers.back().get());
    }
    constexpr int n = 40;
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        // n writes at once from node 0: nodes 1 and 2 receive n update requests each.
        std::vector<std::optional<util::result<void>>> done(n);
        for (int i = 0; i < n; ++i) {
            net::co_spawn(
                c.rpc.io,
                [](table_cluster<storage::lmdb_backend>& c, int i) -> net::awaitable<util::result<void>> {
                    co_return co_await c[0].table->insert(
                        kv("p", "k" + std::to_string(i), 1, "v" + std::to_string(i)));
                }(c, i),
                [&done, i](std::exception_ptr, util::result<void> r) { done[i] = std::move(r); });
        }
        REQUIRE(co_await eventually([&] {
            return std::all_of(done.begin(), done.end(), [](auto const& d) { return d.has_value(); });
        }));
        for (auto const& d : done) {
            CHECK(*d);
        }
        for (int i = 0; i < n; ++i) {
            auto const k = "k" + std::to_string(i);
            auto const v = "v" + std::to_string(i);
            CHECK(co_await eventually([&] { return c.copies("p", k, v) == 3; }));
        }
        // Each receiving node committed at most one transaction per request (fewer when batched),
        // and its Merkle tree took every update: the roots agree.
        for (std::size_t i = 1; i < 3; ++i) {
            CHECK(committers[i]->transactions() >= 1);
            CHECK(committers[i]->transactions() <= n);
        }
        c.update_merkle();
        auto const root = c[0].local->merkle().root_hash(0).value();
        CHECK(c[1].local->merkle().root_hash(0).value() == root);
        CHECK(c[2].local->merkle().root_hash(0).value() == root);

        // A garbage item still refuses its whole request, and nothing of it is written.
        co_await refuse_garbage_update(c, "bad");
        CHECK_FALSE(c[1].local->get("p", "bad").value().has_value());
        CHECK(c[1].table->stats().refused == 1);
        co_await c.shutdown();
    };
    c.rpc.run(body);
    pool.join();
}

TEST_CASE("five nodes with three replicas: every node reads what any node wrote", "[table][replicated_table]")
{
    // Four partitions on five nodes: partition i on nodes i, i+1, i+2 (mod 5).
    table_cluster<> c(5, 4, 3);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        std::vector<kv_entry> batch;
        for (int i = 0; i < 64; ++i) {
            batch.push_back(kv("pk" + std::to_string(i), "s", 1, "v" + std::to_string(i)));
        }
        REQUIRE(co_await c[4].table->insert_many(batch)); // node 4 stores only some partitions
        for (std::size_t n = 0; n < 5; ++n) {
            for (auto const& e : batch) {
                auto got = co_await c[n].table->get(e.pk, e.sk);
                REQUIRE(got);
                REQUIRE(got->has_value());
                CHECK((*got)->value == e.value);
            }
        }
        // Each entry lives on exactly its three storage nodes.
        CHECK(co_await eventually([&] {
            std::size_t total = 0;
            for (std::size_t n = 0; n < 5; ++n) {
                total += c[n].local->len().value();
            }
            return total == 3 * batch.size();
        }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

TEST_CASE("the table workers apply Merkle updates and flush queued inserts to the cluster",
          "[table][replicated_table]")
{
    table_cluster<> c(3);
    util::worker_timing timing;
    timing.idle_recheck = std::chrono::milliseconds(20);
    util::background_runner runner(c.rpc.io.get_executor(), timing);
    auto body = [&]() -> net::awaitable<void> {
        co_await c.connect_all();
        c[0].table->spawn_workers(runner, c.rpc.io.get_executor());
        auto list = runner.list();
        REQUIRE(list.size() == 2);
        CHECK(list[0].name == "kv Merkle");
        CHECK(list[1].name == "kv queue");
        REQUIRE(c[0].store.db.transact(
            [&](auto& tx) { return c[0].local->queue_insert(tx, kv("q", "x", 1, "queued")); }));
        CHECK(co_await eventually([&] { return c.copies("q", "x", "queued") == 3; }));
        CHECK(co_await eventually([&] {
            return c[0].local->insert_queue_len().value() == 0 &&
                   c[0].local->merkle().todo_len().value() == 0;
        }));
        CHECK_FALSE(c[0].local->merkle().root_hash(0).value().is_zero());
        runner.request_stop();
        CHECK(co_await eventually([&] {
            for (auto const& w : runner.list()) {
                if (w.state != util::worker_state::done) {
                    return false;
                }
            }
            return true;
        }));
        co_await c.shutdown();
    };
    c.rpc.run(body);
}

} // namespace
