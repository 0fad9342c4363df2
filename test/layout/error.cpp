// Test that header file is self-contained.
#include <garage/layout/error.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

TEST_CASE("layout errors have the garage.layout category and map to conditions", "[layout][error]")
{
    util::error_code const ec = layout::error::stale_version;
    CHECK(std::string(ec.category().name()) == "garage.layout");
    CHECK(ec.message() == "invalid new layout version");
    CHECK(ec == util::condition::precondition_failed);
    CHECK(util::error_code(layout::error::too_few_nodes) == util::condition::bad_request);
    CHECK(util::error_code(layout::error::too_few_zones) == util::condition::bad_request);
    CHECK(util::error_code(layout::error::insufficient_capacity) == util::condition::bad_request);
    CHECK(util::error_code(layout::error::unknown_node) == util::condition::not_found);
    CHECK(util::error_code(layout::error::inconsistent_history) == util::condition::conflict);
    CHECK(util::error_code(layout::error::invalid_layout) == util::condition::corrupt_data);
    CHECK(util::error_code(layout::error::invalid_layout) != util::condition::bad_request);
}

TEST_CASE("a layout failure carries its code and message", "[layout][error]")
{
    util::failure const f(layout::error::missing_version, "pass --version");
    CHECK(f.is(util::condition::bad_request));
    CHECK(f.message == "pass --version");
    CHECK(f.code == layout::error::missing_version);
}

} // namespace
