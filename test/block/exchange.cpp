// Test that header file is self-contained.
#include <garage/block/exchange.hpp>

#include <garage/block/repair.hpp>

#include <test/block/fixtures.hpp>
#include <test/support/block_cluster.hpp>

#include <garage/rpc/error.hpp>
#include <garage/util/hasher.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace {
using namespace garage;
using namespace std::chrono_literals;
namespace net = boost::asio;
using test::block_cluster;
using test::block_cluster_options;

/// True when node `n` stores a copy of `h` (its manager's view; no verification).
bool holds(test::block_node& n, util::hash32 const& h)
{
    return n.manager->has_block(h);
}

/// Adds a reference to `h` on node `n` (as the block_ref table's hook does).
net::awaitable<void> incref(test::block_node& n, util::hash32 h)
{
    auto* m = n.manager.get();
    auto r = co_await n.on_pool(
        [m, h] { return m->storage().transact([&](auto& tx) { return m->incref(tx, h); }); });
    REQUIRE(r);
}

TEST_CASE("A block put with write quorum 2 of 3 succeeds with one node down and fails with two down",
          "[block][exchange]")
{
    block_cluster c;
    auto body = [&]() -> net::awaitable<void> {
        auto const a = test::random_bytes(100 * 1024, 1);
        auto const ha = util::blake2sum(a);
        c[2].net->stop(); // node 2 is down
        auto r = co_await c[0].exchange->put_block(ha, a);
        REQUIRE(r);
        CHECK(holds(c[0], ha));
        CHECK(holds(c[1], ha));
        CHECK_FALSE(holds(c[2], ha));

        c[1].net->stop(); // nodes 1 and 2 are down
        auto const b = test::random_bytes(100 * 1024, 2);
        auto const hb = util::blake2sum(b);
        auto r2 = co_await c[0].exchange->put_block(hb, b);
        REQUIRE_FALSE(r2);
        CHECK(r2.error().code == rpc::error::quorum_not_reached);
        CHECK(r2.error().message.find("quorum not reached") != std::string::npos);
        CHECK(r2.error().message.find(hb.to_hex()) != std::string::npos);
    };
    c.run(body);
}

TEST_CASE("A block put reaches every storage node and reads back from each of them", "[block][exchange]")
{
    block_cluster c(block_cluster_options{.nodes = 4});
    auto body = [&]() -> net::awaitable<void> {
        auto const text = test::text_data(300 * 1024, 3); // compressible: sent compressed
        auto const h = util::blake2sum(text);
        REQUIRE(co_await c[3].exchange->put_block(h, text)); // from a node that does not store it
        // The remainder of the put goes on after the quorum: wait for the third copy.
        REQUIRE(
            co_await test::eventually([&] { return holds(c[0], h) && holds(c[1], h) && holds(c[2], h); }));
        CHECK_FALSE(holds(c[3], h));
        CHECK(c[0].manager->find_block(h)->encoding == block::block_encoding::compressed);
        for (std::size_t i = 0; i < 4; ++i) {
            auto got = co_await c[i].exchange->get_block(h);
            REQUIRE(got);
            CHECK(*got == text);
        }
    };
    c.run(body);
}

TEST_CASE("A block get falls back to the next node when the preferred one is down", "[block][exchange]")
{
    block_cluster c(block_cluster_options{.nodes = 4});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(64 * 1024, 4);
        auto const h = util::blake2sum(data);
        REQUIRE(co_await c[0].exchange->put_block(h, data));
        REQUIRE(co_await test::eventually([&] { return holds(c[2], h); }));
        // Node 3 prefers node 1 (lowest ping), then node 2, then node 0.
        c[3].helper->record_ping(c[1].id(), 1ms);
        c[3].helper->record_ping(c[2].id(), 2ms);
        c[3].helper->record_ping(c[0].id(), 3ms);
        auto const order = c[3].exchange->read_order(h);
        REQUIRE(order.size() == 3);
        CHECK(order[0] == c[1].id());
        CHECK(order[1] == c[2].id());
        c[1].net->stop();
        auto got = co_await c[3].exchange->get_block(h);
        REQUIRE(got);
        CHECK(*got == data);
        // All down: a clear error naming the block.
        c[2].net->stop();
        c[0].net->stop();
        auto none = co_await c[3].exchange->get_block(h);
        REQUIRE_FALSE(none);
        CHECK(none.error().code == block::error::block_not_found);
        CHECK(none.error().message.find(h.to_hex()) != std::string::npos);
    };
    c.run(body);
}

