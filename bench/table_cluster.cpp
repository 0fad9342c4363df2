// A replicated table on three in-process nodes over loopback RPC (TLS 1.3), each with its own
// LMDB environment under $TMPDIR (fsync off): quorum insert and get latency and throughput,
// and the time for Merkle sync to converge after N divergent local writes.
//
//   bazel run -c opt //bench:table_cluster -- --benchmark_min_time=1
//
// The io_context runs on one thread of its own; each benchmark iteration submits coroutines
// to it and waits for them.

#include <garage/rpc/node_key.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/table/replicated_table.hpp>
#include <garage/table/syncer.hpp>

#include <test/support/fixed_replication.hpp>
#include <test/support/table_fixtures.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace garage;
namespace net = boost::asio;
using test::kv_entry;
using test::kv_schema;

using local_type = table::table<kv_schema, test::fixed_replication, storage::lmdb_backend>;
using replicated_type = table::replicated_table<kv_schema, test::fixed_replication, storage::lmdb_backend>;
using syncer_type = table::syncer<kv_schema, test::fixed_replication, storage::lmdb_backend>;

struct bench_node {
    std::unique_ptr<rpc::network> net;
    std::unique_ptr<rpc::rpc_helper> helper;
    std::filesystem::path dir;
    std::unique_ptr<storage::lmdb_backend> db;
    std::unique_ptr<local_type> local;
    std::unique_ptr<replicated_type> table;
    std::unique_ptr<syncer_type> sync;
    net::ip::tcp::endpoint endpoint;
};

/// Three nodes, one partition stored on all of them (rf 3, quorums 2 and 2).
class cluster {
public:
    cluster()
    {
        auto base =
            std::filesystem::temp_directory_path() / ("garage-bench-cluster-" + std::to_string(::getpid()));
        std::filesystem::remove_all(base);
        layout_->partitions.resize(1);
        for (int i = 0; i < 3; ++i) {
            auto n = std::make_unique<bench_node>();
            n->net = std::make_unique<rpc::network>(io_.get_executor(), rpc::node_key::generate().value(),
                                                    std::string(32, 's'));
            n->endpoint = n->net->listen({net::ip::address_v4::loopback(), 0}).value();
            layout_->partitions[0].push_back(n->net->id());
            n->dir = base / std::to_string(i);
            storage::lmdb_options o;
            o.path = n->dir;
            o.map_size = 4ull << 30;
            n->db = std::make_unique<storage::lmdb_backend>(storage::lmdb_backend::open(o).value());
            nodes_.push_back(std::move(n));
        }
        for (auto& n : nodes_) {
            n->helper = std::make_unique<rpc::rpc_helper>(*n->net);
            n->local =
                local_type::open(kv_schema{}, test::fixed_replication(n->net->id(), layout_), *n->db).value();
            n->table = std::make_unique<replicated_type>(*n->local, *n->helper);
            n->sync = std::make_unique<syncer_type>(*n->local, *n->helper);
            n->table->start();
            n->sync->start();
        }
        thread_ = std::thread([this] {
            auto guard = net::make_work_guard(io_);
            io_.run();
        });
        run([this]() -> net::awaitable<void> { co_await connect(this); });
        base_ = base;
    }
    ~cluster()
    {
        for (auto& n : nodes_) {
            n->net->stop();
        }
        io_.stop();
        thread_.join();
        nodes_.clear();
        std::filesystem::remove_all(base_);
    }

    /// Runs `make()` (a coroutine) on the io thread and waits for it.
    template <class Make>
    void run(Make make)
    {
        net::co_spawn(io_, make(), net::use_future).get();
    }

    bench_node& operator[](std::size_t i) { return *nodes_[i]; }

private:
    static net::awaitable<void> connect(cluster* self)
    {
        for (std::size_t i = 0; i < 3; ++i) {
            for (std::size_t j = i + 1; j < 3; ++j) {
                auto r = co_await self->nodes_[i]->net->connect(self->nodes_[j]->endpoint,
                                                                self->nodes_[j]->net->id());
                if (!r) {
                    throw std::runtime_error(r.error().message);
                }
            }
        }
    }

    net::io_context io_;
    std::thread thread_;
    std::shared_ptr<test::fixed_layout> layout_ = std::make_shared<test::fixed_layout>();
    std::vector<std::unique_ptr<bench_node>> nodes_;
    std::filesystem::path base_;
};

