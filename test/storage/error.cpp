// Test that header file is self-contained.
#include <garage/storage/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

namespace {
using namespace garage;
using storage::error;

TEST_CASE("storage errors map to generic conditions", "[storage][error]")
{
    std::vector<std::pair<error, util::condition>> const expected{
        {error::key_too_long, util::condition::bad_request},
        {error::map_full, util::condition::unavailable},
        {error::tree_not_found, util::condition::not_found},
        {error::too_many_trees, util::condition::unavailable},
        {error::read_only, util::condition::internal},
        {error::io_error, util::condition::io_error},
        {error::corrupt, util::condition::corrupt_data},
        {error::aborted, util::condition::conflict},
        {error::busy, util::condition::unavailable},
        {error::empty_key, util::condition::bad_request},
        {error::invalid_tree_name, util::condition::bad_request},
        {error::transaction_full, util::condition::unavailable},
    };
    for (auto [e, c] : expected) {
        util::error_code const ec = e;
        CAPTURE(static_cast<int>(e));
        CHECK(ec == c);
        CHECK(std::string(ec.category().name()) == "garage.storage");
        CHECK_FALSE(ec.message().empty());
        CHECK(ec.message() != "unknown storage error");
    }
    CHECK(util::error_code(error::map_full) != util::condition::not_found);
    CHECK(util::error_code(error::map_full).message().find("lmdb_map_size") != std::string::npos);
}

TEST_CASE("a storage failure carries its code and message", "[storage][error]")
{
    util::failure const f(error::key_too_long, "key of 600 bytes in tree `object`");
    CHECK(f.code == error::key_too_long);
    CHECK(f.is(util::condition::bad_request));
    CHECK(f.message == "key of 600 bytes in tree `object`");
    CHECK(util::failure(error::corrupt).message == util::error_code(error::corrupt).message());
}

} // namespace
