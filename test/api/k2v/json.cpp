// Test that header file is self-contained.
#include <garage/api/k2v/json.hpp>

#include <garage/util/encoding.hpp>

#include <boost/json.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using namespace garage::api::k2v;

TEST_CASE("insert batch bodies parse with null tokens and values", "[api][k2v][json]")
{
    auto r = parse_insert_batch(
        R"([{"pk":"a","sk":"b","ct":null,"v":"aGk="},{"pk":"a","sk":"c","v":null,"x":1}])");
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].pk == "a");
    CHECK_FALSE((*r)[0].ct);
    CHECK((*r)[0].v == "aGk=");
    CHECK_FALSE((*r)[1].v);
}

TEST_CASE("read batch bodies take Garage's defaults", "[api][k2v][json]")
{
    auto r = parse_read_batch(
        R"([{"partitionKey":"p"},{"partitionKey":"q","limit":3,"reverse":true,"singleItem":false,"conflictsOnly":true,"tombstones":true}])");
    REQUIRE(r);
    CHECK((*r)[0].partition_key == "p");
    CHECK_FALSE((*r)[0].limit);
    CHECK_FALSE((*r)[0].reverse);
    CHECK((*r)[1].limit == 3u);
    CHECK((*r)[1].reverse);
    CHECK((*r)[1].conflicts_only);
    CHECK((*r)[1].tombstones);
}

TEST_CASE("malformed bodies are refused with a message", "[api][k2v][json]")
{
    CHECK_FALSE(parse_insert_batch("[{"));
    CHECK_FALSE(parse_insert_batch("{}"));
    CHECK_FALSE(parse_insert_batch("[1]"));
    CHECK_FALSE(parse_insert_batch(R"([{"pk":"a"}])"));        // missing sk
    CHECK_FALSE(parse_insert_batch(R"([{"pk":1,"sk":"a"}])")); // wrong type
    CHECK_FALSE(parse_read_batch(R"([{"partitionKey":"p","limit":-1}])"));
    CHECK_FALSE(parse_read_batch(R"([{"partitionKey":"p","reverse":"yes"}])"));
    CHECK_FALSE(parse_delete_batch(R"([{"prefix":"p"}])"));
    CHECK_FALSE(parse_poll_range("[]"));
    auto e = parse_insert_batch("nope");
    REQUIRE_FALSE(e);
    CHECK(e.error().message.starts_with("Invalid JSON"));
}

TEST_CASE("items are written as sort key, token and base64 values", "[api][k2v][json]")
{
    util::uuid b;
    model::k2v_item i({b, "p"}, "k");
    i.update(1, std::nullopt, std::string("hi"), 5);
    i.update(1, std::nullopt, std::nullopt, 5);
    auto o = item_json(i);
    CHECK(o.at("sk").as_string() == "k");
    CHECK(o.at("ct").as_string() == i.context().serialize());
    auto const& v = o.at("v").as_array();
    REQUIRE(v.size() == 2);
    CHECK(v[0].as_string() == util::to_base64("hi"));
    CHECK(v[1].is_null());
}

} // namespace
