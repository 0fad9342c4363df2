// Test that header file is self-contained.
#include <garage/model/types.hpp>

#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::deleted_filter;

TEST_CASE("deleted_filter selects by deletion state", "[model][types]")
{
    CHECK(model::matches(deleted_filter::any, true));
    CHECK(model::matches(deleted_filter::any, false));
    CHECK(model::matches(deleted_filter::deleted, true));
    CHECK_FALSE(model::matches(deleted_filter::deleted, false));
    CHECK(model::matches(deleted_filter::not_deleted, false));
    CHECK_FALSE(model::matches(deleted_filter::not_deleted, true));
}

TEST_CASE("checksum sizes follow the algorithms", "[model][types]")
{
    STATIC_REQUIRE(model::checksum_size(model::checksum_algorithm::crc32) == 4);
    STATIC_REQUIRE(model::checksum_size(model::checksum_algorithm::crc32c) == 4);
    STATIC_REQUIRE(model::checksum_size(model::checksum_algorithm::crc64nvme) == 8);
    STATIC_REQUIRE(model::checksum_size(model::checksum_algorithm::sha1) == 20);
    STATIC_REQUIRE(model::checksum_size(model::checksum_algorithm::sha256) == 32);
}

TEST_CASE("checksum values order by algorithm then bytes and survive cereal", "[model][types]")
{
    model::checksum_value const a{model::checksum_algorithm::crc32, "\x01\x02\x03\x04"};
    model::checksum_value const b{model::checksum_algorithm::crc32, "\x01\x02\x03\x05"};
    model::checksum_value const c{model::checksum_algorithm::sha1, std::string(20, '\0')};
    CHECK(a < b);
    CHECK(b < c);
    CHECK(test::cereal_round_trip(c) == c);
    CHECK(test::cereal_round_trip(a) == a);
}

TEST_CASE("the empty key hashes to zero and sorts as no bytes", "[model][types]")
{
    CHECK(table::partition_hash(model::no_key).is_zero());
    CHECK(table::sort_key_bytes(model::no_key).empty());
}
} // namespace
