// Test that header file is self-contained.
#include <garage/api/admin/admin_api.hpp>

#include <garage/model/garage.hpp>
#include <garage/replication/local.hpp>

#include <test/api/admin/admin_call.hpp>
#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

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

struct fixture {
    storage::memory_backend db;
    test::tree_rc_sink<storage::memory_backend> rc{db};
    std::unique_ptr<model_type> m =
        model_type::open(db, replication::local{}, replication::local{}, rc).value();
    api::admin::admin_api_server<model_type> admin{
        *m, {"s3cr3t-token", std::nullopt, "garage", ".s3.example", ".web.example"}};
    net::io_context ioc;
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) -> net::awaitable<void> {
                              return admin.handle(ex);
                          }};
    std::thread runner;
    net::io_context client;

    fixture()
    {
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}).has_value());
        srv.start();
        runner = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        ioc.stop();
        runner.join();
    }

    http::response<http::string_body> call(http::verb method, std::string target, std::string body = {},
                                           std::string token = "s3cr3t-token")
    {
        return test::admin_call(client, srv.port(), method, std::move(target), std::move(body), token);
    }
    json::value call_json(http::verb method, std::string target, std::string body = {})
    {
        auto r = call(method, std::move(target), std::move(body));
        INFO(r.body());
        REQUIRE(r.result_int() == 200);
        return json::parse(r.body());
    }
};

TEST_CASE("admin API answers health without a token and refuses other calls without the right one",
          "[api][admin]")
{
    fixture f;
    auto h = f.call(http::verb::get, "/health", {}, "");
    CHECK(h.result_int() == 200);
    CHECK(h.body().find("fully operational") != std::string::npos);
    auto none = f.call(http::verb::get, "/v1/key", {}, "");
    CHECK(none.result_int() == 403);
    CHECK(json::parse(none.body()).at("message") == "Authorization token must be provided");
    auto bad = f.call(http::verb::get, "/v1/key", {}, "wrong");
    CHECK(bad.result_int() == 403);
    CHECK(json::parse(bad.body()).at("code") == "AccessDenied");
    CHECK(json::parse(bad.body()).at("path") == "/v1/key");
    CHECK(f.call(http::verb::get, "/v1/health").result_int() == 200);
}

TEST_CASE("admin API manages keys and buckets with Garage's v1 fields", "[api][admin]")
{
    fixture f;
    auto key = f.call_json(http::verb::post, "/v1/key", R"({"name":"alice"})").as_object();
    auto const id = std::string(key.at("accessKeyId").as_string());
    CHECK(id.starts_with("GK"));
    CHECK(key.at("secretAccessKey").as_string().size() == 64);
    CHECK(key.at("name") == "alice");
    auto list = f.call_json(http::verb::get, "/v1/key").as_array();
    REQUIRE(list.size() == 1);
    CHECK(list[0].at("id").as_string() == id);
    CHECK(f.call_json(http::verb::get, "/v1/key?search=alice").at("accessKeyId").as_string() == id);
    CHECK(f.call_json(http::verb::get, "/v1/key?id=" + id).at("secretAccessKey").is_null());
    CHECK(f.call_json(http::verb::post, "/v1/key?id=" + id, R"({"allow":{"createBucket":true}})")
              .at("permissions")
              .at("createBucket") == true);

    auto bucket = f.call_json(http::verb::post, "/v1/bucket", R"({"globalAlias":"photos"})").as_object();
    auto const bid = std::string(bucket.at("id").as_string());
    CHECK(bucket.at("globalAliases").as_array().at(0) == "photos");
    CHECK(f.call(http::verb::post, "/v1/bucket", R"({"globalAlias":"photos"})").result_int() == 409);
    CHECK(f.call(http::verb::post, "/v1/bucket", R"({"globalAlias":"Not_Valid"})").result_int() == 400);

    auto allowed = f.call_json(http::verb::post, "/v1/bucket/allow",
                               R"({"bucketId":")" + bid + R"(","accessKeyId":")" + id +
                                   R"(","permissions":{"read":true,"write":true,"owner":false}})");
    auto keys = allowed.at("keys").as_array();
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].at("permissions").at("write") == true);
    CHECK(keys[0].at("permissions").at("owner") == false);
    auto info = f.call_json(http::verb::get, "/v1/key?id=" + id).as_object();
    REQUIRE(info.at("buckets").as_array().size() == 1);
    CHECK(info.at("buckets").as_array()[0].at("globalAliases").as_array()[0] == "photos");

    auto web = f.call_json(
        http::verb::put, "/v1/bucket?id=" + bid,
        R"({"websiteAccess":{"enabled":true,"indexDocument":"index.html"},"quotas":{"maxSize":1000,"maxObjects":null}})");
    CHECK(web.at("websiteAccess") == true);
    CHECK(web.at("quotas").at("maxSize") == 1000);
    CHECK(f.call(http::verb::get, "/check?domain=photos.web.example", {}, "").result_int() == 200);
    CHECK(f.call(http::verb::get, "/check?domain=nothing.web.example", {}, "").result_int() == 400);

    CHECK(f.call_json(http::verb::put, "/v1/bucket/alias/global?id=" + bid + "&alias=pics")
              .at("globalAliases")
              .as_array()
              .size() == 2);
    CHECK(f.call_json(http::verb::get, "/v1/bucket?globalAlias=pics").at("id").as_string() == bid);
    CHECK(f.call_json(http::verb::get, "/v1/bucket").as_array().size() == 1);

    auto denied = f.call_json(http::verb::post, "/v1/bucket/deny",
                              R"({"bucketId":")" + bid + R"(","accessKeyId":")" + id +
                                  R"(","permissions":{"read":true,"write":true}})");
    CHECK(denied.at("keys").as_array().empty());

    CHECK(f.call(http::verb::delete_, "/v1/bucket?id=" + bid).result_int() == 204);
    CHECK(f.call(http::verb::get, "/v1/bucket?id=" + bid).result_int() == 404);
    CHECK(f.call(http::verb::delete_, "/v1/key?id=" + id).result_int() == 204);
    CHECK(f.call(http::verb::get, "/v1/key?id=" + id).result_int() == 404);
    CHECK(f.call(http::verb::post, "/v1/key", "{not json").result_int() == 400);
    CHECK(f.call(http::verb::get, "/v1/layout").result_int() == 501);
}
} // namespace
