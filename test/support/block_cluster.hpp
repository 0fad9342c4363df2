#pragma once
// In-process clusters of block nodes on loopback: each node has its own LMDB metadata DB and
// data directory in a temporary directory, a block manager, a block_exchange over its own
// rpc::network (all networks share the rpc_cluster's io_context, run by the test thread), a
// thread pool for blocking work and one for its background workers. The replication policy
// names the storage nodes of each block explicitly and can be changed while the nodes run.

#include <garage/block/exchange.hpp>
#include <garage/block/manager.hpp>
#include <garage/block/workers.hpp>
#include <garage/replication/concepts.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/hasher.hpp>
#include <garage/util/worker.hpp>

#include <test/rpc/fixture.hpp>
#include <test/support/temp_dir.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace garage::test {

/** A replication policy for block tests: every block is stored on an explicit list of
    nodes (a default list, or one set for that block). Copies share their node sets, so a
    test changes them for every node at once (a "layout change"); each copy has its own
    `local_node()`. */
class block_test_replication {
public:
    block_test_replication() : st_(std::make_shared<state>()) {}

    /// A copy that answers `self` as its local node.
    block_test_replication for_node(util::node_id self) const
    {
        auto c = *this;
        c.self_ = self;
        return c;
    }

    void set_default_nodes(std::vector<util::node_id> nodes)
    {
        std::lock_guard lock(st_->mutex);
        st_->default_nodes = std::move(nodes);
    }
    void set_nodes(util::hash32 const& h, std::vector<util::node_id> nodes)
    {
        std::lock_guard lock(st_->mutex);
        st_->per_block[h] = std::move(nodes);
    }
    void set_write_quorum(std::size_t q)
    {
        std::lock_guard lock(st_->mutex);
        st_->write_quorum = q;
    }

    util::node_id local_node() const { return self_; }
    std::vector<util::node_id> storage_nodes(util::hash32 const& h) const
    {
        std::lock_guard lock(st_->mutex);
        auto it = st_->per_block.find(h);
        return it != st_->per_block.end() ? it->second : st_->default_nodes;
    }
    std::vector<util::node_id> read_nodes(util::hash32 const& h) const { return storage_nodes(h); }
    std::size_t read_quorum() const { return 1; }
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const& h) const
    {
        return {storage_nodes(h)};
    }
    std::size_t write_quorum() const
    {
        std::lock_guard lock(st_->mutex);
        return st_->write_quorum;
    }
    replication::partition_id partition_of(util::hash32 const& h) const { return h[0]; }
    replication::sync_partition_set sync_partitions() const { return {}; }

private:
    struct state {
        std::mutex mutex;
        std::vector<util::node_id> default_nodes;
        std::map<util::hash32, std::vector<util::node_id>> per_block;
        std::size_t write_quorum = 2;
    };
    std::shared_ptr<state> st_;
    util::node_id self_;
};

static_assert(replication::replication_policy<block_test_replication>);

/// The settings of a block_cluster.
struct block_cluster_options {
    std::size_t nodes = 3;         ///< nodes made
    std::size_t storage_nodes = 3; ///< the first ones store every block by default
    std::size_t write_quorum = 2;
    std::uint64_t ram_buffer_max = std::uint64_t(256) << 20;
    std::chrono::milliseconds timeout{5000}; ///< of each call to one node
    std::optional<int> compression_level = 1;
    std::chrono::milliseconds missing_block_delay{0};
    std::chrono::milliseconds gc_delay{600'000};
    std::uint64_t small_block_max_size = 0; ///< blocks up to this size go to the metadata DB
};

/// One node of a block_cluster.
struct block_node {
    using manager_type = block::block_manager<storage::lmdb_backend>;
    using exchange_type = block::block_exchange<storage::lmdb_backend, block_test_replication>;

    temp_dir dir;
    std::optional<storage::lmdb_backend> db;
    std::unique_ptr<manager_type> manager;
    rpc::network* net = nullptr;
    std::unique_ptr<rpc::rpc_helper> helper;
    boost::asio::thread_pool blocking{2};
    boost::asio::thread_pool background{1};
    std::unique_ptr<exchange_type> exchange;
    std::unique_ptr<util::background_runner> runner;
    std::shared_ptr<block::block_worker_control> control;

    util::node_id id() const { return net->id(); }

