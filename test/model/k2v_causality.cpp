// Test that header file is self-contained.
#include <garage/model/k2v_causality.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::causal_context;

TEST_CASE("a causality token round-trips through its text form", "[model][k2v][causality]")
{
    causal_context ct;
    ct.clock = {{4, 42}, {1928131023, 76}, {0xefc0c1c47f9de433ull, 2}};
    auto const text = ct.serialize();
    CHECK(text.find('=') == std::string::npos);
    CHECK(text.find('+') == std::string::npos);
    CHECK(text.find('/') == std::string::npos);
    auto back = causal_context::parse(text);
    REQUIRE(back);
    CHECK(*back == ct);
}

TEST_CASE("a causality token is base64url of a checksum and big-endian pairs", "[model][k2v][causality]")
{
    causal_context ct;
    ct.clock = {{1, 2}};
    // checksum 1 ^ 2 = 3, then node 1, time 2, each a big-endian u64
    std::string bytes(24, '\0');
    bytes[7] = 3;
    bytes[15] = 1;
    bytes[23] = 2;
    CHECK(ct.serialize() == model::to_base64url_nopad(bytes));
    CHECK(causal_context{}.serialize() == "AAAAAAAAAAA");
}

TEST_CASE("malformed causality tokens are refused", "[model][k2v][causality]")
{
    causal_context ct;
    ct.clock = {{7, 1000}};
    auto good = ct.serialize();
    CHECK(causal_context::parse(good));
    CHECK_FALSE(causal_context::parse("not a token!"));
    CHECK_FALSE(causal_context::parse(good + "="));     // padding
    CHECK_FALSE(causal_context::parse(good.substr(1))); // wrong length
    CHECK_FALSE(causal_context::parse("AAAA"));         // 3 bytes: not 8 + 16n
    auto tampered = good;
    tampered[12] = tampered[12] == 'A' ? 'B' : 'A'; // flips bits of the node id: checksum fails
    CHECK_FALSE(causal_context::parse(tampered));
    CHECK_FALSE(causal_context::parse(""));
}

TEST_CASE("vector clocks compare and combine pointwise", "[model][k2v][causality]")
{
    model::vector_clock a{{1, 5}, {2, 3}};
    model::vector_clock b{{1, 5}};
    CHECK(model::vclock_gt(a, b));
    CHECK_FALSE(model::vclock_gt(b, a));
    CHECK_FALSE(model::vclock_gt(a, a));
    auto m = model::vclock_max(model::vector_clock{{1, 9}}, a);
    CHECK(m == model::vector_clock{{1, 9}, {2, 3}});
}

TEST_CASE("a k2v node id is the first eight bytes of the node id", "[model][k2v][causality]")
{
    util::node_id n;
    n[0] = 0x01;
    n[7] = 0xff;
    n[8] = 0x55; // ignored
    CHECK(model::make_k2v_node_id(n) == 0x01000000000000ffull);
}

} // namespace
