// Test that header file is self-contained.
#include <garage/block/error.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

TEST_CASE("block errors have their own category and map to generic conditions", "[block][error]")
{
    util::error_code ec = block::error::corrupt_block;
    CHECK(std::string(ec.category().name()) == "garage.block");
    CHECK(ec == util::condition::corrupt_data);
    CHECK(util::error_code(block::error::block_not_found) == util::condition::not_found);
    CHECK(util::error_code(block::error::no_space) == util::condition::unavailable);
    CHECK(util::error_code(block::error::io_error) == util::condition::io_error);
    CHECK(util::error_code(block::error::layout_mismatch) == util::condition::unavailable);
    CHECK(util::error_code(block::error::invalid_data_dirs) == util::condition::bad_request);
    CHECK(util::error_code(block::error::block_too_large) == util::condition::bad_request);
    CHECK(util::error_code(block::error::corrupt_metadata) == util::condition::corrupt_data);
    CHECK(util::error_code(block::error::invalid_options) == util::condition::bad_request);
    CHECK_FALSE(ec.message().empty());
    util::failure f(block::error::no_space, "disk full");
    CHECK(f.is(util::condition::unavailable));
    CHECK(f.message == "disk full");
}
} // namespace
