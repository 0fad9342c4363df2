// Test that header file is self-contained.
#include <garage/storage/storage.hpp>

#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// The suite every storage backend must pass: one TEMPLATE_TEST_CASE per behaviour, run once
// per backend through a fixture that opens a fresh, empty backend.

namespace {
using namespace garage;
using storage::direction;
using storage::error;

struct lmdb_fixture {
    test::temp_dir dir;
    storage::lmdb_backend db =
        storage::lmdb_backend::open({.path = dir.path() / "db", .map_size = 1ull << 30}).value();
};

struct memory_fixture {
    storage::memory_backend db;
};

using kv = std::pair<std::string, std::string>;

/// True when a `util::result` holds a value (Catch cannot print a result).
template <class Result>
bool ok(Result const& r)
{
    return r.has_value();
}

template <class Backend>
std::vector<kv> collect(Backend const& db, typename Backend::tree_type const& t,
                        std::optional<std::string_view> start, direction d)
{
    std::vector<kv> out;
    auto r = db.for_each(t, start, d, [&](std::string_view k, std::string_view v) {
        out.emplace_back(k, v);
        return true;
    });
    REQUIRE(ok(r));
    return out;
}

template <class Backend>
std::vector<std::string> keys(Backend const& db, typename Backend::tree_type const& t,
                              std::optional<std::string_view> start, direction d)
{
    std::vector<std::string> out;
    for (auto& [k, v] : collect(db, t, start, d)) {
        out.push_back(k);
    }
    return out;
}

template <class Backend>
void put(Backend& db, typename Backend::tree_type const& t, std::string_view k, std::string_view v)
{
    using tx_type = typename Backend::transaction_type;
    REQUIRE(ok(db.transact([&](tx_type& tx) { return tx.put(t, k, v); })));
}

using strings = std::vector<std::string>;

TEMPLATE_TEST_CASE("open_tree is idempotent and checks names", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto a = db.open_tree("objects");
    REQUIRE(ok(a));
    CHECK(a->name() == "objects");
    auto b = db.open_tree("objects");
    REQUIRE(ok(b));
    CHECK(*a == *b);
    CHECK_FALSE(*a == db.open_tree("versions").value());

    put(db, *a, "k", "v");
    CHECK(db.get(*b, "k").value() == "v");

    CHECK(db.open_tree("").error().code == error::invalid_tree_name);
    CHECK(db.open_tree(std::string("a\0b", 3)).error().code == error::invalid_tree_name);
    CHECK(db.open_tree(std::string(512, 'n')).error().code == error::invalid_tree_name);
    CHECK(ok(db.open_tree(std::string(511, 'n'))));

    typename std::remove_cvref_t<decltype(db)>::tree_type none;
    CHECK(db.get(none, "k").error().code == error::tree_not_found);
    CHECK(db.len(none).error().code == error::tree_not_found);
}

TEMPLATE_TEST_CASE("put, get and remove round-trip byte strings", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();

    CHECK(db.get(t, "absent").value() == std::nullopt);
    put(db, t, "k", "v1");
    CHECK(db.get(t, "k").value() == "v1");
    put(db, t, "k", "v2");
    CHECK(db.get(t, "k").value() == "v2");

    std::string const binary_key("\0\xff\x01", 3);
    std::string const binary_value("\0\0\xfe", 3);
    put(db, t, binary_key, binary_value);
    CHECK(db.get(t, binary_key).value() == binary_value);

    put(db, t, "empty", "");
    auto empty = db.get(t, "empty").value();
    REQUIRE(empty.has_value());
    CHECK(empty->empty());

    auto removed = db.transact([&](tx_type& tx) -> util::result<std::pair<bool, bool>> {
        auto first = tx.remove(t, "k");
        auto second = tx.remove(t, "k");
        if (!first || !second) {
            return util::failure(error::io_error, "remove failed");
        }
        return std::pair{*first, *second};
    });
    REQUIRE(ok(removed));
    CHECK(removed->first);
    CHECK_FALSE(removed->second);
    CHECK(db.get(t, "k").value() == std::nullopt);
    CHECK(db.get(t, binary_key).value() == binary_value);
}

TEMPLATE_TEST_CASE("len counts the keys of one tree", "[storage][backend]", lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto a = db.open_tree("a").value();
    auto b = db.open_tree("b").value();
    CHECK(db.len(a).value() == 0);
    REQUIRE(ok(db.transact([&](tx_type& tx) -> util::result<void> {
        for (auto k : {"1", "2", "3"}) {
            if (auto r = tx.put(a, k, "x"); !r) {
                return r;
            }
        }
        if (auto r = tx.put(a, "2", "overwritten"); !r) {
            return r;
        }
        auto n = tx.len(a);
        if (!n || *n != 3) {
            return util::failure(error::io_error, "len inside the transaction");
        }
        return tx.put(b, "1", "x");
    })));
    CHECK(db.len(a).value() == 3);
    CHECK(db.len(b).value() == 1);
    REQUIRE(db.transact([&](tx_type& tx) { return tx.remove(a, "1"); }).value());
    CHECK(db.len(a).value() == 2);
}

TEMPLATE_TEST_CASE("forward iteration starts at the first key at or after the bound", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto t = db.open_tree("t").value();
    for (auto k : {"d", "b", "f"}) {
        put(db, t, k, std::string("v") + k);
    }
    CHECK(collect(db, t, std::nullopt, direction::forward) ==
          std::vector<kv>{{"b", "vb"}, {"d", "vd"}, {"f", "vf"}});
    CHECK(keys(db, t, "d", direction::forward) == strings{"d", "f"});      // bound present
    CHECK(keys(db, t, "c", direction::forward) == strings{"d", "f"});      // bound absent
    CHECK(keys(db, t, "a", direction::forward) == strings{"b", "d", "f"}); // before the first
    CHECK(keys(db, t, "g", direction::forward).empty());                   // after the last
    CHECK(keys(db, t, "", direction::forward) == strings{"b", "d", "f"});
    CHECK(keys(db, t, "f", direction::forward) == strings{"f"});

    auto empty = db.open_tree("empty").value();
    CHECK(keys(db, empty, std::nullopt, direction::forward).empty());
    CHECK(keys(db, empty, "a", direction::forward).empty());
}

TEMPLATE_TEST_CASE("reverse iteration starts at the last key at or before the bound", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto t = db.open_tree("t").value();
    for (auto k : {"d", "b", "f"}) {
        put(db, t, k, std::string("v") + k);
    }
    CHECK(collect(db, t, std::nullopt, direction::reverse) ==
          std::vector<kv>{{"f", "vf"}, {"d", "vd"}, {"b", "vb"}});
    CHECK(keys(db, t, "d", direction::reverse) == strings{"d", "b"});      // bound present
    CHECK(keys(db, t, "e", direction::reverse) == strings{"d", "b"});      // bound absent
    CHECK(keys(db, t, "a", direction::reverse).empty());                   // before the first
    CHECK(keys(db, t, "g", direction::reverse) == strings{"f", "d", "b"}); // after the last
    CHECK(keys(db, t, "", direction::reverse).empty());
    CHECK(keys(db, t, "b", direction::reverse) == strings{"b"});

    auto empty = db.open_tree("empty").value();
    CHECK(keys(db, empty, std::nullopt, direction::reverse).empty());
    CHECK(keys(db, empty, "z", direction::reverse).empty());
}

TEMPLATE_TEST_CASE("keys are ordered bytewise, unsigned, shorter prefix first", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto t = db.open_tree("t").value();
    std::string const high("\x80", 1);
    std::string const zero("a\0", 2);
    for (auto const& k : {high, std::string("ab"), std::string("a"), zero, std::string("B")}) {
        put(db, t, k, "x");
    }
    CHECK(keys(db, t, std::nullopt, direction::forward) == strings{"B", "a", zero, "ab", high});
    CHECK(keys(db, t, "a", direction::reverse) == strings{"a", "B"});
    CHECK(keys(db, t, zero, direction::forward) == strings{zero, "ab", high});
}

TEMPLATE_TEST_CASE("bounds longer than the key limit are honoured", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto t = db.open_tree("t").value();
    std::string const cut(511, 'x'); // the bound cut to the key limit
    std::string const below = cut.substr(0, 510) + 'w';
    std::string const above = cut.substr(0, 510) + 'y';
    for (auto const& k : {cut, below, above}) {
        put(db, t, k, "v");
    }
    std::string const bound = cut + "a"; // cut < bound < above
    CHECK(keys(db, t, bound, direction::forward) == strings{above});
    CHECK(keys(db, t, bound, direction::reverse) == strings{cut, below});
    CHECK(keys(db, t, cut, direction::forward) == strings{cut, above});
}

TEMPLATE_TEST_CASE("a visitor returning false stops the iteration", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    auto t = db.open_tree("t").value();
    for (auto k : {"a", "b", "c", "d"}) {
        put(db, t, k, "v");
    }
    for (auto d : {direction::forward, direction::reverse}) {
        std::vector<std::string> seen;
        REQUIRE(ok(db.for_each(t, std::nullopt, d, [&](std::string_view k, std::string_view) {
            seen.emplace_back(k);
            return seen.size() < 2;
        })));
        CHECK(seen == (d == direction::forward ? strings{"a", "b"} : strings{"d", "c"}));
    }
}

TEMPLATE_TEST_CASE("a visitor's exception propagates and releases the transaction", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();
    put(db, t, "a", "v");
    auto const thrower = [](std::string_view, std::string_view) -> bool {
        throw std::runtime_error("visitor");
    };
    // More rounds than LMDB has reader slots by default: a leaked read transaction would show.
    for (int i = 0; i < 2100; ++i) {
        REQUIRE_THROWS_AS(db.for_each(t, std::nullopt, direction::forward, thrower), std::runtime_error);
    }
    CHECK_THROWS_AS(db.transact([&](tx_type& tx) -> util::result<void> {
        if (auto r = tx.put(t, "b", "v"); !r) {
            return r;
        }
        return tx.for_each(t, std::nullopt, direction::forward, thrower);
    }),
                    std::runtime_error);
    CHECK(db.get(t, "b").value() == std::nullopt); // aborted
    put(db, t, "c", "v");                          // the writer lock was released
    CHECK(db.len(t).value() == 2);
}

TEMPLATE_TEST_CASE("a transaction over several trees commits atomically", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto a = db.open_tree("a").value();
    auto b = db.open_tree("b").value();
    auto r = db.transact([&](tx_type& tx) -> util::result<int> {
        if (auto p = tx.put(a, "k", "va"); !p) {
            return p.error();
        }
        if (auto p = tx.put(b, "k", "vb"); !p) {
            return p.error();
        }
        // The transaction sees its own writes, in get and in iteration...
        auto own = tx.get(a, "k");
        if (!own || *own != "va") {
            return util::failure(error::io_error, "own write not visible");
        }
        std::size_t seen = 0;
        if (auto f =
                tx.for_each(b, std::nullopt, direction::forward, [&](auto, auto) { return ++seen, true; });
            !f) {
            return f.error();
        }
        // ...while reads outside it see only committed state.
        auto outside_a = db.get(a, "k");
        auto outside_b = db.len(b);
        if (!outside_a || *outside_a || !outside_b || *outside_b != 0 || seen != 1) {
            return util::failure(error::io_error, "uncommitted write visible");
        }
        return 42;
    });
    REQUIRE(ok(r));
    CHECK(*r == 42);
    CHECK(db.get(a, "k").value() == "va");
    CHECK(db.get(b, "k").value() == "vb");
}

TEMPLATE_TEST_CASE("returning an error from the transaction function leaves nothing", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto a = db.open_tree("a").value();
    auto b = db.open_tree("b").value();
    put(db, a, "keep", "old");
    auto r = db.transact([&](tx_type& tx) -> util::result<void> {
        if (auto p = tx.put(a, "keep", "new"); !p) {
            return p;
        }
        if (auto p = tx.put(b, "k", "v"); !p) {
            return p;
        }
        if (auto p = tx.remove(a, "keep"); !p) {
            return p.error();
        }
        return util::failure(util::error::decode_error, "refused by the caller");
    });
    REQUIRE_FALSE(ok(r));
    CHECK(r.error().code == util::error::decode_error);
    CHECK(r.error().message == "refused by the caller");
    CHECK(db.get(a, "keep").value() == "old");
    CHECK(db.len(b).value() == 0);
    CHECK(db.len(a).value() == 1);
}

TEMPLATE_TEST_CASE("a read snapshot does not see later commits and cannot write", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();
    put(db, t, "k", "old");
    auto r = db.read([&](tx_type& snap) -> util::result<void> {
        CHECK(snap.is_read_only());
        CHECK(snap.get(t, "k").value() == "old");
        // A writer commits while the snapshot is open (writers never wait for readers).
        REQUIRE(ok(db.transact([&](tx_type& tx) -> util::result<void> {
            if (auto p = tx.put(t, "k", "new"); !p) {
                return p;
            }
            return tx.put(t, "k2", "added");
        })));
        CHECK(db.get(t, "k").value() == "new");
        CHECK(snap.get(t, "k").value() == "old");
        CHECK(snap.get(t, "k2").value() == std::nullopt);
        CHECK(snap.len(t).value() == 1);
        std::size_t n = 0;
        REQUIRE(
            ok(snap.for_each(t, std::nullopt, direction::forward, [&](auto, auto) { return ++n, true; })));
        CHECK(n == 1);

        auto w = snap.put(t, "k", "x");
        REQUIRE_FALSE(ok(w));
        CHECK(w.error().code == error::read_only);
        CHECK(snap.remove(t, "k").error().code == error::read_only);
        return {};
    });
    CHECK(ok(r));
    CHECK(db.get(t, "k").value() == "new");
}

TEMPLATE_TEST_CASE("a tree created after a snapshot began is empty in it", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto r = db.read([&](tx_type& snap) -> util::result<void> {
        auto late = db.open_tree("late");
        REQUIRE(ok(late));
        REQUIRE(ok(db.transact([&](tx_type& tx) { return tx.put(*late, "k", "v"); })));
        CHECK(snap.get(*late, "k").value() == std::nullopt);
        CHECK(snap.len(*late).value() == 0);
        std::size_t n = 0;
        REQUIRE(ok(
            snap.for_each(*late, std::nullopt, direction::forward, [&](auto, auto) { return ++n, true; })));
        CHECK(n == 0);
        CHECK(db.get(*late, "k").value() == "v");
        return {};
    });
    CHECK(ok(r));
}

TEMPLATE_TEST_CASE("keys that are too long or empty are rejected and write nothing", "[storage][backend]",
                   lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();
    std::string const longest(storage::max_key_size, 'k');
    std::string const too_long(storage::max_key_size + 1, 'k');

    std::optional<util::failure> seen;
    auto r = db.transact([&](tx_type& tx) -> util::result<void> {
        if (auto p = tx.put(t, "before", "v"); !p) {
            return p;
        }
        auto p = tx.put(t, too_long, "v");
        if (p) {
            return util::failure(error::io_error, "a long key was accepted");
        }
        seen = p.error();
        // The rejected put does not spoil the transaction.
        return tx.put(t, longest, "v");
    });
    REQUIRE(ok(r));
    REQUIRE(seen);
    CHECK(seen->code == error::key_too_long);
    CHECK(seen->is(util::condition::bad_request));
    CHECK(seen->message.find("512") != std::string::npos);
    CHECK(db.len(t).value() == 2);
    CHECK(db.get(t, longest).value() == "v");
    CHECK(keys(db, t, std::nullopt, direction::forward) == strings{"before", longest});

    CHECK(db.get(t, too_long).error().code == error::key_too_long);
    CHECK(db.get(t, "").error().code == error::empty_key);
    auto empty_put = db.transact([&](tx_type& tx) { return tx.put(t, "", "v"); });
    CHECK(empty_put.error().code == error::empty_key);
    CHECK(db.transact([&](tx_type& tx) { return tx.remove(t, too_long); }).error().code ==
          error::key_too_long);
    CHECK(db.len(t).value() == 2);
}

TEMPLATE_TEST_CASE("values of a mebibyte and more are stored whole", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("blocks").value();
    std::mt19937_64 rng(7);
    auto const random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s) {
            c = static_cast<char>(rng());
        }
        return s;
    };
    std::string const one = random_bytes(1 << 20);
    std::string const two = random_bytes((3 << 20) + 17);
    REQUIRE(ok(db.transact([&](tx_type& tx) -> util::result<void> {
        if (auto p = tx.put(t, "one", one); !p) {
            return p;
        }
        return tx.put(t, "two", two);
    })));
    CHECK(db.get(t, "one").value() == one);
    CHECK(db.get(t, "two").value() == two);
    auto all = collect(db, t, std::nullopt, direction::forward);
    REQUIRE(all.size() == 2);
    CHECK(all[0].second == one);
    CHECK(all[1].second == two);
    put(db, t, "one", "small");
    CHECK(db.get(t, "one").value() == "small");
}

