// Test that header file is self-contained.
#include <garage/util/error.hpp>

#include <garage/util/bytes32.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage::util;

TEST_CASE("util errors map to generic conditions", "[util][error]")
{
    error_code ec = error::invalid_hex;
    CHECK(ec == condition::bad_request);
    CHECK(ec != condition::not_found);
    CHECK(std::string(ec.category().name()) == "garage.util");
    CHECK(make_error_code(error::decode_error) == condition::corrupt_data);
}

TEST_CASE("result carries a failure with a message", "[util][error]")
{
    result<int> r = failure(error::config_missing_key, "missing key `metadata_dir` in /etc/garage.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().is(condition::bad_request));
    CHECK(r.error().message.find("metadata_dir") != std::string::npos);
    CHECK_THROWS_AS(r.value(), failure_exception);
    result<int> ok = 3;
    CHECK(ok.value() == 3);
}

TEST_CASE("bytes32 round-trips through hex and rejects bad input", "[util][bytes32]")
{
    auto u = gen_uuid();
    CHECK_FALSE(u.is_zero());
    CHECK(u != gen_uuid());
    auto hex = u.to_hex();
    CHECK(hex.size() == 64);
    auto back = uuid::from_hex(hex);
    REQUIRE(back);
    CHECK(*back == u);
    CHECK_FALSE(uuid::from_hex("abc"));
    CHECK_FALSE(uuid::from_hex(std::string(64, 'z')));
    CHECK_FALSE(hash32::from_bytes("short"));
}
} // namespace
