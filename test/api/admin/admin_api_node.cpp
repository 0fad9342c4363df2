// Test that header file is self-contained.
#include <garage/api/admin/admin_api.hpp>

// The admin endpoints that read the node beyond its data model: /metrics, /v1/stats,
// /v1/worker, /v1/worker/var (test/api/admin/admin_api.cpp tests the v1 data endpoints).

#include <garage/model/garage.hpp>
#include <garage/replication/local.hpp>

#include <test/api/admin/admin_call.hpp>
#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <thread>

namespace {
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace garage;
using model_type = model::basic_model<replication::local, replication::local, storage::memory_backend,
                                      test::tree_rc_sink<storage::memory_backend>>;

/// A worker that does nothing and reports a queue.
class queue_worker final : public util::worker {
public:
    std::string name() const override { return "test queue worker"; }
    util::worker_status status() const override
    {
        util::worker_status s;
        s.queue_length = 3;
        s.tranquility = 2;
        return s;
    }
    net::awaitable<util::result<util::worker_step>> work() override { co_return util::worker_step::idle(); }
    net::awaitable<void> wait_for_work() override { co_await wake_.wait(); }

private:
    util::async_notify wake_{pool_executor()};
    static net::any_io_executor pool_executor();
};

net::thread_pool& background_pool()
{
    static net::thread_pool pool(1);
    return pool;
}
net::any_io_executor queue_worker::pool_executor()
{
    return background_pool().get_executor();
}

struct fixture {
    storage::memory_backend db;
    test::tree_rc_sink<storage::memory_backend> rc{db};
    std::unique_ptr<model_type> m =
        model_type::open(db, replication::local{}, replication::local{}, rc).value();
    metrics::registry reg;
    util::background_runner runner{background_pool().get_executor()};
    std::map<std::string, std::string> vars{{"resync-tranquility", "2"}, {"scrub-tranquility", "4"}};
    api::admin::admin_api_server<model_type> admin;
    net::io_context ioc;
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) -> net::awaitable<void> {
                              return admin.handle(ex);
                          }};
    std::thread thread;
    net::io_context client;

    explicit fixture(std::optional<std::string> metrics_token)
        : admin(*m, {"admin-token", std::move(metrics_token), "garage", "", ""}, access())
    {
        reg.counter_family("api_s3_request_counter", "Number of API calls", {"api_endpoint"})
            .with({"PutObject"})
            .inc(7);
        reg.computed_gauge_family("cluster_healthy", "Whether all storage nodes are connected").with({}, [] {
            return std::optional<double>(1);
        });
        reg.histogram_family("block_read_duration", "h").with({}).observe(0.001);
        runner.spawn(std::make_unique<queue_worker>());
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}).has_value());
        srv.start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        ioc.stop();
        thread.join();
        runner.request_stop();
        runner.wait_stopped();
    }

    api::admin::admin_node_access access()
    {
        api::admin::admin_node_access a;
        a.metrics = &reg;
        a.workers = &runner;
        a.get_worker_vars = [this] {
            return std::vector<std::pair<std::string, std::string>>(vars.begin(), vars.end());
        };
        a.set_worker_var = [this](std::string_view name, std::string_view value) -> util::result<void> {
            auto it = vars.find(std::string(name));
            if (it == vars.end()) {
                return util::failure(util::error::config_invalid_value,
                                     "unknown variable: " + std::string(name));
            }
            it->second = std::string(value);
            return {};
        };
        return a;
    }

    http::response<http::string_body> call(http::verb method, std::string target, std::string token,
                                           std::string body = {})
    {
        return test::admin_call(client, srv.port(), method, std::move(target), std::move(body), token);
    }
};

std::string message_of(http::response<http::string_body> const& r)
{
    return std::string(json::parse(r.body()).at("message").as_string());
}