TEMPLATE_TEST_CASE("list_trees names every tree in order", "[storage][backend]", lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    CHECK(db.list_trees().value().empty());
    for (auto n : {"version", "object", "block_ref", "object"}) {
        REQUIRE(ok(db.open_tree(n)));
    }
    CHECK(db.list_trees().value() == strings{"block_ref", "object", "version"});
}

TEMPLATE_TEST_CASE("nested writes fail with busy instead of deadlocking", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();
    auto r = db.transact([&](tx_type& tx) -> util::result<void> {
        auto nested = db.transact([&](tx_type& inner) { return inner.put(t, "inner", "v"); });
        CHECK(nested.error().code == error::busy);
        CHECK(nested.error().is(util::condition::unavailable));
        CHECK(db.open_tree("new").error().code == error::busy);
        auto existing = db.open_tree("t"); // already open: no write needed
        REQUIRE(ok(existing));
        CHECK(*existing == t);
        return tx.put(t, "outer", "v");
    });
    REQUIRE(ok(r));
    CHECK(db.get(t, "outer").value() == "v");
    CHECK(db.get(t, "inner").value() == std::nullopt);
    CHECK(ok(db.open_tree("new"))); // fine outside the transaction
}

TEMPLATE_TEST_CASE("tree handles survive moving the backend", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto t = fx.db.open_tree("t").value();
    put(fx.db, t, "k", "v");
    auto moved = std::move(fx.db);
    CHECK(moved.get(t, "k").value() == "v");
    put(moved, t, "k2", "v2");
    CHECK(moved.len(t).value() == 2);
}

