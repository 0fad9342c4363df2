// Test that header file is self-contained.
#include <garage/api/admin/impl/cluster.hpp>

// The cluster endpoints of the admin API (/v1/status, /v1/health, /v1/connect, /v1/layout,
// /v1/layout/apply, /v1/layout/revert) over real nodes: RPC transport on 127.0.0.1, peering,
// layout manager and membership services, layouts persisted in temporary directories.

#include <garage/api/admin/admin_api.hpp>
#include <garage/model/garage.hpp>
#include <garage/replication/local.hpp>
#include <garage/rpc/network.hpp>
#include <garage/rpc/node_key.hpp>
#include <garage/rpc/peering.hpp>

#include <test/api/admin/admin_call.hpp>
#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>
#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <thread>

namespace {
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace garage;
using model_type = model::basic_model<replication::local, replication::local, storage::memory_backend,
                                      test::tree_rc_sink<storage::memory_backend>>;

std::string const secret(32, 's');

/// One node's cluster services (replication factor 1), on a shared io_context.
struct cluster_node {
    test::temp_dir dir;
    rpc::network rpcnet;
    net::ip::tcp::endpoint address;
    rpc::peering peering;
    std::unique_ptr<layout::layout_manager> mgr;
    std::unique_ptr<layout::system> sys;

    cluster_node(net::io_context& ioc, std::string const& rpc_secret)
        : rpcnet(ioc.get_executor(), rpc::node_key::generate().value(), rpc_secret),
          address(rpcnet.listen({net::ip::make_address("127.0.0.1"), 0}).value()),
          peering(rpcnet, nullptr, rpc::peering_options{.public_address = address})
    {
        mgr = layout::layout_manager::open(rpcnet, {.metadata_dir = dir.path(), .replication_factor = 1})
                  .value();
        layout::system_options so;
        so.metadata_dir = dir.path();
        so.data_dirs = {dir.path()};
        so.hostname = "node";
        sys = layout::system::open(rpcnet, peering, *mgr, so).value();
    }
    ~cluster_node() { rpcnet.stop(); }

    std::string spec() const { return rpcnet.id().to_hex() + "@127.0.0.1:" + std::to_string(address.port()); }
};

/// Node A serves the admin API; node B (same secret) and node C (another secret) can be connected.
struct fixture {
    net::io_context ioc;
    cluster_node a{ioc, secret};
    cluster_node b{ioc, secret};
    cluster_node c{ioc, std::string(32, 'x')};
    storage::memory_backend db;
    test::tree_rc_sink<storage::memory_backend> rc{db};
    std::unique_ptr<model_type> m =
        model_type::open(db, replication::local{}, replication::local{}, rc).value();
    api::admin::admin_api_server<model_type> admin{
        *m, {"admin-token", std::nullopt, "garage", "", ""}, access()};
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) -> net::awaitable<void> {
                              return admin.handle(ex);
                          }};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work{ioc.get_executor()};
    std::thread thread;
    net::io_context client;

    fixture()
    {
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}).has_value());
        srv.start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        ioc.stop();
        thread.join();
    }

    api::admin::admin_node_access access()
    {
        api::admin::admin_node_access x;
        x.layout = a.mgr.get();
        x.system = a.sys.get();
        x.garage_version = "v-test";
        x.rpc_address = "127.0.0.1:" + std::to_string(a.address.port());
        return x;
    }

    http::response<http::string_body> call(http::verb method, std::string target, std::string body = {},
                                           std::string token = "admin-token")
    {
        return test::admin_call(client, srv.port(), method, std::move(target), std::move(body), token);
    }

    json::value get_json(std::string target)
    {
        auto r = call(http::verb::get, std::move(target));
        REQUIRE(r.result_int() == 200);
        return json::parse(r.body());
    }
};

} // namespace