TEST_CASE("A block get skips a corrupt copy, which is set aside on its node and never returned",
          "[block][exchange]")
{
    block_cluster c(block_cluster_options{.nodes = 4, .compression_level = std::nullopt});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(200 * 1024, 5);
        auto const h = util::blake2sum(data);
        REQUIRE(co_await c[0].exchange->put_block(h, data));
        REQUIRE(co_await test::eventually([&] { return holds(c[1], h) && holds(c[2], h); }));
        // Corrupt node 1's copy; node 3 asks node 1 first.
        auto loc = c[1].manager->find_block(h);
        REQUIRE(loc);
        test::flip_byte(loc->path, 1000);
        c[3].helper->record_ping(c[1].id(), 1ms);
        c[3].helper->record_ping(c[2].id(), 2ms);
        auto got = co_await c[3].exchange->get_block(h);
        REQUIRE(got);
        CHECK(*got == data);
        CHECK_FALSE(holds(c[1], h)); // renamed .corrupted
        CHECK(test::files_under(c[1].dir.path() / "data", ".corrupted").size() == 1);
        CHECK(c[1].manager->corruptions() == 1);

        // This node's own corrupt copy: read locally first, set aside, then from a peer.
        auto loc0 = c[0].manager->find_block(h);
        REQUIRE(loc0);
        test::flip_byte(loc0->path, 10);
        auto got0 = co_await c[0].exchange->get_block(h);
        REQUIRE(got0);
        CHECK(*got0 == data);
        CHECK(c[0].manager->corruptions() == 1);
    };
    c.run(body);
}

TEST_CASE("A PutBlock whose bytes do not match the hash is refused and nothing is stored",
          "[block][exchange]")
{
    block_cluster c(block_cluster_options{.nodes = 2, .storage_nodes = 2, .write_quorum = 2});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(128 * 1024, 6);
        auto const h = util::blake2sum(data);
        auto wrong = data;
        wrong[5] = static_cast<char>(wrong[5] ^ 1);
        auto other = block::data_block::encode(test::text_data(10000, 7), 1);
        REQUIRE(other.is_compressed());
        using req_t = rpc::with_body<block::block_rpc_request>;
        using block::block_encoding;
        using block::block_rpc_op;
        // Named requests, not braced temporaries inside co_await (g++ 12 destroys those twice).
        std::vector<req_t> bad;
        bad.push_back(req_t{{block_rpc_op::put_block, h, block_encoding::plain}, wrong});     // not the block
        bad.push_back(req_t{{block_rpc_op::put_block, h, block_encoding::compressed}, data}); // not zstd
        bad.push_back(
            req_t{{block_rpc_op::put_block, h, block_encoding::compressed}, other.bytes()}); // other bytes
        bad.push_back(req_t{{block_rpc_op::put_block, h, block_encoding{7}}, data}); // unknown encoding
        bad.push_back(req_t{{block_rpc_op{9}, h, block_encoding::plain}, {}});       // unknown operation
        for (std::size_t i = 0; i < bad.size(); ++i) {
            auto req = std::move(bad[i]);
            auto r =
                co_await rpc::call_with_body<block::block_endpoint>(*c[0].net, c[1].id(), std::move(req));
            INFO("request " << i);
            REQUIRE_FALSE(r);
            if (i == 0) {
                CHECK(r.error().message.find("does not match its hash") != std::string::npos);
            }
        }
        CHECK_FALSE(holds(c[1], h));
        CHECK(test::files_under(c[1].dir.path() / "data").empty());
        CHECK(*c[1].manager->small_len() == 0);
        // The true bytes are accepted.
        req_t good{{block_rpc_op::put_block, h, block_encoding::plain}, data};
        auto ok = co_await rpc::call_with_body<block::block_endpoint>(*c[0].net, c[1].id(), std::move(good));
        REQUIRE(ok);
        CHECK(holds(c[1], h));
        // A put whose hash is wrong for its data fails on every node: no quorum, nothing stored.
        auto const bad_h = util::blake2sum("something else");
        auto r6 = co_await c[0].exchange->put_block(bad_h, data);
        REQUIRE_FALSE(r6);
        CHECK_FALSE(holds(c[0], bad_h));
        CHECK_FALSE(holds(c[1], bad_h));
    };
    c.run(body);
}

