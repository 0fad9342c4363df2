// Test that header file is self-contained.
#include <garage/table/table.hpp>

#include <garage/replication/local.hpp>
#include <garage/table/detail/hash.hpp>
#include <garage/util/codec.hpp>

#include <test/support/table_fixtures.hpp>

#include <cereal/types/string.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>

// Regression tests from the review of the table layer: each case pins down one behaviour that
// was wrong (or easy to get wrong) in table.hpp, impl/table.hpp and detail/merkle_batch.hpp.

namespace {
using namespace garage;
using test::kv_entry;
using test::kv_schema;

template <class Backend>
using kv_table = table::table<kv_schema, replication::local, Backend>;

// --- helpers ----------------------------------------------------------------------------------

/// Walks a partition's Merkle tree and checks every invariant: child hashes match the children,
/// every intermediate node holds two entries or more (canonical shape), every leaf lies on its
/// key's path and holds the hash of the entry's stored bytes. @return The number of leaves.
template <class Table, class Backend>
std::size_t walk_merkle(Table& t, Backend& db, typename Backend::tree_type const& store,
                        std::string const& node_key, std::size_t depth)
{
    auto n = t.merkle().read_node(node_key).value();
    switch (n.type) {
    case table::merkle_node::kind::empty:
        return 0;
    case table::merkle_node::kind::leaf: {
        auto const khash = table::detail::merkle_hash(n.key);
        for (std::size_t i = 0; i < depth; ++i) {
            REQUIRE(static_cast<char>(khash[i]) == node_key[2 + i]);
        }
        auto raw = db.get(store, n.key).value();
        REQUIRE(raw.has_value()); // the leaf's entry exists
        CHECK(table::detail::merkle_hash(*raw) == n.value_hash);
        return 1;
    }
    case table::merkle_node::kind::intermediate: {
        std::size_t leaves = 0;
        for (auto const& [b, h] : n.children) {
            auto const child_key = node_key + static_cast<char>(b);
            auto child = t.merkle().read_node(child_key).value();
            REQUIRE(child.type != table::merkle_node::kind::empty);
            REQUIRE(child.hash() == h);
            leaves += walk_merkle(t, db, store, child_key, depth + 1);
        }
        REQUIRE(leaves >= 2);
        return leaves;
    }
    }
    return 0;
}

/// Applies the Merkle todo and checks that the tree (partition 0) describes the store exactly.
template <class Table, class Backend>
void require_merkle_matches_store(Table& t, Backend& db)
{
    REQUIRE(t.merkle().update_all());
    auto const store = db.open_tree(std::string(Table::name()) + ":table").value();
    CHECK(walk_merkle(t, db, store, table::merkle_node_key(0, {}), 0) == t.len().value());
}

/// The root of a tree built from scratch, in one batch, from the entries `t` stores now.
template <class Table, class Backend>
util::hash32 fresh_root(Table&, Backend& db)
{
    auto const store = db.open_tree(std::string(Table::name()) + ":table").value();
    std::vector<kv_entry> all;
    REQUIRE(db.for_each(store, std::nullopt, storage::direction::forward,
                        [&](std::string_view, std::string_view v) {
                            all.push_back(util::decode<kv_entry>(v).value());
                            return true;
                        }));
    storage::memory_backend fresh_db;
    auto fresh = kv_table<storage::memory_backend>::open(kv_schema{}, replication::local{}, fresh_db).value();
    REQUIRE(fresh->insert_many(all));
    REQUIRE(fresh->merkle().update_all());
    return fresh->merkle().root_hash(0).value();
}

// --- a sort key whose bytes are computed, and partition keys that are their own hash ------------

/// A sort key that encodes itself into a new string (as a composite key would).
struct computed_sk {
    std::string s;
    std::string sort_key_bytes() const { return s; } // by value
    friend bool operator==(computed_sk const&, computed_sk const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(s);
    }
};

/// A partition key that is its own partition hash.
struct raw_pk {
    util::hash32 h;
    util::hash32 partition_hash() const { return h; }
    friend bool operator==(raw_pk const&, raw_pk const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(h);
    }
};

struct edge_entry {
    raw_pk pk;
    computed_sk sk;
    std::uint64_t ts = 0;
    raw_pk const& partition_key() const { return pk; }
    computed_sk const& sort_key() const { return sk; }
    void merge(edge_entry const& o) { ts = std::max(ts, o.ts); }
    friend bool operator==(edge_entry const&, edge_entry const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(pk, sk, ts);
    }
};

struct edge_schema {
    static constexpr std::string_view table_name = "edge";
    using partition_key_type = raw_pk;
    using sort_key_type = computed_sk;
    using entry_type = edge_entry;
    using filter_type = table::no_filter;
    static bool matches_filter(edge_entry const&, table::no_filter) { return true; }
};
static_assert(table::table_schema<edge_schema>);

template <class Backend>
using edge_table = table::table<edge_schema, replication::local, Backend>;

raw_pk pk_of(std::initializer_list<std::uint8_t> tail, std::uint8_t fill = 0)
{
    util::hash32::array_type a;
    a.fill(fill);
    std::copy(tail.begin(), tail.end(), a.end() - static_cast<std::ptrdiff_t>(tail.size()));
    return raw_pk{util::hash32(a)};
}

TEST_CASE("the storage key of a sort key whose bytes are returned by value is not a dangling view",
          "[table][review]")
{
    // Long enough that the returned string owns a heap buffer, freed at the end of the call.
    computed_sk const sk{std::string(48, 's') + "-tail"};
    auto const pk = pk_of({1, 2, 3});
    auto const key = edge_table<storage::memory_backend>::tree_key(pk, sk);
    CHECK(key == std::string(pk.h.view()) + sk.s);

    storage::memory_backend db;
    auto t = edge_table<storage::memory_backend>::open(edge_schema{}, replication::local{}, db).value();
    REQUIRE(t->insert(edge_entry{pk, sk, 7}));
    auto got = t->get(pk, sk).value();
    REQUIRE(got.has_value());
    CHECK(got->ts == 7);
}

TEMPLATE_TEST_CASE("get_range stays inside its partition at the edges of the hash space", "[table][review]",
                   storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    auto t = edge_table<TestType>::open(edge_schema{}, replication::local{}, f.db).value();
    // Neighbouring partitions: the successor of a's prefix is exactly the key of c's empty sort
    // key; d's prefix ends in 0xff bytes (its successor is shorter than a hash); z is all 0xff.
    std::vector<raw_pk> const parts{pk_of({1, 5}),    pk_of({1, 6}),       pk_of({2, 0xff, 0xff}),
                                    pk_of({3, 0, 0}), pk_of({0xfe}, 0xff), pk_of({}, 0xff),
                                    pk_of({}, 0)};
    std::vector<edge_entry> all;
    for (auto const& pk : parts) {
        for (std::string s : {"", "a", "b", "c"}) {
            all.push_back(edge_entry{pk, computed_sk{s}, 1});
        }
    }
    REQUIRE(t->insert_many(all));
    auto sks = [](std::vector<edge_entry> const& v) {
        std::string out;
        for (auto const& e : v) {
            out += "[" + e.sk.s + "]";
        }
        return out;
    };
    using storage::direction;
    for (auto const& pk : parts) {
        INFO(util::to_hex(pk.h.view()));
        CHECK(sks(t->get_range(pk, std::nullopt, std::nullopt, 100).value()) == "[][a][b][c]");
        CHECK(sks(t->get_range(pk, std::nullopt, std::nullopt, 100, direction::reverse).value()) ==
              "[c][b][a][]");
        CHECK(sks(t->get_range(pk, std::nullopt, std::nullopt, 2, direction::reverse).value()) == "[c][b]");
        CHECK(sks(t->get_range(pk, computed_sk{"b"}, std::nullopt, 100, direction::reverse).value()) ==
              "[b][a][]");
        CHECK(sks(t->get_range(pk, computed_sk{"bb"}, std::nullopt, 100).value()) == "[c]");
        CHECK(sks(t->get_range(pk, computed_sk{""}, std::nullopt, 100, direction::reverse).value()) == "[]");
    }
}

// --- encoding failures are errors, not exceptions ------------------------------------------------

/// An entry that cereal refuses to save when its value is "unencodable".
struct fragile_entry {
    std::string pk, sk;
    std::uint64_t ts = 0;
    std::string value;
    std::string const& partition_key() const { return pk; }
    std::string const& sort_key() const { return sk; }
    void merge(fragile_entry const& o)
    {
        if (o.ts > ts) {
            ts = o.ts;
            value = o.value;
        }
    }
    friend bool operator==(fragile_entry const&, fragile_entry const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        if constexpr (Archive::is_saving::value) {
            if (value == "unencodable") {
                throw cereal::Exception("value cannot be saved");
            }
        }
        ar(pk, sk, ts, value);
    }
};

struct fragile_schema {
    static constexpr std::string_view table_name = "fragile";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = fragile_entry;
    using filter_type = table::no_filter;
    static bool matches_filter(fragile_entry const&, table::no_filter) { return true; }
};

TEMPLATE_TEST_CASE("an entry that cannot be encoded fails the write with an error and writes nothing",
                   "[table][review]", storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    auto t = table::table<fragile_schema, replication::local, TestType>::open(fragile_schema{},
                                                                              replication::local{}, f.db)
                 .value();
    fragile_entry const bad{"p", "a", 2, "unencodable"};

    util::result<void> r;
    REQUIRE_NOTHROW(r = t->insert(bad));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == table::error::encode_failed);
    CHECK(r.error().message.find("value cannot be saved") != std::string::npos);
    CHECK(t->len().value() == 0);
    CHECK(t->merkle().todo_len().value() == 0);