TEST_CASE("/metrics with a metrics_token refuses a missing or wrong token and keeps serving",
          "[api][admin][metrics]")
{
    fixture f("metrics-token");
    auto none = f.call(http::verb::get, "/metrics", "");
    CHECK(none.result_int() == 403);
    CHECK(message_of(none) == "Authorization token must be provided");
    auto wrong = f.call(http::verb::get, "/metrics", "not-the-token");
    CHECK(wrong.result_int() == 403);
    CHECK(message_of(wrong) == "Invalid authorization token");
    CHECK(json::parse(wrong.body()).at("path") == "/metrics");
    auto admin = f.call(http::verb::get, "/metrics", "admin-token");
    CHECK(admin.result_int() == 403); // the admin token is not the metrics token
    auto ok = f.call(http::verb::get, "/metrics", "metrics-token");
    REQUIRE(ok.result_int() == 200);
    CHECK(ok[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(ok.body().find("# TYPE api_s3_request_counter counter\n") != std::string::npos);
    CHECK(ok.body().find("api_s3_request_counter{api_endpoint=\"PutObject\"} 7\n") != std::string::npos);
    CHECK(ok.body().find("cluster_healthy 1\n") != std::string::npos);
    CHECK(ok.body().find("block_read_duration_count 1\n") != std::string::npos);
}

TEST_CASE("/metrics without a metrics_token is open", "[api][admin][metrics]")
{
    fixture f(std::nullopt);
    auto ok = f.call(http::verb::get, "/metrics", "");
    CHECK(ok.result_int() == 200);
    CHECK(ok.body().find("api_s3_request_counter{api_endpoint=\"PutObject\"} 7") != std::string::npos);
    auto any = f.call(http::verb::get, "/metrics", "whatever");
    CHECK(any.result_int() == 200);
}

TEST_CASE("/v1/stats gives the figures of /metrics as JSON, behind the admin token", "[api][admin][metrics]")
{
    fixture f(std::nullopt);
    CHECK(f.call(http::verb::get, "/v1/stats", "").result_int() == 403);
    CHECK(f.call(http::verb::get, "/v1/stats", "wrong").result_int() == 403);
    auto r = f.call(http::verb::get, "/v1/stats", "admin-token");
    REQUIRE(r.result_int() == 200);
    auto const v = json::parse(r.body());
    bool found = false;
    for (auto const& fam : v.at("metrics").as_array()) {
        if (fam.at("name") == "api_s3_request_counter") {
            auto const& s = fam.at("samples").as_array().at(0);
            CHECK(s.at("labels").at("api_endpoint") == "PutObject");
            CHECK(s.at("value").to_number<double>() == 7);
            found = true;
        }
        for (auto const& s : fam.at("samples").as_array()) {
            CHECK(s.at("suffix") != "_bucket");
        }
    }
    CHECK(found);
}

TEST_CASE("/v1/worker lists the background workers with their status", "[api][admin][workers]")
{
    fixture f(std::nullopt);
    CHECK(f.call(http::verb::get, "/v1/worker", "").result_int() == 403);
    auto r = f.call(http::verb::get, "/v1/worker", "admin-token");
    REQUIRE(r.result_int() == 200);
    auto const v = json::parse(r.body());
    REQUIRE(v.as_array().size() == 1);
    auto const& w = v.as_array()[0];
    CHECK(w.at("id") == 1);
    CHECK(w.at("name") == "test queue worker");
    CHECK(w.at("errors") == 0);
    CHECK(w.at("lastError").is_null());
    // status() is read after a step: poll until the first step has run
    for (int i = 0; i < 200; ++i) {
        auto again = json::parse(f.call(http::verb::get, "/v1/worker", "admin-token").body());
        if (!again.as_array()[0].at("queueLength").is_null()) {
            CHECK(again.as_array()[0].at("queueLength") == 3);
            CHECK(again.as_array()[0].at("tranquility") == 2);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the worker's status never appeared");
}

TEST_CASE("worker variables are read and set; unknown ones are refused", "[api][admin][workers]")
{
    fixture f(std::nullopt);
    auto all = json::parse(f.call(http::verb::get, "/v1/worker/var", "admin-token").body());
    CHECK(all.at("resync-tranquility") == "2");
    CHECK(all.at("scrub-tranquility") == "4");
    auto one =
        json::parse(f.call(http::verb::get, "/v1/worker/var?name=scrub-tranquility", "admin-token").body());
    CHECK(one.as_object().size() == 1);
    auto set = f.call(http::verb::post, "/v1/worker/var", "admin-token",
                      R"({"name": "resync-tranquility", "value": "5"})");
    REQUIRE(set.result_int() == 200);
    CHECK(json::parse(set.body()).at("resync-tranquility") == "5");
    CHECK(f.vars["resync-tranquility"] == "5");
    auto num = f.call(http::verb::post, "/v1/worker/var", "admin-token",
                      R"({"name": "scrub-tranquility", "value": 9})");
    CHECK(num.result_int() == 200);
    CHECK(f.vars["scrub-tranquility"] == "9");
    auto bad = f.call(http::verb::post, "/v1/worker/var", "admin-token", R"({"name": "nope", "value": "1"})");
    CHECK(bad.result_int() == 400);
    CHECK(message_of(bad).find("unknown variable") != std::string::npos);
    auto malformed = f.call(http::verb::post, "/v1/worker/var", "admin-token", R"({"name": 3})");
    CHECK(malformed.result_int() == 400);
    CHECK(f.call(http::verb::get, "/v1/worker/var?name=nope", "admin-token").result_int() == 400);
    CHECK(f.call(http::verb::post, "/v1/worker/var", "", R"({"name": "resync-tranquility", "value": "1"})")
              .result_int() == 403);
    CHECK(f.vars["resync-tranquility"] == "5");
}

TEST_CASE("admin endpoint names follow Garage's", "[api][admin][metrics]")
{
    using api::admin::admin_endpoint_name;
    CHECK(admin_endpoint_name("GET", "/health") == "Health");
    CHECK(admin_endpoint_name("GET", "/metrics") == "Metrics");
    CHECK(admin_endpoint_name("GET", "/check?domain=x") == "CheckDomain");
    CHECK(admin_endpoint_name("GET", "/v1/health") == "GetClusterHealth");
    CHECK(admin_endpoint_name("GET", "/v1/key") == "ListKeys");
    CHECK(admin_endpoint_name("GET", "/v1/key?id=GK1") == "GetKeyInfo");
    CHECK(admin_endpoint_name("GET", "/v1/key?search=a") == "GetKeyInfo");
    CHECK(admin_endpoint_name("POST", "/v1/key") == "CreateKey");
    CHECK(admin_endpoint_name("POST", "/v1/key?id=GK1") == "UpdateKey");
    CHECK(admin_endpoint_name("DELETE", "/v1/key?id=GK1") == "DeleteKey");
    CHECK(admin_endpoint_name("GET", "/v1/bucket?globalAlias=b") == "GetBucketInfo");
    CHECK(admin_endpoint_name("GET", "/v1/bucket") == "ListBuckets");
    CHECK(admin_endpoint_name("PUT", "/v1/bucket/alias/global?id=1&alias=a") == "GlobalAliasBucket");
    CHECK(admin_endpoint_name("GET", "/v1/worker") == "ListWorkers");
    CHECK(admin_endpoint_name("OPTIONS", "/v1/key") == "Options");
    CHECK(admin_endpoint_name("GET", "/nope") == "Unknown");
    CHECK(admin_endpoint_name("PATCH", "/v1/key") == "Unknown");
}

} // namespace