TEST_CASE("with a group committer, small blocks from peers are checked and stored in shared transactions",
          "[block][exchange]")
{
    block_cluster c(block_cluster_options{
        .nodes = 2, .storage_nodes = 2, .write_quorum = 2, .small_block_max_size = 8192});
    net::thread_pool pool(1);
    storage::group_committer<storage::lmdb_backend> committer(*c[1].db, pool.get_executor());
    c[1].exchange->set_committer(&committer);
    constexpr int n = 24;
    auto body = [&]() -> net::awaitable<void> {
        std::vector<std::string> data;
        std::vector<util::hash32> hashes;
        for (int i = 0; i < n; ++i) {
            data.push_back(
                test::random_bytes(1000 + 200 * static_cast<std::size_t>(i), 100 + i)); // under 8 KiB
            hashes.push_back(util::blake2sum(data.back()));
        }
        std::vector<std::optional<util::result<void>>> done(n);
        for (int i = 0; i < n; ++i) {
            net::co_spawn(c.rpc.io, c[0].exchange->put_block(hashes[i], data[i]),
                          [&done, i](std::exception_ptr, util::result<void> r) { done[i] = std::move(r); });
        }
        REQUIRE(co_await test::eventually([&] {
            return std::all_of(done.begin(), done.end(), [](auto const& d) { return d.has_value(); });
        }));
        for (auto const& d : done) {
            CHECK(*d);
        }
        CHECK(*c[1].manager->small_len() == n);
        CHECK(committer.transactions() >= 1);
        CHECK(committer.transactions() <= n);
        for (int i = 0; i < n; ++i) {
            CHECK(c[1].manager->read_block(hashes[i]).value() == data[i]);
        }
        CHECK(test::files_under(c[1].dir.path() / "data").empty());

        // Bytes that do not match their hash are refused before the committer sees them.
        auto const tx_before = committer.transactions();
        auto wrong = test::random_bytes(3000, 7);
        auto const h = util::blake2sum(wrong);
        wrong[10] = static_cast<char>(wrong[10] ^ 1);
        rpc::with_body<block::block_rpc_request> req{
            {block::block_rpc_op::put_block, h, block::block_encoding::plain}, wrong};
        auto r = co_await rpc::call_with_body<block::block_endpoint>(*c[0].net, c[1].id(), std::move(req));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("does not match its hash") != std::string::npos);
        CHECK_FALSE(holds(c[1], h));
        CHECK(*c[1].manager->small_len() == n);
        CHECK(committer.transactions() == tx_before);
    };
    c.run(body);
    pool.join();
}

TEST_CASE("NeedBlockQuery says whether a node holds a block and whether it needs it", "[block][exchange]")
{
    block_cluster c(block_cluster_options{.nodes = 2, .storage_nodes = 2, .write_quorum = 1});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(20 * 1024, 8);
        auto const h = util::blake2sum(data);
        auto q0 = co_await c[0].exchange->query_need(c[1].id(), h);
        REQUIRE(q0);
        CHECK_FALSE(q0->present);
        CHECK_FALSE(q0->needed); // not referenced there
        // Referenced on node 1 but missing.
        auto* m1 = c[1].manager.get();
        co_await incref(c[1], h);
        auto q1 = co_await c[0].exchange->query_need(c[1].id(), h);
        REQUIRE(q1);
        CHECK_FALSE(q1->present);
        CHECK(q1->needed);
        auto w = co_await c[1].on_pool([m1, h, &data] { return m1->write_block(h, data); });
        REQUIRE(w);
        auto q2 = co_await c[0].exchange->query_need(c[1].id(), h);
        REQUIRE(q2);
        CHECK(q2->present);
        CHECK_FALSE(q2->needed);
    };
    c.run(body);
}