    // Merging into a stored entry: the stored entry stays as it was.
    REQUIRE(t->insert(fragile_entry{"p", "a", 1, "fine"}));
    REQUIRE_NOTHROW(r = t->insert(bad));
    CHECK_FALSE(r);
    CHECK(t->get("p", "a").value()->value == "fine");

    // Queued from another write's transaction: the caller gets an error it can handle.
    REQUIRE_NOTHROW(r = f.db.transact([&](auto& tx) { return t->queue_insert(tx, bad); }));
    CHECK_FALSE(r);
    CHECK(t->insert_queue_len().value() == 0);
}

// --- hooks that write to their own table ---------------------------------------------------------

/// A schema whose hook answers an entry valued "to:<sk>" by writing `{pk, sk, ts + 1,
/// "from-<its sk>"}` back into the same table, through `write_back` (insert_in or queue_insert).
template <class Backend>
struct echo_schema : kv_schema {
    static constexpr std::string_view table_name = "echo";
    std::function<util::result<void>(typename Backend::transaction_type&, kv_entry const&)> write_back;

    util::result<void> updated(typename Backend::transaction_type& tx, kv_entry const*, kv_entry const* now)
    {
        if (now && now->value.starts_with("to:")) {
            return write_back(tx,
                              kv_entry{now->pk, now->value.substr(3), now->ts + 1, "from-" + now->sk, false});
        }
        return {};
    }
};

