// Test that header file is self-contained.
#include <garage/storage/lmdb_backend.hpp>

#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

// What only LMDB has: files, a map size, reader slots. The behaviour shared with every backend
// is tested in storage.cpp.

namespace {
using namespace garage;
using storage::error;
using storage::lmdb_backend;
using storage::lmdb_transaction;

template <class Result>
bool ok(Result const& r)
{
    return r.has_value();
}

TEST_CASE("lmdb data persists across reopening", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto const path = dir.path() / "meta" / "db.lmdb"; // parents are created
    {
        auto db = lmdb_backend::open({.path = path, .map_size = (1ull << 30) + 123});
        REQUIRE(ok(db));
        CHECK(db->options().map_size == 1ull << 30); // rounded down to 4096
        auto t = db->open_tree("objects").value();
        REQUIRE(ok(db->transact([&](lmdb_transaction& tx) { return tx.put(t, "k", "persisted"); })));
        REQUIRE(ok(db->open_tree("empty")));
        REQUIRE(ok(db->sync()));
    }
    auto db = lmdb_backend::open({.path = path, .map_size = 1ull << 30});
    REQUIRE(ok(db));
    CHECK(db->list_trees().value() == std::vector<std::string>{"empty", "objects"});
    auto t = db->open_tree("objects").value();
    CHECK(db->get(t, "k").value() == "persisted");
    CHECK(db->len(t).value() == 1);
}

TEST_CASE("lmdb commits with fsync enabled", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1ull << 26, .fsync = true}).value();
    auto t = db.open_tree("t").value();
    REQUIRE(ok(db.transact([&](lmdb_transaction& tx) { return tx.put(t, "k", "v"); })));
    CHECK(db.get(t, "k").value() == "v");
}

TEST_CASE("a full lmdb map yields map_full naming lmdb_map_size and the database stays usable",
          "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1 << 20}).value();
    auto t = db.open_tree("t").value();
    REQUIRE(ok(db.transact([&](lmdb_transaction& tx) { return tx.put(t, "small", "before"); })));

    auto r = db.transact([&](lmdb_transaction& tx) -> util::result<void> {
        if (auto p = tx.put(t, "other", "in the failed transaction"); !p) {
            return p;
        }
        return tx.put(t, "big", std::string(2 << 20, 'x'));
    });
    REQUIRE_FALSE(ok(r));
    CHECK(r.error().code == error::map_full);
    CHECK(r.error().is(util::condition::unavailable));
    CHECK(r.error().message.find("lmdb_map_size") != std::string::npos);
    CHECK(r.error().message.find("raise") != std::string::npos);

    CHECK(db.get(t, "small").value() == "before");
    CHECK(db.get(t, "other").value() == std::nullopt);
    REQUIRE(ok(db.transact([&](lmdb_transaction& tx) { return tx.put(t, "small", "after"); })));
    CHECK(db.get(t, "small").value() == "after");
}

TEST_CASE("a transaction spoilt by map_full cannot commit even if the function succeeds", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1 << 20}).value();
    auto t = db.open_tree("t").value();
    bool put_failed = false;
    auto r = db.transact([&](lmdb_transaction& tx) -> util::result<int> {
        (void)tx.put(t, "a", "v");
        auto p = tx.put(t, "big", std::string(2 << 20, 'x'));
        put_failed = !p;
        // Later operations report the same failure.
        auto later = tx.get(t, "a");
        if (later || later.error().code != error::map_full) {
            return util::failure(error::io_error, "a spoilt transaction kept working");
        }
        return 1; // ignores the failures
    });
    CHECK(put_failed);
    REQUIRE_FALSE(ok(r));
    CHECK(r.error().code == error::map_full);
    CHECK(db.get(t, "a").value() == std::nullopt);
}

TEST_CASE("lmdb refuses more trees than max_dbs", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1 << 24, .max_dbs = 2}).value();
    REQUIRE(ok(db.open_tree("a")));
    REQUIRE(ok(db.open_tree("b")));
    auto c = db.open_tree("c");
    REQUIRE_FALSE(ok(c));
    CHECK(c.error().code == error::too_many_trees);
    CHECK(c.error().message.find("max_dbs") != std::string::npos);
    CHECK(ok(db.open_tree("a")));
}

TEST_CASE("lmdb reports busy when every reader slot is taken, and reuses released ones", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1 << 24, .max_readers = 2}).value();
    auto t = db.open_tree("t").value();
    REQUIRE(ok(db.transact([&](lmdb_transaction& tx) { return tx.put(t, "k", "v"); })));
    // Far more reads than slots: read transactions go back to a pool and are renewed.
    for (int i = 0; i < 1000; ++i) {
        REQUIRE(db.get(t, "k").value() == "v");
    }
    auto r = db.read([&](lmdb_transaction&) {
        return db.read([&](lmdb_transaction&) {
            return db.read([&](lmdb_transaction&) -> util::result<void> { return {}; });
        });
    });
    REQUIRE_FALSE(ok(r));
    CHECK(r.error().code == error::busy);
    CHECK(r.error().message.find("max_readers") != std::string::npos);
    CHECK(db.get(t, "k").value() == "v");
}

TEST_CASE("lmdb open fails with io_error and the path when the directory cannot be made", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto const file = dir.path() / "not-a-directory";
    std::ofstream(file) << "x";
    auto db = lmdb_backend::open({.path = file / "db"});
    REQUIRE_FALSE(ok(db));
    CHECK(db.error().code == error::io_error);
    CHECK(db.error().message.find(file.string()) != std::string::npos);
}

TEST_CASE("lmdb open explains a virtual memory limit below the map size", "[storage][lmdb]")
{
    test::temp_dir dir;
    // In a child process: a limit on the address space cannot be lifted again.
    pid_t const pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        rlimit limit{1ull << 30, 1ull << 30};
        ::setrlimit(RLIMIT_AS, &limit);
        auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1ull << 36});
        bool const explained = !db && db.error().code == error::io_error &&
                               db.error().message.find("ulimit -v") != std::string::npos &&
                               db.error().message.find("lmdb_map_size") != std::string::npos;
        ::_exit(explained ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("lmdb reads run alongside a reader and a writer in the same thread", "[storage][lmdb]")
{
    test::temp_dir dir;
    auto db = lmdb_backend::open({.path = dir.path(), .map_size = 1 << 24}).value();
    auto t = db.open_tree("t").value();
    // A write transaction, a snapshot and single reads all open at once on one thread.
    auto r = db.transact([&](lmdb_transaction& tx) -> util::result<void> {
        if (auto p = tx.put(t, "k", "v"); !p) {
            return p;
        }
        return db.read([&](lmdb_transaction& snap) -> util::result<void> {
            auto inner = db.get(t, "k");
            auto in_snap = snap.get(t, "k");
            if (!inner || *inner || !in_snap || *in_snap) {
                return util::failure(error::io_error, "uncommitted write visible");
            }
            return {};
        });
    });
    CHECK(ok(r));
    CHECK(db.get(t, "k").value() == "v");
}

} // namespace
