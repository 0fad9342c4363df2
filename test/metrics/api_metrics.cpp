// Test that header file is self-contained.
#include <garage/metrics/api_metrics.hpp>

#include <catch2/catch.hpp>

namespace {

using namespace garage::metrics;
using namespace std::chrono_literals;

TEST_CASE("api metrics use Garage's names and count errors by status code", "[metrics][api]")
{
    registry reg;
    api_metrics s3(reg, "s3");
    s3.record("PutObject", 200, 2ms);
    s3.record("PutObject", 403, 1ms);
    s3.record("GetObject", 404, 1ms);
    s3.record("GetObject", 200, 30ms);
    auto req = reg.collect("api_s3_request_counter");
    REQUIRE(req);
    CHECK(req->value({"PutObject"}) == 2);
    CHECK(req->value({"GetObject"}) == 2);
    auto err = reg.collect("api_s3_error_counter");
    REQUIRE(err);
    CHECK(err->value({"PutObject", "403"}) == 1);
    CHECK(err->value({"GetObject", "404"}) == 1);
    CHECK_FALSE(err->value({"GetObject", "200"}));
    auto dur = reg.collect("api_s3_request_duration");
    REQUIRE(dur);
    CHECK(dur->value({"GetObject"}, "_count") == 2);
    CHECK(dur->value({"GetObject"}, "_sum") == Approx(0.031));
}

TEST_CASE("two api_metrics of one API share their families", "[metrics][api]")
{
    registry reg;
    api_metrics a(reg, "admin");
    api_metrics b(reg, "admin");
    a.record("Metrics", 200, 1ms);
    b.record("Metrics", 200, 1ms);
    CHECK(reg.collect("api_admin_request_counter")->value({"Metrics"}) == 2);
    CHECK(&a.requests() == &b.requests());
}

TEST_CASE("the web endpoint's metrics have no api_ prefix", "[metrics][api]")
{
    registry reg;
    api_metrics web(reg, "web", api_metrics::prefix::bare);
    web.record("GET", 200, 1ms);
    CHECK(reg.collect("web_request_counter"));
    CHECK_FALSE(reg.collect("api_web_request_counter"));
}

} // namespace