template <class Backend>
using echo_table = table::table<echo_schema<Backend>, replication::local, Backend>;

TEMPLATE_TEST_CASE("a hook that inserts into its own table leaves a Merkle tree that matches the store",
                   "[table][review]", storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    auto t = echo_table<TestType>::open(echo_schema<TestType>{}, replication::local{}, f.db).value();
    t->schema().write_back = [p = t.get()](auto& tx, kv_entry const& e) { return p->insert_in(tx, e); };

    // "b" is applied after "a" (key order) and its hook rewrites "a".
    std::vector<kv_entry> const batch{kv_entry{"p", "a", 1, "x", false},
                                      kv_entry{"p", "b", 1, "to:a", false}};
    REQUIRE(t->insert_many(batch));
    CHECK(t->get("p", "a").value()->value == "from-b");
    require_merkle_matches_store(*t, f.db);

    // A hook that rewrites the very entry it is told about.
    REQUIRE(t->insert(kv_entry{"p", "c", 1, "to:c", false}));
    CHECK(t->get("p", "c").value()->value == "from-c");
    require_merkle_matches_store(*t, f.db);
    CHECK(t->merkle().root_hash(0).value() == fresh_root(*t, f.db));
}

TEMPLATE_TEST_CASE("flushing the insert queue keeps what hooks queue to their own table meanwhile",
                   "[table][review]", storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    auto t = echo_table<TestType>::open(echo_schema<TestType>{}, replication::local{}, f.db).value();
    t->schema().write_back = [p = t.get()](auto& tx, kv_entry const& e) { return p->queue_insert(tx, e); };

    // The same key: inserting "a" queues a newer "a".
    REQUIRE(f.db.transact([&](auto& tx) {
        return t->queue_insert(tx, kv_entry{"p", "a", 1, "to:a", false});
    }));
    CHECK(t->flush_insert_queue().value() == 1);
    CHECK(t->get("p", "a").value()->value == "to:a");
    CHECK(t->insert_queue_len().value() == 1);
    CHECK(t->flush_insert_queue().value() == 1);
    CHECK(t->get("p", "a").value()->value == "from-a");
    CHECK(t->insert_queue_len().value() == 0);

    // Another key of the same flush: inserting "x" merges a newer "y" into y's queued item.
    REQUIRE(f.db.transact([&](auto& tx) -> util::result<void> {
        if (auto r = t->queue_insert(tx, kv_entry{"p", "x", 1, "to:y", false}); !r) {
            return r;
        }
        return t->queue_insert(tx, kv_entry{"p", "y", 1, "orig", false});
    }));
    CHECK(t->flush_insert_queue().value() == 2);
    CHECK(t->get("p", "y").value()->value == "from-x");
    CHECK(t->insert_queue_len().value() == 0);
    require_merkle_matches_store(*t, f.db);
}

