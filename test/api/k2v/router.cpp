// Test that header file is self-contained.
#include <garage/api/k2v/router.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage::api::k2v;

route ok(std::string_view method, std::string_view target)
{
    auto r = route_request(method, target);
    REQUIRE(r);
    return *r;
}

TEST_CASE("item endpoints route by method and query", "[api][k2v][router]")
{
    auto r = ok("GET", "/bkt/mail%20box?sort_key=IN%2FBOX");
    CHECK(r.ep == endpoint::read_item);
    CHECK(r.bucket == "bkt");
    CHECK(r.partition_key == "mail box");
    CHECK(r.sort_key == "IN/BOX");

    r = ok("GET", "/bkt/p?sort_key=k&causality_token=abc&timeout=7");
    CHECK(r.ep == endpoint::poll_item);
    CHECK(r.causality_token == "abc");
    CHECK(r.timeout == 7u);

    CHECK(ok("PUT", "/bkt/p?sort_key=k").ep == endpoint::insert_item);
    CHECK(ok("DELETE", "/bkt/p?sort_key=k").ep == endpoint::delete_item);
    CHECK(ok("POST", "/bkt/p?poll_range").ep == endpoint::poll_range);
    CHECK(ok("SEARCH", "/bkt/p?poll_range").ep == endpoint::poll_range);
}

TEST_CASE("bucket endpoints route by method and keyword", "[api][k2v][router]")
{
    auto r = ok("GET", "/bkt?prefix=a&start=ab&end=b&limit=10&reverse=true");
    CHECK(r.ep == endpoint::read_index);
    CHECK(r.prefix == "a");
    CHECK(r.start == "ab");
    CHECK(r.end == "b");
    CHECK(r.limit == 10u);
    CHECK(r.reverse);
    CHECK(ok("GET", "/bkt").ep == endpoint::read_index);
    CHECK(ok("POST", "/bkt").ep == endpoint::insert_batch);
    CHECK(ok("POST", "/bkt?search").ep == endpoint::read_batch);
    CHECK(ok("SEARCH", "/bkt").ep == endpoint::read_batch);
    CHECK(ok("POST", "/bkt?delete").ep == endpoint::delete_batch);
    CHECK(ok("OPTIONS", "/bkt/anything").ep == endpoint::options);
}

TEST_CASE("the router refuses what it cannot route", "[api][k2v][router]")
{
    CHECK_FALSE(route_request("GET", "/"));                            // no bucket
    CHECK_FALSE(route_request("GET", "/bkt/p"));                       // no sort_key
    CHECK_FALSE(route_request("PUT", "/bkt"));                         // no partition key
    CHECK_FALSE(route_request("PATCH", "/bkt/p?sort_key=k"));          // unknown method
    CHECK_FALSE(route_request("POST", "/bkt?search&delete"));          // two keywords
    CHECK_FALSE(route_request("GET", "/bkt?limit=ten"));               // not a number
    CHECK_FALSE(route_request("GET", "/bkt?reverse=maybe"));           // not a boolean
    CHECK_FALSE(route_request("GET", "/bkt/%FF?sort_key=k"));          // not UTF-8
    CHECK_FALSE(route_request("GET", "/bkt/p?sort_key=a&sort_key=b")); // repeated
    CHECK_FALSE(route_request("POST", "/bkt/p"));                      // POST on an item without poll_range
}

TEST_CASE("read endpoints need read, the others write", "[api][k2v][router]")
{
    CHECK(is_read(endpoint::read_item));
    CHECK(is_read(endpoint::poll_item));
    CHECK(is_read(endpoint::read_index));
    CHECK(is_read(endpoint::read_batch));
    CHECK_FALSE(is_read(endpoint::insert_item));
    CHECK_FALSE(is_read(endpoint::delete_batch));
    CHECK_FALSE(is_read(endpoint::poll_range));
    CHECK(name(endpoint::poll_range) == "PollRange");
}

} // namespace
