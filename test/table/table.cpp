// Test that header file is self-contained.
#include <garage/table/table.hpp>

#include <garage/replication/local.hpp>
#include <garage/util/codec.hpp>

#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

namespace {
using namespace garage;
using test::kv_entry;
using test::kv_schema;

template <class Backend>
using kv_table = table::table<kv_schema, replication::local, Backend>;

template <class Backend>
struct table_fixture : test::backend_fixture<Backend> {
    std::unique_ptr<kv_table<Backend>> t =
        kv_table<Backend>::open(kv_schema{}, replication::local{}, this->db).value();
};

kv_entry make(std::string pk, std::string sk, std::uint64_t ts, std::string v, bool deleted = false)
{
    return kv_entry{std::move(pk), std::move(sk), ts, std::move(v), deleted};
}

// --- the schema concept accepts complete schemas and rejects incomplete ones ---------------

struct no_filter_schema {
    static constexpr std::string_view table_name = "x";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = kv_entry;
};
struct not_crdt_entry {
    std::string pk, sk;
    std::string const& partition_key() const { return pk; }
    std::string const& sort_key() const { return sk; }
    friend bool operator==(not_crdt_entry const&, not_crdt_entry const&) = default;
};
struct not_crdt_schema {
    static constexpr std::string_view table_name = "x";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = not_crdt_entry;
    using filter_type = table::no_filter;
    static bool matches_filter(not_crdt_entry const&, table::no_filter) { return true; }
};
struct unhashable_key_schema {
    static constexpr std::string_view table_name = "x";
    using partition_key_type = double;
    using sort_key_type = std::string;
    using entry_type = kv_entry;
    using filter_type = table::no_filter;
    static bool matches_filter(kv_entry const&, table::no_filter) { return true; }
};
static_assert(table::table_schema<kv_schema>);
static_assert(!table::table_schema<no_filter_schema>, "a schema without filter_type is rejected");
static_assert(!table::table_schema<not_crdt_schema>, "an entry without merge is rejected");
static_assert(!table::table_schema<unhashable_key_schema>, "a partition key without a hash is rejected");
static_assert(table::partition_key<util::uuid> && table::sort_key<table::empty_key>);

// --- local reads and writes --------------------------------------------------------------------

TEMPLATE_TEST_CASE("table insert merges with the stored entry", "[table][table]", storage::memory_backend,
                   storage::lmdb_backend)
{
    table_fixture<TestType> f;
    auto& t = *f.t;
    REQUIRE(t.insert(make("p", "a", 2, "new")));
    REQUIRE(t.insert(make("p", "a", 1, "old"))); // older: loses the merge
    auto got = t.get("p", "a");
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK((*got)->value == "new");
    CHECK((*got)->ts == 2);
    REQUIRE(t.insert(make("p", "a", 3, "newer")));
    CHECK(t.get("p", "a").value()->value == "newer");
    CHECK_FALSE(t.get("p", "b").value().has_value());
    CHECK(t.len().value() == 1);
}

TEMPLATE_TEST_CASE("table get_range reads one partition in order, with start, filter, limit and direction",
                   "[table][table]", storage::memory_backend, storage::lmdb_backend)
{
    table_fixture<TestType> f;
    auto& t = *f.t;
    std::vector<kv_entry> batch;
    for (char c = 'a'; c <= 'j'; ++c) {
        batch.push_back(make("p", std::string(1, c), 1, (c % 2 ? "odd-" : "even-") + std::string(1, c)));
        batch.push_back(make("other", std::string(1, c), 1, "x"));
    }
    REQUIRE(t.insert_many(batch));
    auto keys = [](std::vector<kv_entry> const& v) {
        std::string s;
        for (auto const& e : v) {
            s += e.sk;
        }
        return s;
    };
    using storage::direction;
    CHECK(keys(t.get_range("p", std::nullopt, std::nullopt, 100).value()) == "abcdefghij");
    CHECK(keys(t.get_range("p", std::string("c"), std::nullopt, 3).value()) == "cde");
    CHECK(keys(t.get_range("p", std::nullopt, std::nullopt, 100, direction::reverse).value()) ==
          "jihgfedcba");
    CHECK(keys(t.get_range("p", std::string("e"), std::nullopt, 2, direction::reverse).value()) == "ed");
    CHECK(keys(t.get_range("p", std::string("cc"), std::nullopt, 2, direction::reverse).value()) == "cb");
    CHECK(keys(t.get_range("p", std::nullopt, test::value_prefix{"odd"}, 100).value()) == "acegi");
    CHECK(keys(t.get_range("p", std::nullopt, test::value_prefix{"even"}, 2, direction::reverse).value()) ==
          "jh");
    CHECK(t.get_range("nothing", std::nullopt, std::nullopt, 10).value().empty());
    CHECK(t.get_range("p", std::nullopt, std::nullopt, 0).value().empty());
}

TEMPLATE_TEST_CASE("a key over the storage limit is refused and nothing is written", "[table][table]",
                   storage::memory_backend, storage::lmdb_backend)
{
    table_fixture<TestType> f;
    auto& t = *f.t;
    std::vector<kv_entry> batch{make("p", "fine", 1, "v"), make("p", std::string(600, 'k'), 1, "v")};
    auto r = t.insert_many(batch);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == table::error::key_too_long);
    CHECK(r.error().message.find("511") != std::string::npos);
    CHECK(t.len().value() == 0);
    CHECK(t.merkle().todo_len().value() == 0);
    CHECK_FALSE(t.get("p", std::string(600, 'k')).value().has_value());
}

