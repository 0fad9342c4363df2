// Test that header file is self-contained.
#include <garage/table/endpoints.hpp>

#include <garage/util/codec.hpp>

#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::kv_schema;

struct other_schema : kv_schema {
    static constexpr std::string_view table_name = "bucket_v2";
};

TEST_CASE("endpoint paths are Garage's, built from the table name at compile time", "[table][endpoints]")
{
    STATIC_REQUIRE(table::table_endpoint<other_schema>::path == "garage_table/table.rs/Rpc:bucket_v2");
    STATIC_REQUIRE(table::sync_endpoint<other_schema>::path == "garage_table/sync.rs/Rpc:bucket_v2");
    STATIC_REQUIRE(table::gc_endpoint<other_schema>::path == "garage_table/gc.rs/Rpc:bucket_v2");
    STATIC_REQUIRE(rpc::endpoint<table::sync_endpoint<kv_schema>>);
    STATIC_REQUIRE(rpc::endpoint<table::gc_endpoint<kv_schema>>);
}

TEST_CASE("table messages survive encoding and refuse garbage", "[table][endpoints]")
{
    table::read_range_request rr;
    rr.partition_hash = table::partition_hash(std::string("p"));
    rr.start_sort_key = "k";
    rr.filter = util::encode(test::value_prefix{"x"});
    rr.limit = 7;
    rr.reverse = true;
    auto bytes = util::encode(table::table_request(rr));
    auto back = util::decode<table::table_request>(bytes);
    REQUIRE(back);
    auto* got = std::get_if<table::read_range_request>(&*back);
    REQUIRE(got != nullptr);
    CHECK(got->partition_hash == rr.partition_hash);
    CHECK(got->start_sort_key == rr.start_sort_key);
    CHECK(got->filter == rr.filter);
    CHECK(got->limit == 7);
    CHECK(got->reverse);

    table::delete_if_equal_hash_request d;
    d.items.emplace_back("key", util::hash32{});
    auto gc = util::decode<table::gc_request>(util::encode(table::gc_request(d)));
    REQUIRE(gc);
    REQUIRE(std::holds_alternative<table::delete_if_equal_hash_request>(*gc));
    CHECK(std::get<table::delete_if_equal_hash_request>(*gc).items.size() == 1);

    // An unknown alternative, a truncated message, trailing bytes.
    CHECK_FALSE(util::decode<table::table_request>(std::string("\x01\x07", 2)));
    CHECK_FALSE(util::decode<table::sync_request>(bytes.substr(0, bytes.size() - 3)));
    CHECK_FALSE(util::decode<table::table_request>(bytes + "zz"));
}

} // namespace
