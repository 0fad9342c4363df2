// Block puts and gets across a 3-node cluster on loopback (rf 3, write quorum 2), through
// block_exchange: TLS links, the block RPC, verification and LMDB + files on each node.
//
//   bazel run -c opt //bench:block_cluster -- --benchmark_min_time=1
//
// Every node runs in this process: one io_context thread for the three networks, and per node
// a pool of two threads for disk I/O, hashing and compression. Blocks are incompressible
// (random) and stored plain. `put/<size>/<depth>` writes `depth` new blocks at once from node 0
// per iteration (the put returns at the quorum; the third copy goes on in the background, so
// the RAM budget bounds what is in flight); `get_local` reads node 0's own copy;
// `get_remote` reads from another node over the network (skip_local). bytes_per_second is
// the figure to compare.
//
// One run on the shared 2-core development VM (-c opt, other builds running, so noisy):
//   put/1MiB/1 16-43 MiB/s, put/1MiB/8 12 MiB/s, put/4KiB/1 4.7 MiB/s (~1200 puts/s),
//   put/4KiB/32 5.2 MiB/s, get_local/1MiB 311 MiB/s, get_local/4KiB 21 MiB/s,
//   get_remote/1MiB 91 MiB/s, get_remote/4KiB 11 MiB/s (~2800 gets/s).
// A put's profile is mostly copies: the block file write, one copy of the body per
// destination (rpc_helper copies the request per node) and the receive buffers.

#include <garage/block/exchange.hpp>
#include <garage/rpc/network.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/hasher.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <future>
#include <map>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace garage;
namespace net = boost::asio;
namespace fs = std::filesystem;

/// Every block on the same three nodes.
class three_nodes {
public:
    three_nodes() = default;
    three_nodes(std::vector<util::node_id> nodes, util::node_id self) : nodes_(std::move(nodes)), self_(self)
    {
    }
    util::node_id local_node() const { return self_; }
    std::vector<util::node_id> storage_nodes(util::hash32 const&) const { return nodes_; }
    std::vector<util::node_id> read_nodes(util::hash32 const&) const { return nodes_; }
    std::size_t read_quorum() const { return 1; }
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const&) const { return {nodes_}; }
    std::size_t write_quorum() const { return 2; }
    replication::partition_id partition_of(util::hash32 const& h) const { return h[0]; }
    replication::sync_partition_set sync_partitions() const { return {}; }

private:
    std::vector<util::node_id> nodes_;
    util::node_id self_;
};

using manager_t = block::block_manager<storage::lmdb_backend>;
using exchange_t = block::block_exchange<storage::lmdb_backend, three_nodes>;

struct node {
    fs::path root;
    std::unique_ptr<rpc::network> net;
    std::optional<storage::lmdb_backend> db;
    std::unique_ptr<manager_t> manager;
    std::unique_ptr<rpc::rpc_helper> helper;
    net::thread_pool blocking{2};
    std::unique_ptr<exchange_t> exchange;
};

/// Three nodes on loopback, made once for the whole program.
struct cluster {
    net::io_context io;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::thread io_thread;
    std::vector<std::unique_ptr<node>> nodes;
    fs::path root;

    cluster()
    {
        std::random_device rd;
        root = fs::temp_directory_path() / ("garage-bench-block-cluster-" + std::to_string(rd()));
        std::vector<net::ip::tcp::endpoint> eps;
        for (int i = 0; i < 3; ++i) {
            auto n = std::make_unique<node>();
            n->root = root / std::to_string(i);
            fs::create_directories(n->root / "meta");
            n->net = std::make_unique<rpc::network>(io.get_executor(), rpc::node_key::generate().value(),
                                                    std::string(32, 'b'));
            eps.push_back(n->net->listen({net::ip::address_v4::loopback(), 0}).value());
            storage::lmdb_options lo;
            lo.path = n->root / "meta" / "db.lmdb";
            lo.map_size = std::uint64_t(4) << 30;
            n->db.emplace(std::move(storage::lmdb_backend::open(lo).value()));
            block::block_options bo;
            bo.data_dirs = {util::data_dir_config{n->root / "data", std::nullopt, false}};
            bo.metadata_dir = n->root / "meta";
            bo.compression_level = std::nullopt;
            n->manager = std::move(manager_t::open(*n->db, bo).value());
            n->helper = std::make_unique<rpc::rpc_helper>(*n->net);
            nodes.push_back(std::move(n));
        }
        std::vector<util::node_id> ids;
        for (auto& n : nodes) {
            ids.push_back(n->net->id());
        }
        for (auto& n : nodes) {
            n->exchange = std::make_unique<exchange_t>(
                *n->manager, *n->helper, three_nodes(ids, n->net->id()), n->blocking.get_executor());
            n->exchange->start();
        }
        work.emplace(io.get_executor());
        io_thread = std::thread([this] { io.run(); });
        for (int a = 0; a < 3; ++a) {
            for (int b = a + 1; b < 3; ++b) {
                auto r =
                    net::co_spawn(io, nodes[a]->net->connect(eps[b], nodes[b]->net->id()), net::use_future)
                        .get();
                if (!r) {
                    throw std::runtime_error("connect: " + r.error().message);
                }
            }
        }
    }