TEMPLATE_TEST_CASE("random operations agree with std::map", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto t = db.open_tree("t").value();
    std::map<std::string, std::string> model;
    std::mt19937 rng(12345);
    auto const random_key = [&] {
        std::string k(1 + rng() % 4, 'a');
        for (auto& c : k) {
            c = "ab\x7f\x80"[rng() % 4];
        }
        return k;
    };
    for (int round = 0; round < 300; ++round) {
        // A batch of writes, committed or aborted.
        auto staged = model;
        bool const commit = rng() % 4 != 0;
        auto r = db.transact([&](tx_type& tx) -> util::result<void> {
            for (int i = 0; i < 8; ++i) {
                auto k = random_key();
                if (rng() % 3 == 0) {
                    auto removed = tx.remove(t, k);
                    REQUIRE(ok(removed));
                    CHECK(*removed == (staged.erase(k) == 1));
                } else {
                    auto v = std::to_string(rng());
                    REQUIRE(ok(tx.put(t, k, v)));
                    staged[k] = v;
                }
            }
            if (!commit) {
                return util::failure(error::aborted, "test abort");
            }
            return {};
        });
        CHECK(static_cast<bool>(r) == commit);
        if (commit) {
            model = std::move(staged);
        }
        // Reads from a random bound in both directions.
        auto const bound = random_key();
        std::vector<kv> expected_forward(model.lower_bound(bound), model.end());
        CHECK(collect(db, t, bound, direction::forward) == expected_forward);
        std::vector<kv> expected_reverse;
        for (auto it = model.upper_bound(bound); it != model.begin();) {
            --it;
            expected_reverse.emplace_back(*it);
        }
        CHECK(collect(db, t, bound, direction::reverse) == expected_reverse);
        CHECK(db.len(t).value() == model.size());
        auto const probe = random_key();
        auto found = model.find(probe);
        CHECK(db.get(t, probe).value() ==
              (found == model.end() ? std::nullopt : std::optional<std::string>(found->second)));
    }
    CHECK(collect(db, t, std::nullopt, direction::forward) == std::vector<kv>(model.begin(), model.end()));
}