TEMPLATE_TEST_CASE("a corrupt stored entry is a decoding error naming the table and key", "[table][table]",
                   storage::memory_backend, storage::lmdb_backend)
{
    table_fixture<TestType> f;
    auto& t = *f.t;
    REQUIRE(t.insert(make("p", "a", 1, "v")));
    auto tree = f.db.open_tree("kv:table").value();
    auto const key = kv_table<TestType>::tree_key("p", "a");
    REQUIRE(f.db.transact([&](auto& tx) { return tx.put(tree, key, std::string_view("\x01garbage")); }));
    auto got = t.get("p", "a");
    REQUIRE_FALSE(got);
    CHECK(got.error().code == table::error::corrupt_entry);
    CHECK(got.error().is(util::condition::corrupt_data));
    CHECK(got.error().message.find("table `kv`") != std::string::npos);
    CHECK(got.error().message.find(util::to_hex(key)) != std::string::npos);
    auto range = t.get_range("p", std::nullopt, std::nullopt, 10);
    REQUIRE_FALSE(range);
    CHECK(range.error().code == table::error::corrupt_entry);
    // A write on top of the corrupt value fails cleanly and leaves the stored bytes alone.
    CHECK_FALSE(t.insert(make("p", "a", 5, "w")));
    CHECK(f.db.get(tree, key).value().value() == "\x01garbage");
}

// --- hooks and the insert queue ----------------------------------------------------------------

/// A schema whose hook copies every new entry into another table, through its insert queue.
template <class Backend>
struct mirror_schema : kv_schema {
    static constexpr std::string_view table_name = "mirrored";
    kv_table<Backend>* mirror = nullptr;
    std::vector<std::pair<std::optional<kv_entry>, std::optional<kv_entry>>>* calls = nullptr;

    util::result<void> updated(typename Backend::transaction_type& tx, kv_entry const* old,
                               kv_entry const* now)
    {
        calls->emplace_back(old ? std::optional(*old) : std::nullopt,
                            now ? std::optional(*now) : std::nullopt);
        if (now && now->value == "refuse") {
            return util::failure(table::error::hook_failed, "refused by hook");
        }
        if (now) {
            return mirror->queue_insert(tx, *now);
        }
        return {};
    }
};

TEMPLATE_TEST_CASE("the updated hook runs in the write's transaction and can queue inserts", "[table][queue]",
                   storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    auto target = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db).value();
    std::vector<std::pair<std::optional<kv_entry>, std::optional<kv_entry>>> calls;
    mirror_schema<TestType> s;
    s.mirror = target.get();
    s.calls = &calls;
    auto source =
        table::table<mirror_schema<TestType>, replication::local, TestType>::open(s, {}, f.db).value();

    REQUIRE(source->insert(make("p", "a", 1, "one")));
    REQUIRE(source->insert(make("p", "a", 2, "two")));
    REQUIRE(calls.size() == 2);
    CHECK_FALSE(calls[0].first.has_value());
    CHECK(calls[0].second->value == "one");
    CHECK(calls[1].first->value == "one");
    CHECK(calls[1].second->value == "two");
    CHECK(source->insert(make("p", "a", 0, "stale"))); // merge leaves the value unchanged: no hook
    CHECK(calls.size() == 2);

    // Both queued versions were merged into one queue item.
    CHECK(target->insert_queue_len().value() == 1);
    CHECK_FALSE(target->get("p", "a").value().has_value());
    CHECK(target->flush_insert_queue().value() == 1);
    CHECK(target->insert_queue_len().value() == 0);
    CHECK(target->get("p", "a").value()->value == "two");

    // A failing hook aborts the whole write: neither table nor queue change.
    auto r = source->insert(make("p", "b", 1, "refuse"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "refused by hook");
    CHECK_FALSE(source->get("p", "b").value().has_value());
    CHECK(target->insert_queue_len().value() == 0);
}