cluster& the_cluster()
{
    static cluster c;
    return c;
}

std::uint64_t counter = 0;

net::awaitable<void> insert_loop(replicated_type* t, std::int64_t n, std::uint64_t first, bool* ok)
{
    for (std::int64_t i = 0; i < n; ++i) {
        kv_entry e{"bench", "k" + std::to_string(first + static_cast<std::uint64_t>(i)), 1,
                   std::string(100, 'v'), false};
        *ok = *ok && (co_await t->insert(std::move(e))).has_value();
    }
}

/// Sequential quorum inserts from node 0: each waits for two of three nodes.
void quorum_insert(benchmark::State& state)
{
    auto& c = the_cluster();
    bool ok = true;
    for (auto _ : state) {
        auto const first = counter;
        counter += 100;
        c.run([&] { return insert_loop(c[0].table.get(), 100, first, &ok); });
    }
    if (!ok) {
        state.SkipWithError("an insert failed");
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(quorum_insert)->Unit(benchmark::kMillisecond)->UseRealTime();

net::awaitable<void> insert_many_once(replicated_type* t, std::uint64_t first, std::int64_t n, bool* ok)
{
    std::vector<kv_entry> batch;
    for (std::int64_t i = 0; i < n; ++i) {
        batch.push_back(kv_entry{"batch", "k" + std::to_string(first + static_cast<std::uint64_t>(i)), 1,
                                 std::string(100, 'v'), false});
    }
    *ok = *ok && (co_await t->insert_many(std::move(batch))).has_value();
}

/// Quorum insert_many of 1000 entries (one Update message per write set).
void quorum_insert_many(benchmark::State& state)
{
    auto& c = the_cluster();
    bool ok = true;
    for (auto _ : state) {
        auto const first = counter;
        counter += 1000;
        c.run([&] { return insert_many_once(c[0].table.get(), first, 1000, &ok); });
    }
    if (!ok) {
        state.SkipWithError("an insert failed");
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(quorum_insert_many)->Unit(benchmark::kMillisecond)->UseRealTime();

net::awaitable<void> get_loop(replicated_type* t, std::int64_t n, bool* ok)
{
    for (std::int64_t i = 0; i < n; ++i) {
        auto r = co_await t->get("bench", "k" + std::to_string(i % 100));
        *ok = *ok && r.has_value() && r->has_value();
    }
}

/// Sequential quorum reads from node 1 (itself and one other node).
void quorum_get(benchmark::State& state)
{
    auto& c = the_cluster();
    bool ok = true;
    c.run([&] { return insert_loop(c[0].table.get(), 100, 0, &ok); });
    for (auto _ : state) {
        c.run([&] { return get_loop(c[1].table.get(), 100, &ok); });
    }
    if (!ok) {
        state.SkipWithError("a read failed");
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(quorum_get)->Unit(benchmark::kMillisecond)->UseRealTime();

net::awaitable<void> sync_all(cluster* c, bool* ok)
{
    for (std::size_t i = 0; i < 3; ++i) {
        auto r = co_await (*c)[i].sync->sync_pass();
        *ok = *ok && r && r->complete();
    }
}

/// N divergent local writes on each node (not replicated), then one sync pass per node until
/// every node holds every entry: the time of the three passes.
void converge_after_divergent_writes(benchmark::State& state)
{
    auto& c = the_cluster();
    bool ok = true;
    auto const n = state.range(0);
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t node = 0; node < 3; ++node) {
            std::vector<kv_entry> batch;
            for (std::int64_t i = 0; i < n; ++i) {
                batch.push_back(
                    kv_entry{"div" + std::to_string(i % 16), "k" + std::to_string(counter++), 1, "v", false});
            }
            ok = ok && c[node].local->insert_many(batch).has_value();
        }
        for (std::size_t node = 0; node < 3; ++node) {
            ok = ok && c[node].local->merkle().update_all().has_value();
        }
        state.ResumeTiming();
        c.run([&] { return sync_all(&c, &ok); });
    }
    if (!ok) {
        state.SkipWithError("a sync pass failed");
    }
    state.SetItemsProcessed(state.iterations() * n * 3);
}
BENCHMARK(converge_after_divergent_writes)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