TEST_CASE("GET /v1/status and /v1/health describe the node and its layout with Garage's fields",
          "[api][admin][cluster]")
{
    fixture f;
    auto st = f.get_json("/v1/status");
    CHECK(st.at("node").as_string() == f.a.rpcnet.id().to_hex());
    CHECK(st.at("garageVersion").as_string() == "v-test");
    CHECK(st.at("layoutVersion").to_number<int>() == 0);
    auto const& nodes = st.at("nodes").as_array();
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].at("id").as_string() == f.a.rpcnet.id().to_hex());
    CHECK(nodes[0].at("isUp").as_bool());
    CHECK(nodes[0].at("role").is_null());
    CHECK(nodes[0].at("addr").as_string() == "127.0.0.1:" + std::to_string(f.a.address.port()));
    CHECK(nodes[0].at("hostname").as_string() == "node");
    CHECK(nodes[0].at("dataPartition").is_object());

    auto h = f.get_json("/v1/health");
    CHECK(h.at("status").as_string() == "unavailable"); // no layout yet
    CHECK(h.at("knownNodes").to_number<int>() == 1);
    CHECK(h.at("partitions").to_number<int>() == 256);
    CHECK(h.at("partitionsQuorum").to_number<int>() == 0);

    CHECK(f.call(http::verb::get, "/v1/status", {}, "").result_int() == 403);
    CHECK(f.call(http::verb::get, "/v1/health", {}, "wrong").result_int() == 403);
}

TEST_CASE("POST /v1/layout stages roles, apply refuses a stale version and applies the next one",
          "[api][admin][cluster]")
{
    fixture f;
    auto const ida = f.a.rpcnet.id().to_hex(), idb = f.b.rpcnet.id().to_hex();
    auto r = f.call(http::verb::post, "/v1/layout",
                    R"([{"id":")" + ida + R"(","zone":"dc1","capacity":1000000000,"tags":["x"]},)" +
                        R"({"id":")" + idb + R"(","zone":"dc2","capacity":null,"tags":[]}])");
    REQUIRE(r.result_int() == 200);
    auto l = json::parse(r.body());
    CHECK(l.at("version").to_number<int>() == 0);
    CHECK(l.at("roles").as_array().empty());
    CHECK(l.at("stagedRoleChanges").as_array().size() == 2);

    r = f.call(http::verb::post, "/v1/layout/apply", R"({"version":2})");
    CHECK(r.result_int() == 400);
    CHECK(r.body().find("Invalid new layout version 2 (expected 1)") != std::string::npos);
    CHECK(f.get_json("/v1/layout").at("version").to_number<int>() == 0);

    r = f.call(http::verb::post, "/v1/layout/apply", R"({"version":1})");
    REQUIRE(r.result_int() == 200);
    auto applied = json::parse(r.body());
    CHECK(applied.at("message").is_array());
    l = f.get_json("/v1/layout");
    CHECK(l.at("version").to_number<int>() == 1);
    REQUIRE(l.at("roles").as_array().size() == 2);
    CHECK(l.at("stagedRoleChanges").as_array().empty());
    for (auto const& role : l.at("roles").as_array()) {
        if (role.at("id").as_string() == ida) {
            CHECK(role.at("zone").as_string() == "dc1");
            CHECK(role.at("capacity").to_number<std::uint64_t>() == 1000000000);
            CHECK(role.at("tags").as_array().size() == 1);
        } else {
            CHECK(role.at("capacity").is_null()); // gateway
        }
    }
    CHECK(f.get_json("/v1/status").at("layoutVersion").to_number<int>() == 1);
    CHECK(f.get_json("/v1/health").at("status").as_string() == "healthy"); // A is the only storage node

    // A removal is staged, shown, then reverted.
    r = f.call(http::verb::post, "/v1/layout", R"([{"id":")" + idb + R"(","remove":true}])");
    REQUIRE(r.result_int() == 200);
    auto staged = json::parse(r.body()).at("stagedRoleChanges").as_array();
    REQUIRE(staged.size() == 1);
    CHECK(staged[0].at("remove").as_bool());
    REQUIRE(f.call(http::verb::post, "/v1/layout/revert").result_int() == 200);
    CHECK(f.get_json("/v1/layout").at("stagedRoleChanges").as_array().empty());
}