    /// Starts the resync workers (not the scrub worker) with tranquility 0.
    void start_workers()
    {
        runner = std::make_unique<util::background_runner>(
            background.get_executor(),
            util::worker_timing{std::chrono::milliseconds(100), std::chrono::milliseconds(100)});
        block::block_worker_options wo;
        wo.disable_scrub = true;
        wo.idle_wait = std::chrono::milliseconds(100);
        control = block::spawn_workers(*manager, *runner, background.get_executor(), wo);
        REQUIRE(control->set_resync_tranquility(0));
    }

    /// Runs `f` on this node's background pool (where blocking manager calls belong).
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&>> on_pool(F f)
    {
        co_return co_await block::detail::run_blocking(background.get_executor(), std::move(f));
    }

    ~block_node()
    {
        if (runner) {
            runner->request_stop();
            runner->wait_stopped(std::chrono::seconds(10));
        }
        background.join();
        blocking.join();
    }
};

/// N block nodes on loopback, fully connected when `run` starts.
class block_cluster {
public:
    rpc_cluster rpc;
    block_test_replication replication;
    std::vector<std::unique_ptr<block_node>> nodes;

    explicit block_cluster(block_cluster_options o = {})
    {
        rpc::network_options no;
        no.call_timeout = o.timeout;
        std::vector<util::node_id> storage;
        for (std::size_t i = 0; i < o.nodes; ++i) {
            auto n = std::make_unique<block_node>();
            n->net = &rpc.add(test_secret(), no);
            storage::lmdb_options lo;
            lo.path = n->dir.path() / "meta" / "db.lmdb";
            lo.map_size = 1ull << 30;
            n->db.emplace(std::move(storage::lmdb_backend::open(lo).value()));
            block::block_options bo;
            bo.data_dirs = {util::data_dir_config{n->dir.path() / "data", std::nullopt, false}};
            bo.metadata_dir = n->dir.path() / "meta";
            bo.block_size = std::uint64_t(16) << 20;
            bo.compression_level = o.compression_level;
            bo.missing_block_delay = o.missing_block_delay;
            bo.gc_delay = o.gc_delay;
            bo.small_block_max_size = o.small_block_max_size;
            bo.resync_retry_delay = std::chrono::milliseconds(100);
            auto m = block_node::manager_type::open(*n->db, bo);
            REQUIRE(m);
            n->manager = std::move(*m);
            n->helper = std::make_unique<rpc::rpc_helper>(*n->net);
            if (i < o.storage_nodes) {
                storage.push_back(n->net->id());
            }
            nodes.push_back(std::move(n));
        }
        replication.set_default_nodes(storage);
        replication.set_write_quorum(o.write_quorum);
        for (auto& n : nodes) {
            block::block_exchange_options eo;
            eo.ram_buffer_max = o.ram_buffer_max;
            eo.timeout = o.timeout;
            n->exchange = std::make_unique<block_node::exchange_type>(
                *n->manager, *n->helper, replication.for_node(n->id()), n->blocking.get_executor(), eo);
            n->exchange->start();
        }
    }

    block_node& operator[](std::size_t i) { return *nodes.at(i); }

    /// Connects node `a` to node `b`.
    boost::asio::awaitable<void> connect(std::size_t a, std::size_t b)
    {
        auto r = co_await nodes[a]->net->connect(rpc.endpoint_of(*nodes[b]->net), nodes[b]->id());
        REQUIRE(r);
    }

    /** Connects every pair, runs `body()`, then stops the workers and the exchanges (waiting
        for their calls in flight) before the networks stop. */
    template <class Body>
    void run(Body& body, std::chrono::seconds limit = std::chrono::seconds(60))
    {
        auto whole = [&]() -> boost::asio::awaitable<void> {
            for (std::size_t a = 0; a < nodes.size(); ++a) {
                for (std::size_t b = a + 1; b < nodes.size(); ++b) {
                    co_await connect(a, b);
                }
            }
            std::exception_ptr failure;
            try {
                co_await body();
            } catch (...) {
                failure = std::current_exception();
            }
            for (auto& n : nodes) {
                if (n->runner) {
                    n->runner->request_stop();
                }
            }
            for (auto& n : nodes) {
                co_await n->exchange->stop();
            }
            if (failure) {
                std::rethrow_exception(failure);
            }
        };
        rpc.run(whole, limit);
    }
};

/// Incompressible bytes, the same for the same seed.
inline std::string random_bytes(std::size_t size, std::uint32_t seed)
{
    std::mt19937 gen(seed);
    std::string s(size, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

} // namespace garage::test