TEMPLATE_TEST_CASE("a write made with insert_in wakes the Merkle worker", "[table][review]",
                   storage::memory_backend)
{
    test::backend_fixture<TestType> f;
    auto t = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db).value();
    int wakeups = 0;
    t->on_merkle_todo([&] { ++wakeups; });
    REQUIRE(f.db.transact([&](auto& tx) { return t->insert_in(tx, kv_entry{"p", "a", 1, "v", false}); }));
    CHECK(wakeups >= 1);
    CHECK(t->merkle().todo_len().value() == 1);
}

// --- tombstone GC --------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("GC deletes a re-tombstoned entry once, keeps a revived one, and the Merkle tree follows",
                   "[table][review]", storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    auto t = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db, o).value();
    // Tombstoned twice with different bytes: two todo items, the first one stale.
    REQUIRE(t->insert(kv_entry{"p", "twice", 1, "v", false}));
    REQUIRE(t->insert(kv_entry{"p", "twice", 2, "", true}));
    REQUIRE(t->insert(kv_entry{"p", "twice", 3, "", true}));
    // Tombstoned, revived, tombstoned again.
    REQUIRE(t->insert(kv_entry{"p", "again", 1, "", true}));
    REQUIRE(t->insert(kv_entry{"p", "again", 2, "back", false}));
    REQUIRE(t->insert(kv_entry{"p", "again", 3, "", true}));
    // Tombstoned then revived for good.
    REQUIRE(t->insert(kv_entry{"p", "alive", 1, "", true}));
    REQUIRE(t->insert(kv_entry{"p", "alive", 2, "here", false}));
    REQUIRE(t->merkle().update_all());
    // Up to five todo items: those of one key written in the same millisecond coalesce.
    auto const pending = t->gc_todo_len().value();
    CHECK(pending >= 3);
    CHECK(t->gc_step().value() == pending);
    CHECK(t->gc_todo_len().value() == 0);
    CHECK_FALSE(t->get("p", "twice").value().has_value());
    CHECK_FALSE(t->get("p", "again").value().has_value());
    CHECK(t->get("p", "alive").value()->value == "here");
    require_merkle_matches_store(*t, f.db);
    CHECK(t->len().value() == 1);

    // A tombstone arriving again after collection is collected again.
    REQUIRE(t->insert(kv_entry{"p", "twice", 3, "", true}));
    CHECK(t->gc_step().value() == 1);
    CHECK_FALSE(t->get("p", "twice").value().has_value());
    require_merkle_matches_store(*t, f.db);
}

// --- Merkle trees under random inserts, tombstones, collections and batch sizes --------------------

/// Sort keys of partition "p" whose Merkle paths share two or three leading bytes, so that the
/// tree has deep chains to split and collapse.
std::vector<std::string> colliding_sort_keys()
{
    std::map<std::string, std::vector<std::string>> by_prefix2;
    for (int i = 0; i < 150000; ++i) {
        auto sk = "k" + std::to_string(i);
        auto const h = table::detail::merkle_hash(kv_table<storage::memory_backend>::tree_key("p", sk));
        by_prefix2[std::string(h.view().substr(0, 2))].push_back(std::move(sk));
    }
    std::vector<std::string> out;
    std::size_t groups = 0;
    for (auto& [p, v] : by_prefix2) {
        if (v.size() >= 4 && groups < 30) {
            out.insert(out.end(), v.begin(), v.end());
            ++groups;
        }
    }
    // Three-byte collisions.
    std::map<std::string, std::vector<std::string>> by_prefix3;
    for (auto& [p, v] : by_prefix2) {
        for (auto const& sk : v) {
            auto const h = table::detail::merkle_hash(kv_table<storage::memory_backend>::tree_key("p", sk));
            by_prefix3[std::string(h.view().substr(0, 3))].push_back(sk);
        }
    }
    std::size_t pairs = 0;
    for (auto& [p, v] : by_prefix3) {
        if (v.size() >= 2 && pairs < 20) {
            out.insert(out.end(), v.begin(), v.end());
            ++pairs;
        }
    }
    REQUIRE(groups == 30);
    REQUIRE(pairs == 20);
    return out;
}