TEST_CASE("A node that missed a block fetches it from a peer through resync once it is referenced",
          "[block][exchange][resync]")
{
    block_cluster c;
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(512 * 1024, 9);
        auto const h = util::blake2sum(data);
        c[0].net->disconnect(c[2].id()); // node 2 misses the put
        REQUIRE(co_await c[0].exchange->put_block(h, data));
        REQUIRE(co_await test::eventually([&] { return holds(c[1], h); }));
        CHECK_FALSE(holds(c[2], h));
        co_await c.connect(0, 2);
        c[2].start_workers();
        // The block_ref entry reaches node 2: a first reference queues a presence check.
        auto* m2 = c[2].manager.get();
        co_await incref(c[2], h);
        REQUIRE(co_await test::eventually([&] { return holds(c[2], h); }, 20s));
        auto local = co_await c[2].on_pool([m2, h] { return m2->read_block(h); });
        REQUIRE(local);
        CHECK(*local == data);
        CHECK(*m2->resync_errors_len() == 0);
    };
    c.run(body);
}

TEST_CASE("A resync does not fetch a referenced block this node does not store", "[block][exchange][resync]")
{
    block_cluster c(block_cluster_options{.nodes = 4});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(8 * 1024, 10);
        auto const h = util::blake2sum(data);
        REQUIRE(co_await c[0].exchange->put_block(h, data));
        auto* m3 = c[3].manager.get();
        co_await incref(c[3], h);
        auto step = co_await c[3].on_pool([m3] { return m3->resync_step(); });
        REQUIRE(step);
        CHECK(step->outcome == block::resync_outcome::processed);
        CHECK_FALSE(holds(c[3], h));
        CHECK(*m3->resync_errors_len() == 0);
    };
    c.run(body);
}

TEST_CASE("An unreferenced block goes to the storage nodes that still reference it before it is deleted",
          "[block][exchange][resync]")
{
    block_cluster c(block_cluster_options{.gc_delay = 0ms});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(300 * 1024, 14);
        auto const h = util::blake2sum(data);
        auto* m0 = c[0].manager.get();
        REQUIRE(co_await c[0].on_pool([m0, h, &data] { return m0->write_block(h, data); }));
        // Node 0's last reference goes; node 1 references the block but lacks it; node 2 neither.
        co_await incref(c[0], h);
        REQUIRE(co_await c[0].on_pool(
            [m0, h] { return m0->storage().transact([&](auto& tx) { return m0->decref(tx, h); }); }));
        co_await incref(c[1], h);
        bool gone = false;
        for (int i = 0; i < 4 && !gone; ++i) {
            auto step = co_await c[0].on_pool([m0] { return m0->resync_step(); });
            REQUIRE(step);
            gone = !holds(c[0], h);
        }
        CHECK(gone);
        CHECK(holds(c[1], h));       // it needed the block: it got it first
        CHECK_FALSE(holds(c[2], h)); // it did not
        auto got = co_await c[1].on_pool([m1 = c[1].manager.get(), h] { return m1->read_block(h); });
        REQUIRE(got);
        CHECK(*got == data);
    };
    c.run(body);
}

TEST_CASE("After the node set of a block changes, the old holder hands it over, then deletes its copy",
          "[block][exchange][rebalance]")
{
    block_cluster c(block_cluster_options{.nodes = 4});
    auto body = [&]() -> net::awaitable<void> {
        auto const data = test::random_bytes(1 << 20, 11);
        auto const h = util::blake2sum(data);
        auto const small = test::random_bytes(2000, 12);
        auto const hs = util::blake2sum(small);
        REQUIRE(co_await c[0].exchange->put_block(h, data));
        REQUIRE(co_await c[0].exchange->put_block(hs, small));
        REQUIRE(co_await test::eventually([&] { return holds(c[2], h) && holds(c[2], hs); }));
        for (std::size_t i = 0; i < 3; ++i) { // their block_ref entries live on the same nodes
            co_await incref(c[i], h);
            co_await incref(c[i], hs);
        }
        // The layout changes: node 0 gives its place to node 3.
        c.replication.set_default_nodes({c[1].id(), c[2].id(), c[3].id()});
        auto* m0 = c[0].manager.get();

        // Node 3 cannot be reached: the hand-over fails and node 0 keeps its copies.
        c[0].net->disconnect(c[3].id());
        for (int i = 0; i < 4; ++i) { // the checks queued by the references
            auto step = co_await c[0].on_pool([m0] { return m0->resync_step(); });
            REQUIRE(step);
            if (step->outcome != block::resync_outcome::processed) {
                break;
            }
        }
        CHECK(holds(c[0], h));
        CHECK(holds(c[0], hs));
        CHECK_FALSE(holds(c[3], h));
        CHECK(*m0->resync_errors_len() == 2);

        // Node 3 is back; the rebalance pass (every stored block) runs on node 0.
        co_await c.connect(0, 3);
        c[0].start_workers();
        block::block_repair_options ro;
        ro.referenced = false; // the rebalance pass: stored blocks only
        block::spawn_block_repair(*m0, *c[0].runner, ro);
        REQUIRE(co_await test::eventually([&] { return !holds(c[0], h) && !holds(c[0], hs); }, 20s));
        // Node 3 got both blocks before node 0 deleted its copies.
        CHECK(holds(c[3], h));
        CHECK(holds(c[3], hs));
        auto got = co_await c[3].on_pool([m3 = c[3].manager.get(), h] { return m3->read_block(h); });
        REQUIRE(got);
        CHECK(*got == data);
        CHECK(holds(c[1], h));
        CHECK(holds(c[2], h));
        REQUIRE(co_await test::eventually([&] { return *m0->resync_errors_len() == 0; }));
    };
    c.run(body);
}

