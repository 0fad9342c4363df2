// Test that header file is self-contained.
#include <garage/storage/memory_backend.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

// What is particular to the memory backend: its copy-on-write versions. The behaviour shared
// with every backend is tested in storage.cpp.

namespace {
using namespace garage;
using storage::direction;
using storage::memory_backend;
using storage::memory_transaction;

template <class Result>
bool ok(Result const& r)
{
    return r.has_value();
}

TEST_CASE("memory writes made by a visitor are applied but not visited", "[storage][memory]")
{
    memory_backend db;
    auto t = db.open_tree("t").value();
    REQUIRE(ok(db.transact([&](memory_transaction& tx) -> util::result<void> {
        for (auto k : {"a", "c", "e"}) {
            if (auto p = tx.put(t, k, "v"); !p) {
                return p;
            }
        }
        return {};
    })));
    std::vector<std::string> seen;
    auto r = db.transact([&](memory_transaction& tx) -> util::result<void> {
        return tx.for_each(t, std::nullopt, direction::forward, [&](std::string_view k, std::string_view) {
            seen.emplace_back(k);
            (void)tx.remove(t, "e");
            (void)tx.put(t, "d", "new");
            return true;
        });
    });
    REQUIRE(ok(r));
    CHECK(seen == std::vector<std::string>{"a", "c", "e"});
    CHECK(db.get(t, "e").value() == std::nullopt);
    CHECK(db.get(t, "d").value() == "new");
}

TEST_CASE("a memory snapshot keeps its version through many commits", "[storage][memory]")
{
    memory_backend db;
    auto t = db.open_tree("t").value();
    auto const fill = [&](int from, int to, std::string const& v) {
        REQUIRE(ok(db.transact([&](memory_transaction& tx) -> util::result<void> {
            for (int i = from; i < to; ++i) {
                if (auto p = tx.put(t, "key" + std::to_string(i), v); !p) {
                    return p;
                }
            }
            return {};
        })));
    };
    fill(0, 500, "old");
    REQUIRE(ok(db.read([&](memory_transaction& snap) -> util::result<void> {
        for (int round = 0; round < 50; ++round) {
            fill(round * 10, 1000, "new" + std::to_string(round));
            REQUIRE(ok(db.transact([&](memory_transaction& tx) { return tx.remove(t, "key7"); })));
        }
        CHECK(snap.len(t).value() == 500);
        std::size_t n = 0;
        bool all_old = true;
        REQUIRE(
            ok(snap.for_each(t, std::nullopt, direction::forward, [&](std::string_view, std::string_view v) {
                all_old = all_old && v == "old";
                return ++n, true;
            })));
        CHECK(n == 500);
        CHECK(all_old);
        CHECK(snap.get(t, "key7").value() == "old");
        return {};
    })));
    CHECK(db.len(t).value() == 999);
    CHECK(db.get(t, "key999").value() == "new49");
}

TEST_CASE("a memory tree opened during a transaction is empty in it and writable", "[storage][memory]")
{
    memory_backend db;
    auto t = db.open_tree("t").value();
    std::optional<storage::memory_tree> late;
    auto r = db.transact([&](memory_transaction& tx) -> util::result<void> {
        // Another thread opens a tree while this one holds the writer lock.
        std::thread([&] { late = db.open_tree("late").value(); }).join();
        REQUIRE(late);
        CHECK(tx.len(*late).value() == 0);
        CHECK(tx.get(*late, "k").value() == std::nullopt);
        if (auto p = tx.put(*late, "k", "v"); !p) {
            return p;
        }
        return tx.put(t, "k", "v");
    });
    REQUIRE(ok(r));
    CHECK(db.get(*late, "k").value() == "v");
    CHECK(db.len(*late).value() == 1);
}

} // namespace
