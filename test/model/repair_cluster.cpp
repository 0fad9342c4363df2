// The model repairs on an in-process cluster of three nodes (loopback RPC): the owner of an
// entry is read with a quorum read, so an owner stored on other nodes is found, and the fixes a
// node writes reach the other nodes that store the entry.

#include <garage/model/repair.hpp>

#include <garage/model/garage.hpp>

#include <test/rpc/fixture.hpp>
#include <test/support/fixed_replication.hpp>
#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

namespace {

using namespace garage;
namespace net = boost::asio;
using backend = storage::memory_backend;
using model_type = model::basic_model<test::fixed_replication, test::fixed_replication, backend,
                                      test::tree_rc_sink<backend>>;

struct node {
    rpc::network* net = nullptr;
    test::backend_fixture<backend> store;
    std::unique_ptr<test::tree_rc_sink<backend>> rc;
    std::unique_ptr<model_type> m;
    std::unique_ptr<rpc::rpc_helper> helper;
    std::unique_ptr<model::model_cluster<model_type>> cluster;
};

bool deleted_on(node& n, util::uuid const& v)
{
    auto e = n.m->version_table().get(v, table::empty_key{}).value();
    return e && e->deleted.get();
}

TEST_CASE("repair versions reads owners with quorum reads and replicates its fixes",
          "[model][repair][cluster]")
{
    test::rpc_cluster rpc;
    auto layout = std::make_shared<test::fixed_layout>();
    std::vector<std::unique_ptr<node>> nodes;
    for (int i = 0; i < 3; ++i) {
        auto n = std::make_unique<node>();
        n->net = &rpc.add();
        nodes.push_back(std::move(n));
    }
    layout->partitions.resize(1);
    for (auto& n : nodes) {
        layout->partitions[0].push_back(n->net->id());
    }
    layout->read_quorum = 2;
    layout->write_quorum = 2;
    for (auto& n : nodes) {
        n->rc = std::make_unique<test::tree_rc_sink<backend>>(n->store.db);
        test::fixed_replication const repl(n->net->id(), layout);
        n->m = model_type::open(n->store.db, repl, repl, *n->rc).value();
        n->helper = std::make_unique<rpc::rpc_helper>(*n->net);
        n->cluster = std::make_unique<model::model_cluster<model_type>>(*n->m, *n->helper);
        n->cluster->start();
    }
    auto const bucket = util::gen_uuid();
    auto const orphan = util::gen_uuid();    // its object exists nowhere
    auto const elsewhere = util::gen_uuid(); // its object is stored on nodes 1 and 2 only
    auto& a = *nodes[0];

    auto body = [&]() -> net::awaitable<void> {
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            for (std::size_t j = i + 1; j < nodes.size(); ++j) {
                auto up =
                    co_await nodes[i]->net->connect(rpc.endpoint_of(*nodes[j]->net), nodes[j]->net->id());
                REQUIRE(up);
            }
        }
        bool const linked = co_await test::eventually([&] {
            for (auto& x : nodes) {
                for (auto& y : nodes) {
                    if (x != y && !x->net->is_connected(y->net->id())) {
                        return false;
                    }
                }
            }
            return true;
        });
        REQUIRE(linked);
        // The inconsistency exists on node 0 only (written locally, not replicated).
        REQUIRE(a.m->version_table().insert(
            model::version::create(orphan, model::object_backlink{bucket, "gone"})));
        REQUIRE(a.m->version_table().insert(
            model::version::create(elsewhere, model::object_backlink{bucket, "there"})));
        model::object_version ov{
            elsewhere, 10,
            model::version_complete{
                model::inline_data{model::object_version_meta{1, "e", model::encryption_plaintext{}}, "x"}}};
        for (std::size_t i = 1; i < nodes.size(); ++i) {
            REQUIRE(nodes[i]->m->object_table().insert(model::object(bucket, "there", {ov})));
            REQUIRE_FALSE(nodes[i]->m->version_table().get(orphan, table::empty_key{}).value());
        }

        model::table_repair_worker<model_type, model::repair_versions> w(*a.m, a.cluster.get(),
                                                                         model::model_repair_options{1});
        for (int i = 0; i < 10 && !w.finished(); ++i) {
            auto s = co_await w.work();
            REQUIRE(s);
        }
        REQUIRE(w.finished());
        CHECK(w.stats().checked == 2);
        CHECK(w.stats().fixed == 1);
        // The version whose object another node holds is kept; the orphan is deleted here...
        CHECK_FALSE(deleted_on(a, elsewhere));
        CHECK(deleted_on(a, orphan));
        // ...and on the other nodes, which never had it.
        bool const everywhere = co_await test::eventually(
            [&] { return deleted_on(*nodes[1], orphan) && deleted_on(*nodes[2], orphan); });
        CHECK(everywhere);
        for (auto& n : nodes) {
            co_await n->cluster->stop();
        }
    };
    rpc.run(body);
}

} // namespace