TEMPLATE_TEST_CASE("readers on several threads see whole commits while one thread writes",
                   "[storage][backend]", lmdb_fixture, memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tx_type = typename std::remove_cvref_t<decltype(db)>::transaction_type;
    auto a = db.open_tree("a").value();
    auto b = db.open_tree("b").value();
    constexpr int commits = 1500;
    std::atomic<bool> done{false};
    std::atomic<int> violations{0};
    std::atomic<long> reads{0};

    auto const reader = [&] {
        int last = -1;
        // Runs at least once after the writer finished, so the final state is checked too.
        for (bool finished = false; !finished;) {
            finished = done.load();
            auto r = db.read([&](tx_type& tx) -> util::result<int> {
                auto x = tx.get(a, "counter");
                auto y = tx.get(b, "counter");
                auto n = tx.len(b);
                if (!x || !y || !n) {
                    return util::failure(error::io_error, "read failed");
                }
                int const vx = *x ? std::stoi(**x) : -1;
                int const vy = *y ? std::stoi(**y) : -1;
                // Both trees change in the same commits; b gains one key per commit.
                if (vx != vy || static_cast<int>(*n) != (vy < 0 ? 0 : vy + 2)) {
                    ++violations;
                }
                return vx;
            });
            if (!r || *r < last) {
                ++violations; // failed, or went back in time
            } else {
                last = *r;
            }
            ++reads;
        }
        if (last != commits - 1) {
            ++violations;
        }
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) {
        readers.emplace_back(reader);
    }
    std::thread writer([&] {
        for (int i = 0; i < commits; ++i) {
            auto r = db.transact([&](tx_type& tx) -> util::result<void> {
                auto const v = std::to_string(i);
                if (auto p = tx.put(a, "counter", v); !p) {
                    return p;
                }
                if (auto p = tx.put(b, "counter", v); !p) {
                    return p;
                }
                return tx.put(b, "key" + std::to_string(100000 + i), v);
            });
            if (!r) {
                ++violations;
            }
        }
        done = true;
    });
    writer.join();
    for (auto& r : readers) {
        r.join();
    }
    CHECK(violations.load() == 0);
    CHECK(reads.load() >= 3);
    CHECK(db.len(b).value() == commits + 1);
}

TEMPLATE_TEST_CASE("concurrent open_tree calls agree on one tree", "[storage][backend]", lmdb_fixture,
                   memory_fixture)
{
    TestType fx;
    auto& db = fx.db;
    using tree_type = typename std::remove_cvref_t<decltype(db)>::tree_type;
    std::vector<std::optional<tree_type>> got(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int n = 0; n < 20; ++n) {
                auto t = db.open_tree("tree" + std::to_string(n));
                if (n == 19 && t) {
                    got[i] = *t;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (auto const& t : got) {
        REQUIRE(t);
        CHECK(*t == *got[0]);
    }
    CHECK(db.list_trees().value().size() == 20);
}

} // namespace