    ~cluster()
    {
        for (auto& n : nodes) {
            net::co_spawn(io, n->exchange->stop(), net::use_future).get();
        }
        for (auto& n : nodes) {
            n->net->stop();
        }
        work.reset();
        io_thread.join();
        nodes.clear();
        std::error_code ec;
        fs::remove_all(root, ec);
    }

    static cluster& get()
    {
        static cluster c;
        return c;
    }
};

/// Distinct incompressible blocks of `size` bytes: random bytes with a counter in front.
std::string make_block(std::size_t size, std::uint64_t counter)
{
    static std::mutex mutex;
    static std::string pool;
    {
        std::lock_guard lock(mutex);
        if (pool.size() < size) {
            std::mt19937_64 gen(42);
            pool.resize(size);
            for (std::size_t i = 0; i + 8 <= size; i += 8) {
                auto v = gen();
                std::memcpy(pool.data() + i, &v, 8);
            }
        }
    }
    std::string s = pool.substr(0, size);
    std::memcpy(s.data(), &counter, std::min<std::size_t>(8, size));
    return s;
}

std::uint64_t next_counter()
{
    static std::atomic<std::uint64_t> c{std::random_device{}()};
    return c.fetch_add(1);
}

void put(benchmark::State& state)
{
    auto& c = cluster::get();
    auto const size = static_cast<std::size_t>(state.range(0));
    auto const depth = static_cast<std::size_t>(state.range(1));
    auto* ex = c.nodes[0]->exchange.get();
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<std::pair<util::hash32, std::string>> blocks;
        for (std::size_t i = 0; i < depth; ++i) {
            auto b = make_block(size, next_counter());
            auto h = util::blake2sum(b);
            blocks.emplace_back(h, std::move(b));
        }
        state.ResumeTiming();
        std::vector<std::future<util::result<void>>> futures;
        for (auto& [h, b] : blocks) {
            futures.push_back(net::co_spawn(c.io, ex->put_block(h, std::move(b)), net::use_future));
        }
        for (auto& f : futures) {
            if (!f.get()) {
                state.SkipWithError("put failed");
            }
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size * depth));
}

/// Blocks written once per size, read by the get benchmarks.
std::vector<util::hash32> const& stored_blocks(std::size_t size)
{
    static std::mutex mutex;
    static std::map<std::size_t, std::vector<util::hash32>> by_size;
    std::lock_guard lock(mutex);
    auto& v = by_size[size];
    if (v.empty()) {
        auto& c = cluster::get();
        std::size_t const count = size >= (1 << 20) ? 32 : 256;
        for (std::size_t i = 0; i < count; ++i) {
            auto b = make_block(size, next_counter());
            auto h = util::blake2sum(b);
            auto r =
                net::co_spawn(c.io, c.nodes[0]->exchange->put_block(h, std::move(b)), net::use_future).get();
            if (r) {
                v.push_back(h);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the third copies land
    }
    return v;
}

void get(benchmark::State& state, bool remote)
{
    auto& c = cluster::get();
    auto const size = static_cast<std::size_t>(state.range(0));
    auto const& hashes = stored_blocks(size);
    auto* ex = c.nodes[0]->exchange.get();
    std::size_t i = 0;
    block::block_get_options o;
    o.skip_local = remote;
    for (auto _ : state) {
        auto r = net::co_spawn(c.io, ex->get_block(hashes[i++ % hashes.size()], o), net::use_future).get();
        if (!r || r->size() != size) {
            state.SkipWithError("get failed");
            break;
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void get_local(benchmark::State& state)
{
    get(state, false);
}
void get_remote(benchmark::State& state)
{
    get(state, true);
}

BENCHMARK(put)->Args({1 << 20, 1})->Args({1 << 20, 8})->Args({4096, 1})->Args({4096, 32})->UseRealTime();
BENCHMARK(get_local)->Arg(1 << 20)->Arg(4096)->UseRealTime();
BENCHMARK(get_remote)->Arg(1 << 20)->Arg(4096)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
