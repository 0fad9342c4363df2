// Test that header file is self-contained.
#include <garage/storage/group_commit.hpp>

#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
using namespace garage;
namespace net = boost::asio;

struct lmdb_db {
    test::temp_dir dir;
    storage::lmdb_backend db =
        storage::lmdb_backend::open({.path = dir.path() / "db", .map_size = 1ull << 28}).value();
};

struct memory_db {
    storage::memory_backend db;
};

struct run_result {
    std::vector<util::result<void>> results;
    std::size_t transactions = 0;
};

/// Runs `n` commits at once from coroutines on one I/O context; the i-th writes key i, and
/// fails (or throws) when `fail(i)` says so.
template <class Backend>
run_result commit_many(Backend& db, int n, std::function<int(int)> fail)
{
    auto tree = db.open_tree("t").value();
    net::io_context ioc;
    net::thread_pool pool(1);
    storage::group_committer<Backend> committer(db, pool.get_executor(), 8);
    run_result out;
    out.results.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        net::co_spawn(
            ioc,
            [&, i]() -> net::awaitable<void> {
                auto fn = [&, i](typename Backend::transaction_type& tx) -> util::result<void> {
                    if (auto p = tx.put(tree, "k" + std::to_string(i), std::to_string(i)); !p) {
                        return p;
                    }
                    switch (fail(i)) {
                    case 1:
                        return util::failure(storage::error::aborted, "refused " + std::to_string(i));
                    case 2:
                        throw std::runtime_error("thrown " + std::to_string(i));
                    default:
                        return {};
                    }
                };
                auto op = committer.async_commit(fn, net::use_awaitable);
                auto r = co_await std::move(op);
                out.results[static_cast<std::size_t>(i)] = r;
            },
            net::detached);
    }
    ioc.run();
    pool.join();
    out.transactions = committer.transactions();
    return out;
}

using backends = std::tuple<memory_db, lmdb_db>;

TEMPLATE_LIST_TEST_CASE("concurrent commits share transactions and all land", "[storage][group_commit]",
                        backends)
{
    TestType f;
    auto r = commit_many(f.db, 100, [](int) { return 0; });
    auto tree = f.db.open_tree("t").value();
    for (int i = 0; i < 100; ++i) {
        CHECK(r.results[static_cast<std::size_t>(i)]);
        CHECK(f.db.get(tree, "k" + std::to_string(i)).value() == std::to_string(i));
    }
    // At most 8 per batch; the coroutines all queue before the pool's first batch runs,
    // so far fewer transactions than commits.
    CHECK(r.transactions >= 100 / 8);
    CHECK(r.transactions < 100);
}

TEMPLATE_LIST_TEST_CASE("a failing or throwing function fails alone; its batch companions land",
                        "[storage][group_commit]", backends)
{
    TestType f;
    auto r = commit_many(f.db, 40, [](int i) { return i == 5 ? 1 : i == 17 ? 2 : 0; });
    auto tree = f.db.open_tree("t").value();
    for (int i = 0; i < 40; ++i) {
        auto const& res = r.results[static_cast<std::size_t>(i)];
        auto stored = f.db.get(tree, "k" + std::to_string(i)).value();
        if (i == 5 || i == 17) {
            REQUIRE_FALSE(res);
            CHECK(res.error().code == make_error_code(storage::error::aborted));
            CHECK_FALSE(stored); // its write was rolled back
        } else {
            CHECK(res);
            CHECK(stored == std::to_string(i));
        }
    }
    CHECK(r.results[5].error().message == "refused 5");
    CHECK(r.results[17].error().message.find("thrown 17") != std::string::npos);
}

} // namespace