TEMPLATE_TEST_CASE("the Merkle tree stays canonical under random writes, collections and batch sizes",
                   "[table][review][merkle]", storage::memory_backend, storage::lmdb_backend)
{
    static auto const keys = colliding_sort_keys();
    test::backend_fixture<TestType> f;
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    auto t = kv_table<TestType>::open(kv_schema{}, replication::local{}, f.db, o).value();
    std::mt19937 rng(7);
    std::uint64_t ts = 1;
    for (int round = 0; round < 30; ++round) {
        int const ops = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < ops; ++i) {
            std::vector<kv_entry> batch;
            auto const n = 1 + rng() % 6;
            for (std::size_t j = 0; j < n; ++j) {
                auto const& sk = keys[rng() % keys.size()];
                bool const dead = rng() % 3 == 0;
                batch.push_back(kv_entry{"p", sk, ++ts, dead ? "" : "v" + std::to_string(ts), dead});
            }
            REQUIRE(t->insert_many(batch));
            switch (rng() % 4) {
            case 0:
                REQUIRE(t->gc_step());
                break;
            case 1:
                REQUIRE(t->merkle().update_batch(1 + rng() % 9));
                break;
            default:
                break;
            }
        }
        require_merkle_matches_store(*t, f.db);
        CHECK(t->merkle().root_hash(0).value() == fresh_root(*t, f.db));
    }
    // Collect everything: the tree empties completely.
    std::vector<kv_entry> all_dead;
    for (auto const& sk : keys) {
        all_dead.push_back(kv_entry{"p", sk, ts + 1, "", true});
    }
    REQUIRE(t->insert_many(all_dead));
    while (t->gc_todo_len().value() > 0) {
        REQUIRE(t->gc_step());
    }
    REQUIRE(t->merkle().update_all());
    CHECK(t->len().value() == 0);
    CHECK(t->merkle().tree_len().value() == 0);
}

} // namespace

namespace {
using namespace garage;

TEMPLATE_TEST_CASE("corrupt background items are dropped instead of blocking the workers", "[table][review]",
                   storage::memory_backend, storage::lmdb_backend)
{
    test::backend_fixture<TestType> f;
    table::table_options o;
    o.gc_delay = std::chrono::milliseconds(0);
    using kv_table = table::table<test::kv_schema, replication::local, TestType>;
    auto t = kv_table::open(test::kv_schema{}, replication::local{}, f.db, o).value();
    auto queue = f.db.open_tree("kv:insert_queue").value();
    auto todo = f.db.open_tree("kv:merkle_todo").value();
    auto gc = f.db.open_tree("kv:gc_todo_v2").value();
    REQUIRE(f.db.transact([&](auto& tx) -> util::result<void> {
                    if (auto r = tx.put(queue, kv_table::tree_key("p", "bad"), "\x01not an entry"); !r) {
                        return r;
                    }
                    if (auto r = t->queue_insert(tx, test::kv_entry{"p", "good", 1, "v", false}); !r) {
                        return r;
                    }
                    if (auto r = tx.put(todo, std::string(8, '\0'), std::string_view("\x00\x05trunc", 7));
                        !r) { // malformed
                        return r;
                    }
                    return tx.put(gc, "short", "x"); // a GC key too short to hold a time
                })
                .has_value());
    CHECK(t->flush_insert_queue().value() == 2);
    CHECK(t->insert_queue_len().value() == 0);
    CHECK(t->get("p", "good").value()->value == "v");
    CHECK(t->merkle().update_all().has_value());
    CHECK(t->merkle().todo_len().value() == 0);
    CHECK_FALSE(t->merkle().root_hash(0).value().is_zero());
    CHECK(t->gc_step().has_value());
    CHECK(t->gc_todo_len().value() == 0);
}
} // namespace