TEST_CASE("POST /v1/layout refuses malformed changes and stages nothing", "[api][admin][cluster]")
{
    fixture f;
    CHECK(f.call(http::verb::post, "/v1/layout", R"({"id":"x"})").result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/layout", R"([{"zone":"dc1"}])").result_int() == 400);
    CHECK(
        f.call(http::verb::post, "/v1/layout", R"([{"id":"abc","zone":"dc1","capacity":1}])").result_int() ==
        400);
    CHECK(f.call(http::verb::post, "/v1/layout", "[not json").result_int() == 400);
    auto const ida = f.a.rpcnet.id().to_hex();
    CHECK(f.call(http::verb::post, "/v1/layout", R"([{"id":")" + ida + R"(","zone":"dc1","capacity":-5}])")
              .result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/layout", R"([{"id":")" + ida + R"(","remove":true}])").result_int() ==
          400);                                                                    // no role to remove
    CHECK(f.call(http::verb::post, "/v1/layout/apply", "{}").result_int() == 400); // version missing
    CHECK(
        f.call(http::verb::post, "/v1/layout", R"({"parameters":{"zoneRedundancy":"some"}})").result_int() ==
        400);
    CHECK(f.call(http::verb::post, "/v1/layout", R"({"parameters":{"zoneRedundancy":{"atLeast":0}}})")
              .result_int() == 400);
    auto const l = f.get_json("/v1/layout");
    CHECK(l.at("stagedRoleChanges").as_array().empty());
    CHECK(l.at("stagedParameters").is_null());
}

TEST_CASE("POST /v1/layout with parameters stages the zone redundancy; revert drops it",
          "[api][admin][cluster]")
{
    fixture f;
    auto r = f.call(http::verb::post, "/v1/layout",
                    R"({"roles":[],"parameters":{"zoneRedundancy":{"atLeast":1}}})");
    REQUIRE(r.result_int() == 200);
    auto l = json::parse(r.body());
    CHECK(l.at("parameters").at("zoneRedundancy").as_string() == "maximum");
    CHECK(l.at("stagedParameters").at("zoneRedundancy").at("atLeast").to_number<int>() == 1);
    REQUIRE(f.call(http::verb::post, "/v1/layout/revert").result_int() == 200);
    CHECK(f.get_json("/v1/layout").at("stagedParameters").is_null());
}

TEST_CASE("POST /v1/connect connects a node of the cluster and reports the failures of the others",
          "[api][admin][cluster]")
{
    fixture f;
    auto r = f.call(http::verb::post, "/v1/connect",
                    R"([")" + f.b.spec() + R"(","garbage",")" + f.c.spec() + R"(",42])");
    REQUIRE(r.result_int() == 200);
    auto const out = json::parse(r.body()).as_array();
    REQUIRE(out.size() == 4);
    CHECK(out[0].at("success").as_bool());
    CHECK(out[0].at("error").is_null());
    CHECK_FALSE(out[1].at("success").as_bool()); // malformed
    CHECK_FALSE(out[1].at("error").as_string().empty());
    CHECK_FALSE(out[2].at("success").as_bool()); // another rpc_secret
    CHECK_FALSE(out[3].at("success").as_bool()); // not a string

    auto const st = f.get_json("/v1/status");
    bool b_listed = false, c_listed = false;
    for (auto const& n : st.at("nodes").as_array()) {
        b_listed = b_listed || n.at("id").as_string() == f.b.rpcnet.id().to_hex();
        c_listed = c_listed || n.at("id").as_string() == f.c.rpcnet.id().to_hex();
    }
    CHECK(b_listed);
    CHECK_FALSE(c_listed);
    CHECK(f.call(http::verb::post, "/v1/connect", R"({"a":1})").result_int() == 400);
}

namespace {

/// The tracker values of `node` in a `GET /v1/layout/history` answer.
json::object const& trackers_of(json::value const& history, std::string const& node)
{
    return history.at("updateTrackers").at(node).as_object();
}

} // namespace

TEST_CASE("GET /v1/layout/history lists the versions after two applies; skip-dead-nodes raises a dead "
          "node's trackers",
          "[api][admin][cluster]")
{
    fixture f;
    auto const ida = f.a.rpcnet.id().to_hex(), idb = f.b.rpcnet.id().to_hex();
    auto h = f.get_json("/v1/layout/history");
    CHECK(h.at("currentVersion").to_number<int>() == 0);
    REQUIRE(h.at("versions").as_array().size() == 1);
    CHECK(h.at("versions").at(0).at("status").as_string() == "current");

    REQUIRE(f.call(http::verb::post, "/v1/layout",
                   R"([{"id":")" + ida + R"(","zone":"dc1","capacity":1000000000,"tags":[]}])")
                .result_int() == 200);
    REQUIRE(f.call(http::verb::post, "/v1/layout/apply", R"({"version":1})").result_int() == 200);
    // B (never connected, so down) becomes a storage node in version 2 and cannot sync it.
    REQUIRE(f.call(http::verb::post, "/v1/layout",
                   R"([{"id":")" + idb + R"(","zone":"dc2","capacity":1000000000,"tags":[]}])")
                .result_int() == 200);
    REQUIRE(f.call(http::verb::post, "/v1/layout/apply", R"({"version":2})").result_int() == 200);

    h = f.get_json("/v1/layout/history");
    CHECK(h.at("currentVersion").to_number<int>() == 2);
    auto const& versions = h.at("versions").as_array();
    REQUIRE(versions.size() >= 2);
    CHECK(versions[0].at("version").to_number<int>() == 2);
    CHECK(versions[0].at("status").as_string() == "current");
    CHECK(versions[0].at("storageNodes").to_number<int>() == 2);
    CHECK(versions[0].at("gatewayNodes").to_number<int>() == 0);
    CHECK(versions[1].at("version").to_number<int>() == 1);
    CHECK(versions[1].at("status").as_string() == "draining"); // B has not synchronised version 2
    CHECK(versions[1].at("storageNodes").to_number<int>() == 1);
    CHECK(h.at("minStored").to_number<int>() == 1);
    CHECK(trackers_of(h, idb).at("ack").to_number<int>() == 1);
    CHECK(trackers_of(h, idb).at("sync").to_number<int>() == 1);
    CHECK(h.at("minAck").to_number<int>() == 1);

    auto r = f.call(http::verb::post, "/v1/layout/skip-dead-nodes", R"({"version":5})");
    CHECK(r.result_int() == 400);
    CHECK(r.body().find("Invalid version") != std::string::npos);
    CHECK(f.call(http::verb::post, "/v1/layout/skip-dead-nodes", R"({})").result_int() == 400);

    r = f.call(http::verb::post, "/v1/layout/skip-dead-nodes", R"({"version":2})");
    REQUIRE(r.result_int() == 200);
    auto const lines = json::parse(r.body()).at("message").as_array();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].as_string() == "Increased the ACK tracker for node " + idb.substr(0, 16));
    h = f.get_json("/v1/layout/history");
    CHECK(trackers_of(h, idb).at("ack").to_number<int>() == 2);
    CHECK(trackers_of(h, idb).at("sync").to_number<int>() == 1);

    // Nothing left to do for dead nodes alone; --allow-missing-data raises the sync trackers.
    r = f.call(http::verb::post, "/v1/layout/skip-dead-nodes", R"({"version":2})");
    CHECK(r.result_int() == 400);
    CHECK(r.body().find("allow-missing-data") != std::string::npos);
    r = f.call(http::verb::post, "/v1/layout/skip-dead-nodes", R"({"version":2,"allowMissingData":true})");
    REQUIRE(r.result_int() == 200);
    h = f.get_json("/v1/layout/history");
    CHECK(trackers_of(h, idb).at("sync").to_number<int>() == 2);
    REQUIRE(h.at("versions").as_array().size() == 2);
    CHECK(h.at("versions").at(1).at("status").as_string() != "current");
}
