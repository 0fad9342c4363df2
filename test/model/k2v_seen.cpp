// Test that header file is self-contained.
#include <garage/model/k2v_seen.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::k2v_item;
using model::k2v_seen_marker;

model::k2v_item_partition part()
{
    util::uuid b;
    b[0] = 1;
    return {b, "p"};
}

k2v_item item(std::string sk, std::uint64_t ts)
{
    k2v_item i(part(), std::move(sk));
    i.update(1, std::nullopt, std::string("v"), ts);
    return i;
}

TEST_CASE("a seen marker remembers items and recognises newer ones", "[model][k2v][seen]")
{
    k2v_seen_marker m;
    auto a = item("a", 10);
    CHECK(m.is_new_item(a));
    m.mark_seen(1, a);
    CHECK_FALSE(m.is_new_item(a));
    auto a2 = a;
    a2.update(1, a.context(), std::string("w"), 10);
    CHECK(m.is_new_item(a2));
    // An item written by another node beyond the marker's clock is new too.
    auto b = item("b", 5);
    b.update(2, std::nullopt, std::string("x"), 5);
    CHECK(m.is_new_item(b));
}

TEST_CASE("a seen marker round-trips through its text form", "[model][k2v][seen]")
{
    k2v_seen_marker m;
    m.mark_seen(1, item("a", 10));
    auto other = item("b", 3);
    other.update(7, std::nullopt, std::string("y"), 3);
    m.mark_seen(1, other);
    auto text = m.encode();
    auto back = k2v_seen_marker::decode(text);
    REQUIRE(back);
    CHECK(back->clock == m.clock);
    CHECK(back->items == m.items);
    CHECK_FALSE(k2v_seen_marker::decode("not base64!"));
    CHECK_FALSE(k2v_seen_marker::decode("AAAA"));
}

TEST_CASE("a poll range matches by prefix, start and end", "[model][k2v][seen]")
{
    model::k2v_poll_range r{part(), std::string("a"), std::string("ab"), std::string("ad")};
    CHECK(r.matches(item("ab", 1)));
    CHECK(r.matches(item("ac", 1)));
    CHECK_FALSE(r.matches(item("aa", 1)));
    CHECK_FALSE(r.matches(item("ad", 1)));
    CHECK_FALSE(r.matches(item("b", 1)));
    k2v_seen_marker m;
    m.items["zz"] = {{1, 5}};
    m.items["ac"] = {{1, 5}};
    m.restrict(r);
    CHECK(m.items.size() == 1);
    CHECK(m.items.count("ac") == 1);
}

} // namespace
