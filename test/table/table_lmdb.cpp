// The table on LMDB at the edges of the storage: a full map, and reopening after a restart.
#include <garage/table/table.hpp>

#include <garage/replication/local.hpp>

#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using test::kv_entry;
using test::kv_schema;
using kv_table = table::table<kv_schema, replication::local, storage::lmdb_backend>;

storage::lmdb_backend open_db(std::filesystem::path const& dir, std::uint64_t map_size)
{
    storage::lmdb_options o;
    o.path = dir;
    o.map_size = map_size;
    return std::move(storage::lmdb_backend::open(o).value());
}

TEST_CASE("a full LMDB map fails the write with an error naming lmdb_map_size and keeps what was committed",
          "[table][lmdb]")
{
    test::temp_dir dir;
    auto db = open_db(dir.path() / "db", 1 << 20); // 1 MiB
    auto t = kv_table::open(kv_schema{}, replication::local{}, db).value();
    std::size_t committed = 0;
    util::result<void> r;
    for (int round = 0; round < 1000; ++round) {
        std::vector<kv_entry> batch;
        for (int i = 0; i < 50; ++i) {
            batch.push_back(
                kv_entry{"p", "k" + std::to_string(round * 50 + i), 1, std::string(200, 'v'), false});
        }
        r = t->insert_many(batch);
        if (!r) {
            break;
        }
        committed += batch.size();
    }
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == storage::error::map_full);
    CHECK(r.error().message.find("lmdb_map_size") != std::string::npos);
    REQUIRE(committed > 0);
    // Everything committed before the failure is intact and readable; the failed batch left nothing.
    CHECK(t->len().value() == committed);
    CHECK(t->get("p", "k0").value().has_value());
    CHECK(t->get("p", "k" + std::to_string(committed - 1)).value().has_value());
    CHECK_FALSE(t->get("p", "k" + std::to_string(committed)).value().has_value());
}

TEST_CASE("a table reopened from its LMDB directory finds its entries, queue and Merkle state",
          "[table][lmdb]")
{
    test::temp_dir dir;
    util::hash32 root;
    {
        auto db = open_db(dir.path() / "db", 1 << 30);
        auto t = kv_table::open(kv_schema{}, replication::local{}, db).value();
        REQUIRE(t->insert(kv_entry{"p", "a", 1, "one", false}).has_value());
        REQUIRE(t->insert(kv_entry{"p", "b", 1, "two", false}).has_value());
        REQUIRE(t->merkle().update_all().has_value());
        root = t->merkle().root_hash(0).value();
        REQUIRE(t->insert(kv_entry{"p", "c", 1, "three", false}).has_value()); // todo left pending
    }
    auto db = open_db(dir.path() / "db", 1 << 30);
    auto t = kv_table::open(kv_schema{}, replication::local{}, db).value();
    CHECK(t->get("p", "a").value()->value == "one");
    CHECK(t->merkle().root_hash(0).value() == root);
    CHECK(t->merkle().todo_len().value() == 1);
    REQUIRE(t->merkle().update_all().has_value());
    CHECK(t->merkle().root_hash(0).value() != root);
    CHECK(t->len().value() == 3);
}
} // namespace