TEST_CASE("Many puts in flight hold at most the RAM budget", "[block][exchange][ram]")
{
    block_cluster c(block_cluster_options{.ram_buffer_max = 4 << 20, .compression_level = std::nullopt});
    auto body = [&]() -> net::awaitable<void> {
        constexpr int count = 16;
        std::vector<std::string> blocks;
        for (int i = 0; i < count; ++i) {
            blocks.push_back(test::random_bytes(1 << 20, 100 + i));
        }
        std::atomic<int> ok = 0;
        std::atomic<int> finished = 0;
        auto* ex = c[0].exchange.get();
        auto const executor = co_await net::this_coro::executor;
        for (int i = 0; i < count; ++i) {
            net::co_spawn(
                executor,
                [](auto* ex, std::string data, std::atomic<int>& ok,
                   std::atomic<int>& finished) -> net::awaitable<void> {
                    auto const h = util::blake2sum(data);
                    auto r = co_await ex->put_block(h, std::move(data));
                    if (r) {
                        ++ok;
                    }
                    ++finished;
                }(ex, blocks[i], ok, finished),
                net::detached);
        }
        CHECK(ex->ram_budget().waiting() > 0); // the budget made puts wait
        REQUIRE(co_await test::eventually([&] { return finished == count; }, 30s));
        CHECK(ok == count);
        CHECK(ex->ram_budget().peak_in_use() <= (4u << 20));
        CHECK(ex->ram_budget().peak_in_use() == (4u << 20)); // it was reached
        REQUIRE(co_await test::eventually([&] { return ex->ram_budget().available() == (4u << 20); }));
        for (auto const& b : blocks) {
            CHECK(holds(c[2], util::blake2sum(b)));
        }
    };
    c.run(body);
}

TEST_CASE("Blocks of several MiB travel whole between nodes", "[block][exchange][large]")
{
    block_cluster c(block_cluster_options{.nodes = 4});
    auto body = [&]() -> net::awaitable<void> {
        for (std::size_t size : {std::size_t(1) << 20, std::size_t(4) << 20, std::size_t(9) << 20}) {
            auto const data = test::random_bytes(size, static_cast<std::uint32_t>(size));
            auto const h = util::blake2sum(data);
            REQUIRE(co_await c[3].exchange->put_block(h, data));
            auto got = co_await c[3].exchange->get_block(h); // from a storage node, over the network
            REQUIRE(got);
            CHECK(got->size() == size);
            CHECK(*got == data);
            auto raw = co_await c[3].exchange->get_raw_block(h);
            REQUIRE(raw);
            CHECK(raw->size() == size); // incompressible: stored plain
        }
        auto const text = test::text_data(8 << 20, 13);
        auto const ht = util::blake2sum(text);
        REQUIRE(co_await c[3].exchange->put_block(ht, text));
        auto got = co_await c[3].exchange->get_block(ht);
        REQUIRE(got);
        CHECK(*got == text);
    };
    c.run(body, 120s);
}

} // namespace
