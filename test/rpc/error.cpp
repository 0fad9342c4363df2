// Test that header file is self-contained.
#include <garage/rpc/error.hpp>

#include <catch2/catch.hpp>

namespace {

using garage::rpc::error;
using garage::util::condition;

TEST_CASE("rpc errors have their own category and map to generic conditions", "[rpc][error]")
{
    garage::util::error_code ec = error::auth_failed;
    CHECK(std::string(ec.category().name()) == "garage.rpc");
    CHECK(ec == condition::forbidden);
    CHECK(garage::util::error_code(error::timeout) == condition::unavailable);
    CHECK(garage::util::error_code(error::quorum_not_reached) == condition::quorum_not_reached);
    CHECK(garage::util::error_code(error::frame_too_large) == condition::bad_request);
    CHECK_FALSE(ec.message().empty());
    garage::util::failure f(error::unknown_version, "v9");
    CHECK(f.is(condition::bad_request));
}

} // namespace