// --- tombstone GC ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("tombstones are collected after the GC delay unless overwritten", "[table][gc]",
                   storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    auto t = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db, o).value();
    REQUIRE(t->insert(make("p", "live", 1, "v")));
    REQUIRE(t->insert(make("p", "dead", 1, "v")));
    REQUIRE(t->insert(make("p", "dead", 2, "", true)));
    REQUIRE(t->insert(make("p", "revived", 1, "", true)));
    REQUIRE(t->insert(make("p", "revived", 2, "back")));
    CHECK(t->gc_todo_len().value() == 2);
    CHECK(t->gc_step().value() == 2);
    CHECK(t->gc_todo_len().value() == 0);
    CHECK_FALSE(t->get("p", "dead").value().has_value());
    CHECK(t->get("p", "revived").value()->value == "back");
    CHECK(t->get("p", "live").value()->value == "v");

    // With the default 24 h delay nothing is collected yet.
    auto slow = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db).value();
    REQUIRE(slow->insert(make("p", "dead2", 3, "", true)));
    CHECK(slow->gc_step().value() == 0);
    CHECK(slow->get("p", "dead2").value().has_value());
}

TEMPLATE_TEST_CASE("tombstones are scheduled only on the partition's first storage node", "[table][gc]",
                   storage::memory_backend)
{
    struct second_node : replication::local {
        std::array<util::node_id, 2> storage_nodes(util::hash32 const&) const
        {
            return {util::node_id(util::hash32::array_type{1}), local_node()};
        }
    };
    test::backend_fixture<TestType> f;
    auto t = table::table<kv_schema, second_node, TestType>::open(kv_schema{}, second_node{}, f.db).value();
    REQUIRE(t->insert(make("p", "dead", 2, "", true)));
    CHECK(t->gc_todo_len().value() == 0);
}

// --- Merkle trees ------------------------------------------------------------------------------------

/// Checks the tree's invariants from the root: child hashes match children, no intermediate
/// node holds a single leaf, and the leaves are exactly the stored entries.
template <class Table>
std::size_t check_merkle(Table& t, std::string const& node_key, std::size_t depth = 0)
{
    auto n = t.merkle().read_node(node_key).value();
    switch (n.type) {
    case table::merkle_node::kind::empty:
        return 0;
    case table::merkle_node::kind::leaf: {
        auto khash = util::sha256sum(n.key); // the Merkle path hash (table/detail/hash.hpp)
        for (std::size_t i = 0; i < depth; ++i) {
            REQUIRE(static_cast<char>(khash[i]) == node_key[2 + i]);
        }
        return 1;
    }
    case table::merkle_node::kind::intermediate: {
        std::size_t leaves = 0;
        REQUIRE_FALSE(n.children.empty());
        for (auto const& [b, h] : n.children) {
            auto child_key = node_key + static_cast<char>(b);
            auto child = t.merkle().read_node(child_key).value();
            REQUIRE(child.type != table::merkle_node::kind::empty);
            REQUIRE(child.hash() == h);
            leaves += check_merkle(t, child_key, depth + 1);
        }
        REQUIRE(leaves >= 2);
        return leaves;
    }
    }
    return 0;
}

