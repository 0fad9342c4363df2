// Test that header file is self-contained.
#include <garage/block/fetcher.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;

TEST_CASE("the null fetcher has nothing to fetch and nothing to offload", "[block][fetcher]")
{
    block::null_block_fetcher f;
    util::hash32 h;
    h[0] = 7;
    auto r = f.fetch(h);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == block::error::block_not_found);
    CHECK_THAT(r.error().message, Catch::Contains(h.to_hex()));
    bool read = false;
    CHECK(f.offload(h, [&]() -> util::result<block::data_block> {
        read = true;
        return block::data_block{};
    }));
    CHECK_FALSE(read); // a node alone never reads the block to offload it
    block::block_fetcher& base = f;
    CHECK_FALSE(base.fetch(h));
}

TEST_CASE("a node alone should store every block and never hands one over", "[block][fetcher]")
{
    block::null_block_fetcher f;
    util::hash32 h;
    h[1] = 9;
    CHECK(f.should_store(h));
    bool read = false;
    auto r = f.hand_over(h, [&]() -> util::result<block::data_block> {
        read = true;
        return block::data_block{};
    });
    CHECK_FALSE(r); // keeps the copy
    CHECK_FALSE(read);
}
} // namespace
