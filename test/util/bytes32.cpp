// Test that header file is self-contained.
#include <garage/util/bytes32.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <type_traits>
#include <unordered_set>

namespace {
using namespace garage::util;

TEST_CASE("gen_uuid gives distinct non-zero ids", "[util][bytes32]")
{
    std::set<uuid> seen;
    for (int i = 0; i < 100; ++i) {
        auto u = gen_uuid();
        CHECK_FALSE(u.is_zero());
        seen.insert(u);
    }
    CHECK(seen.size() == 100);
}

TEST_CASE("random_bytes fills the whole buffer", "[util][bytes32]")
{
    // The chance that a given byte stays zero in all of 8 fills is 2^-64.
    std::array<unsigned char, 1000> any_nonzero{};
    for (int round = 0; round < 8; ++round) {
        std::array<unsigned char, 1000> buf{};
        random_bytes(buf.data(), buf.size());
        for (std::size_t i = 0; i < buf.size(); ++i) {
            any_nonzero[i] |= buf[i];
        }
    }
    for (auto b : any_nonzero) {
        REQUIRE(b != 0);
    }
    random_bytes(nullptr, 0); // a zero-length request is valid
}

TEST_CASE("bytes32 types are distinct, ordered and hashable", "[util][bytes32]")
{
    static_assert(!std::is_convertible_v<uuid, hash32>);
    static_assert(!std::is_convertible_v<hash32, node_id>);
    hash32 a, b;
    b[31] = 1;
    CHECK(a < b);
    CHECK(a.is_zero());
    CHECK_FALSE(b.is_zero());
    std::unordered_set<hash32> set{a, b, a};
    CHECK(set.size() == 2);
    auto from = hash32::from_bytes(b.view());
    REQUIRE(from);
    CHECK(*from == b);
    CHECK(b.to_hex() == std::string(62, '0') + "01");
}
} // namespace