TEMPLATE_TEST_CASE("the Merkle tree follows inserts and deletions and is independent of their order",
                   "[table][merkle]", storage::memory_backend, storage::lmdb_backend)
{
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    o.merkle_batch = 37; // several batches, with paths shared between batches
    table_fixture<TestType> fa;
    test::backend_fixture<storage::memory_backend> fb;
    auto& a = *fa.t;
    auto b = kv_table<storage::memory_backend>::open(kv_schema{}, replication::local{}, fb.db, o).value();
    auto const root = table::merkle_node_key(0, {});
    CHECK(a.merkle().root_hash(0).value().is_zero());

    std::mt19937 rng(42);
    std::vector<kv_entry> entries;
    for (int i = 0; i < 600; ++i) {
        entries.push_back(
            make("p" + std::to_string(i % 7), "k" + std::to_string(i), 1, "v" + std::to_string(i)));
    }
    REQUIRE(a.insert_many(entries));
    CHECK(a.merkle().todo_len().value() == 1); // one record for the whole transaction
    CHECK(a.merkle().update_all().value() == 600);
    CHECK(a.merkle().todo_len().value() == 0);
    CHECK(check_merkle(a, root) == 600);

    std::shuffle(entries.begin(), entries.end(), rng);
    for (std::size_t i = 0; i < entries.size(); i += 50) {
        REQUIRE(b->insert_many(std::span(entries).subspan(i, std::min<std::size_t>(50, entries.size() - i))));
        REQUIRE(b->merkle().update_batch(23));
    }
    REQUIRE(b->merkle().update_all());
    CHECK(b->merkle().root_hash(0).value() == a.merkle().root_hash(0).value());

    // Change a value: roots differ until the other side gets the same change.
    REQUIRE(a.insert(make("p1", "k1", 5, "changed")));
    REQUIRE(a.merkle().update_all());
    CHECK(b->merkle().root_hash(0).value() != a.merkle().root_hash(0).value());
    REQUIRE(b->insert(make("p1", "k1", 5, "changed")));
    REQUIRE(b->merkle().update_all());
    CHECK(b->merkle().root_hash(0).value() == a.merkle().root_hash(0).value());

    // Tombstone and collect two thirds of the entries in b: leaves disappear, shape stays canonical.
    std::size_t removed = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i % 3 != 0) {
            auto e = entries[i];
            e.ts = 9;
            e.deleted = true;
            REQUIRE(b->insert(e));
            ++removed;
        }
    }
    REQUIRE(b->gc_step());
    while (b->gc_todo_len().value() > 0) {
        REQUIRE(b->gc_step());
    }
    REQUIRE(b->merkle().update_all());
    CHECK(check_merkle(*b, root) == 600 - removed);

    // A fresh tree built from the survivors alone has the same root.
    test::backend_fixture<storage::memory_backend> fc;
    auto c = kv_table<storage::memory_backend>::open(kv_schema{}, replication::local{}, fc.db).value();
    for (std::size_t i = 0; i < entries.size(); i += 3) {
        auto e = entries[i];
        if (e.pk == "p1" && e.sk == "k1") {
            e = make("p1", "k1", 5, "changed");
        }
        REQUIRE(c->insert(e));
    }
    REQUIRE(c->merkle().update_all());
    CHECK(c->merkle().root_hash(0).value() == b->merkle().root_hash(0).value());

    // Removing everything empties the tree.
    for (std::size_t i = 0; i < entries.size(); i += 3) {
        auto e = entries[i];
        e.ts = 10;
        e.deleted = true;
        REQUIRE(b->insert(e));
    }
    while (b->gc_todo_len().value() > 0) {
        REQUIRE(b->gc_step());
    }
    REQUIRE(b->merkle().update_all());
    CHECK(b->len().value() == 0);
    CHECK(b->merkle().root_hash(0).value().is_zero());
    CHECK(b->merkle().tree_len().value() == 0);
}

TEST_CASE("Merkle nodes round-trip and malformed nodes are rejected", "[table][merkle]")
{
    table::merkle_node leaf = table::merkle_node::make_leaf("some key", util::blake2sum("v"));
    CHECK(table::merkle_node::decode(leaf.encode()).value() == leaf);
    table::merkle_node inter;
    inter.type = table::merkle_node::kind::intermediate;
    inter.children = {{3, util::blake2sum("a")}, {200, util::blake2sum("b")}};
    CHECK(table::merkle_node::decode(inter.encode()).value() == inter);
    CHECK(table::merkle_node::decode(table::merkle_node{}.encode()).value().type ==
          table::merkle_node::kind::empty);
    CHECK(table::merkle_node{}.hash().is_zero());
    CHECK_FALSE(leaf.hash().is_zero());
    CHECK_FALSE(table::merkle_node::decode(""));
    CHECK_FALSE(table::merkle_node::decode("\x07"));
    auto truncated = inter.encode();
    truncated.pop_back();
    CHECK_FALSE(table::merkle_node::decode(truncated));
    CHECK(table::merkle_node_key(0x0102, "ab") == std::string("\x01\x02"
                                                              "ab"));
}
} // namespace
