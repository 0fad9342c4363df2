#pragma once
// In-process clusters of replicated tables on loopback: N nodes, each with its own RPC
// network (test/rpc/fixture.hpp), storage (memory or LMDB in a temporary directory), local
// table, replicated table, syncer and GC, placed by the test policy fixed_replication.

#include <garage/table/gc.hpp>
#include <garage/table/replicated_table.hpp>
#include <garage/table/syncer.hpp>

#include <test/rpc/fixture.hpp>
#include <test/support/fixed_replication.hpp>
#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

namespace garage::test {

template <class Backend = storage::memory_backend>
class table_cluster {
public:
    using local_type = table::table<kv_schema, fixed_replication, Backend>;
    using replicated_type = table::replicated_table<kv_schema, fixed_replication, Backend>;
    using syncer_type = table::syncer<kv_schema, fixed_replication, Backend>;
    using gc_type = table::table_gc<kv_schema, fixed_replication, Backend>;

    struct node {
        rpc::network* net = nullptr;
        std::unique_ptr<rpc::rpc_helper> helper;
        backend_fixture<Backend> store;
        std::unique_ptr<local_type> local;
        std::unique_ptr<replicated_type> table;
        std::unique_ptr<syncer_type> sync;
        std::unique_ptr<gc_type> gc;
        util::node_id id() const { return net->id(); }
    };

    rpc_cluster rpc;
    std::shared_ptr<fixed_layout> layout = std::make_shared<fixed_layout>();
    std::vector<std::unique_ptr<node>> nodes;

    /** `n` nodes; `partitions` partitions, partition i stored on nodes i, i+1, ... (mod n), `rf` of them. */
    explicit table_cluster(std::size_t n, std::size_t partitions = 1, std::size_t rf = 3,
                           table::table_options options = {}, table::syncer_options sync_options = {})
    {
        for (std::size_t i = 0; i < n; ++i) {
            auto nd = std::make_unique<node>();
            nd->net = &rpc.add();
            nodes.push_back(std::move(nd));
        }
        layout->partitions.resize(partitions);
        for (std::size_t p = 0; p < partitions; ++p) {
            for (std::size_t k = 0; k < rf; ++k) {
                layout->partitions[p].push_back(nodes[(p + k) % n]->id());
            }
        }
        layout->read_quorum = (rf + 1) / 2;
        layout->write_quorum = rf + 1 - layout->read_quorum;
        for (auto& nd : nodes) {
            nd->helper = std::make_unique<rpc::rpc_helper>(*nd->net);
            nd->local =
                local_type::open(kv_schema{}, fixed_replication(nd->id(), layout), nd->store.db, options)
                    .value();
            nd->table = std::make_unique<replicated_type>(*nd->local, *nd->helper);
            nd->sync = std::make_unique<syncer_type>(*nd->local, *nd->helper, sync_options);
            nd->gc = std::make_unique<gc_type>(*nd->local, *nd->helper);
            nd->table->start();
            nd->sync->start();
            nd->gc->start();
        }
    }

    node& operator[](std::size_t i) { return *nodes[i]; }

    /// Connects every pair of nodes.
    boost::asio::awaitable<void> connect_all()
    {
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            for (std::size_t j = i + 1; j < nodes.size(); ++j) {
                auto up = co_await nodes[i]->net->connect(rpc.endpoint_of(*nodes[j]->net), nodes[j]->id());
                REQUIRE(up);
            }
        }
        // `connect` returns once this side is up; the accepting side lists the link a little later.
        bool const all = co_await eventually([&] {
            for (auto& a : nodes) {
                for (auto& b : nodes) {
                    if (a != b && !a->net->is_connected(b->id())) {
                        return false;
                    }
                }
            }
            return true;
        });
        REQUIRE(all);
    }

    /// Cuts node `i` off from every other node (as if it were down).
    boost::asio::awaitable<void> isolate(std::size_t i)
    {
        for (std::size_t j = 0; j < nodes.size(); ++j) {
            if (j != i) {
                nodes[i]->net->disconnect(nodes[j]->id());
                nodes[j]->net->disconnect(nodes[i]->id());
            }
        }
        bool const down = co_await eventually([&] {
            for (std::size_t j = 0; j < nodes.size(); ++j) {
                if (j != i && (nodes[i]->net->is_connected(nodes[j]->id()) ||
                               nodes[j]->net->is_connected(nodes[i]->id()))) {
                    return false;
                }
            }
            return true;
        });
        for (std::size_t j = 0; j < nodes.size() && !down; ++j) {
            UNSCOPED_INFO("node " << i << " -> " << j << ": " << nodes[i]->net->is_connected(nodes[j]->id())
                                  << ", back: " << nodes[j]->net->is_connected(nodes[i]->id()));
        }
        REQUIRE(down);
    }

    /// Reconnects node `i` to every other node.
    boost::asio::awaitable<void> rejoin(std::size_t i)
    {
        for (std::size_t j = 0; j < nodes.size(); ++j) {
            if (j != i) {
                auto up = co_await nodes[i]->net->connect(rpc.endpoint_of(*nodes[j]->net), nodes[j]->id());
                REQUIRE(up);
            }
        }
        bool const back = co_await eventually([&] {
            for (std::size_t j = 0; j < nodes.size(); ++j) {
                if (j != i && !nodes[j]->net->is_connected(nodes[i]->id())) {
                    return false;
                }
            }
            return true;
        });
        REQUIRE(back);
    }

    /// Waits for every node's read repairs, then removes the endpoints.
    boost::asio::awaitable<void> shutdown()
    {
        for (auto& nd : nodes) {
            co_await nd->table->stop();
            nd->sync->stop();
            nd->gc->stop();
        }
    }

    /// Applies every node's pending Merkle updates.
    void update_merkle()
    {
        for (auto& nd : nodes) {
            REQUIRE(nd->local->merkle().update_all());
        }
    }

    /// How many nodes hold `pk/sk` locally with value `value`.
    std::size_t copies(std::string const& pk, std::string const& sk, std::string const& value)
    {
        std::size_t n = 0;
        for (auto& nd : nodes) {
            auto g = nd->local->get(pk, sk);
            REQUIRE(g);
            n += (*g && (*g)->value == value) ? 1 : 0;
        }
        return n;
    }
};

inline kv_entry kv(std::string pk, std::string sk, std::uint64_t ts, std::string v, bool deleted = false)
{
    return kv_entry{std::move(pk), std::move(sk), ts, std::move(v), deleted};
}

} // namespace garage::test
