// Test that header file is self-contained.
#include <garage/model/k2v_item.hpp>

#include <garage/crdt/crdt.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

namespace {
using namespace garage;
using model::causal_context;
using model::dvvs_entry;
using model::k2v_item;

static_assert(crdt::crdt<dvvs_entry>);
static_assert(crdt::crdt<k2v_item>);

model::k2v_item_partition part()
{
    util::uuid b;
    b[0] = 7;
    return {b, "mailbox"};
}

std::vector<std::optional<std::string>> vals(k2v_item const& i)
{
    std::vector<std::optional<std::string>> out;
    for (auto const* v : i.values()) {
        out.push_back(*v);
    }
    return out;
}

TEST_CASE("writes without a causal context become siblings", "[model][k2v][item]")
{
    k2v_item i(part(), "INBOX");
    i.update(1, std::nullopt, std::string("a"), 100);
    i.update(1, std::nullopt, std::string("b"), 100);
    CHECK(vals(i) == std::vector<std::optional<std::string>>{"a", "b"});
    CHECK_FALSE(i.is_tombstone());
}

TEST_CASE("a write with the context of a read supersedes what was read", "[model][k2v][item]")
{
    k2v_item i(part(), "INBOX");
    i.update(1, std::nullopt, std::string("a"), 100);
    i.update(2, std::nullopt, std::string("b"), 100);
    auto const ctx = i.context();
    i.update(1, std::nullopt, std::string("c"), 100); // concurrent with the read
    i.update(2, ctx, std::string("d"), 100);
    CHECK(vals(i) == std::vector<std::optional<std::string>>{"c", "d"});
    i.update(1, i.context(), std::nullopt, 100);
    CHECK(vals(i) == std::vector<std::optional<std::string>>{std::nullopt});
    CHECK(i.is_tombstone());
}

TEST_CASE("new timestamps exceed the node's latest and the given clock", "[model][k2v][item]")
{
    k2v_item i(part(), "x");
    CHECK(i.update(1, std::nullopt, std::string("a"), 100) == 101);
    CHECK(i.update(1, std::nullopt, std::string("b"), 50) == 102);
    CHECK(i.update(1, std::nullopt, std::string("c"), 500) == 501);
    CHECK(i.context().clock == model::vector_clock{{1, 501}});
}

TEST_CASE("equal concurrent values are returned once", "[model][k2v][item]")
{
    k2v_item i(part(), "x");
    i.update(1, std::nullopt, std::string("same"), 1);
    i.update(2, std::nullopt, std::string("same"), 1);
    CHECK(vals(i).size() == 1);
}

TEST_CASE("merging dvvs entries keeps values above the larger discard time", "[model][k2v][item]")
{
    dvvs_entry e1{4, {{5, std::string("\x0f")}, {6, std::string("\x10")}}};
    dvvs_entry e2{5, {{6, std::string("\x10")}, {7, std::nullopt}}};
    auto e3 = e1;
    e3.merge(e2);
    CHECK(e3 == e2);
}

TEST_CASE("merging items is commutative and idempotent on their values", "[model][k2v][item]")
{
    k2v_item base(part(), "x");
    base.update(1, std::nullopt, std::string("a"), 10);
    auto left = base;
    auto right = base;
    left.update(1, left.context(), std::string("b"), 10);
    right.update(2, std::nullopt, std::string("c"), 10);
    auto lr = left;
    lr.merge(right);
    auto rl = right;
    rl.merge(left);
    auto sorted = [](k2v_item const& i) {
        auto v = vals(i);
        std::sort(v.begin(), v.end());
        return v;
    };
    CHECK(sorted(lr) == sorted(rl));
    CHECK(sorted(lr) == std::vector<std::optional<std::string>>{"b", "c"});
    auto again = lr;
    again.merge(lr);
    CHECK(again == lr);
}

TEST_CASE("the index counter counts entries, conflicts, values and bytes", "[model][k2v][item]")
{
    k2v_item i(part(), "x");
    i.update(1, std::nullopt, std::string("abc"), 1);
    i.update(1, std::nullopt, std::string("de"), 1);
    auto c = model::k2v_index_counter::counts(i);
    CHECK(c[0] == model::counter_sample{"entries", 1});
    CHECK(c[1] == model::counter_sample{"conflicts", 1});
    CHECK(c[2] == model::counter_sample{"values", 2});
    CHECK(c[3] == model::counter_sample{"bytes", 5});
    i.update(1, i.context(), std::nullopt, 1);
    c = model::k2v_index_counter::counts(i);
    CHECK(c[0].second == 0);
    CHECK(c[1].second == 0);
    CHECK(c[2].second == 0);
    CHECK(c[3].second == 0);
}

TEST_CASE("the item filter selects conflicts and hides tombstones", "[model][k2v][item]")
{
    struct no_counter {
        using transaction_type = int;
        util::result<void> count(int&, k2v_item const*, k2v_item const*) { return {}; }
    };
    struct no_listener {
        void notify(k2v_item const&) {}
    };
    using schema = model::k2v_item_schema<no_counter, no_listener>;
    k2v_item one(part(), "a");
    one.update(1, std::nullopt, std::string("v"), 1);
    k2v_item two = one;
    two.update(1, std::nullopt, std::string("w"), 1);
    k2v_item dead(part(), "d");
    dead.update(1, std::nullopt, std::nullopt, 1);
    CHECK(schema::matches_filter(one, {}));
    CHECK_FALSE(schema::matches_filter(one, {false, true}));
    CHECK(schema::matches_filter(two, {false, true}));
    CHECK(schema::matches_filter(dead, {}));
    CHECK_FALSE(schema::matches_filter(dead, {true, false}));
}

TEST_CASE("the partition hash covers the bucket and the partition key", "[model][k2v][item]")
{
    auto p = part();
    auto q = p;
    q.partition_key = "other";
    auto r = p;
    r.bucket_id[1] = 1;
    CHECK(p.partition_hash() != q.partition_hash());
    CHECK(p.partition_hash() != r.partition_hash());
    CHECK(p.partition_hash() == part().partition_hash());
}

} // namespace
