// Test that header file is self-contained.
#include <garage/model/bucket_alias.hpp>

#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::bucket_alias;
using model::is_valid_bucket_name;
using test::merged;

static_assert(crdt::crdt<bucket_alias>);
static_assert(table::table_schema<model::bucket_alias_schema>);

util::uuid id(std::uint8_t b)
{
    util::uuid u;
    u[0] = b;
    return u;
}

TEST_CASE("a bucket alias points to the latest bucket written", "[model][bucket_alias]")
{
    auto const a = bucket_alias::make("photos", 10, id(1));
    auto const removed = bucket_alias::make("photos", 11, std::nullopt);
    auto const b = bucket_alias::make("photos", 12, id(2));
    CHECK(merged(a, removed).is_deleted());
    CHECK(merged(merged(a, removed), b).bucket_id() == std::optional<util::uuid>(id(2)));
    CHECK(merged(b, a).bucket_id() == std::optional<util::uuid>(id(2)));
    // Two different buckets in the same millisecond: the alias ends up pointing nowhere.
    CHECK(merged(bucket_alias::make("x", 5, id(1)), bucket_alias::make("x", 5, id(2))).is_deleted());
    CHECK(model::bucket_alias_schema::matches_filter(a, model::deleted_filter::not_deleted));
    CHECK(model::bucket_alias_schema::matches_filter(removed, model::deleted_filter::deleted));
    CHECK(test::cereal_round_trip(a) == a);
}

TEST_CASE("bucket names follow S3's rules", "[model][bucket_alias]")
{
    for (auto const* good : {"abc", "my-bucket", "my.bucket.2", "a1b", "xn-a", "0.0.0.0.0",
                             "012345678901234567890123456789012345678901234567890123456789012"}) {
        INFO(good);
        CHECK(is_valid_bucket_name(good));
    }
    for (auto const* bad : {"ab", "", "My-Bucket", "under_score", "-abc", "abc-", ".abc", "abc.",
                            "192.168.1.1", "0.0.0.0", "xn--abc", "abc.xn--def", "bucket-s3alias", "sp ace",
                            "0123456789012345678901234567890123456789012345678901234567890123"}) {
        INFO(bad);
        CHECK_FALSE(is_valid_bucket_name(bad));
    }
    CHECK(is_valid_bucket_name("xn--abc", true));
    CHECK(is_valid_bucket_name("abc.xn--def", true));
    // Not an address: a number above 255, a leading zero, or too few parts.
    CHECK(is_valid_bucket_name("256.1.1.1"));
    CHECK(is_valid_bucket_name("01.1.1.1"));
    CHECK(is_valid_bucket_name("1.1.1"));
}
} // namespace
