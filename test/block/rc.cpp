// Test that header file is self-contained.
#include <garage/block/rc.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {
using namespace garage;
using block::rc_value;

std::string bytes(std::initializer_list<int> b)
{
    std::string s;
    for (int x : b) {
        s.push_back(static_cast<char>(x));
    }
    return s;
}

TEST_CASE("reference counts are stored as Garage stores them", "[block][rc]")
{
    CHECK_FALSE(rc_value::absent().encode().has_value());
    CHECK(rc_value::present(0x0102).encode() == bytes({0, 0, 0, 0, 0, 0, 1, 2}));
    CHECK(rc_value::deletable(0x0a0b).encode() ==
          bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x0b}));

    CHECK(rc_value::decode(std::nullopt).value() == rc_value::absent());
    CHECK(rc_value::decode(bytes({0, 0, 0, 0, 0, 0, 1, 2})).value() == rc_value::present(0x0102));
    CHECK(rc_value::decode(bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x0b})).value() ==
          rc_value::deletable(0x0a0b));
    // An 8-byte zero count is no reference.
    CHECK(rc_value::decode(bytes({0, 0, 0, 0, 0, 0, 0, 0})).value() == rc_value::absent());
}

TEST_CASE("malformed reference counts are reported, not guessed", "[block][rc]")
{
    for (auto const& bad : {std::string(), std::string(7, '\0'), std::string(9, '\0'), std::string(17, '\0'),
                            bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5})}) {
        auto r = rc_value::decode(std::string_view(bad));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == block::error::corrupt_metadata);
    }
}

TEST_CASE("reference counts move between present, deletable and absent", "[block][rc]")
{
    auto v = rc_value::absent();
    CHECK(v.is_zero());
    CHECK(v.is_deletable(0));
    v = v.incremented();
    CHECK(v == rc_value::present(1));
    CHECK_FALSE(v.is_zero());
    CHECK_FALSE(v.is_deletable(~0ull));
    v = v.incremented().decremented(1000, 600);
    CHECK(v == rc_value::present(1));
    v = v.decremented(1000, 600);
    CHECK(v == rc_value::deletable(1600));
    CHECK(v.count() == 0);
    CHECK(v.deletable_at() == 1600u);
    CHECK(v.is_zero());
    CHECK_FALSE(v.is_deletable(1599));
    CHECK(v.is_deletable(1600));
    // Dropping a reference that is not there changes nothing.
    CHECK(v.decremented(5000, 600) == v);
    CHECK(rc_value::absent().decremented(5000, 600) == rc_value::absent());
    // A new reference revives a deletable block.
    CHECK(v.incremented() == rc_value::present(1));
}
} // namespace
