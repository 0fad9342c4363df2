// Table operations on LMDB against the same operations on raw LMDB++, with the same keys and
// values, plus the Merkle updater.
//
//   bazel run -c opt //bench:table -- --benchmark_min_time=1
//
// Each benchmark works in a fresh LMDB environment under $TMPDIR with fsync off (as Garage's
// default `metadata_fsync = false`). Items per second is the figure to compare.

#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/table/table.hpp>
#include <garage/util/codec.hpp>

#include <benchmark/benchmark.h>
#include <cereal/types/string.hpp>
#include <lmdb++.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace garage;

struct item {
    std::string list;
    std::string name;
    std::uint64_t ts = 0;
    std::string note;

    std::string const& partition_key() const { return list; }
    std::string const& sort_key() const { return name; }
    void merge(item const& o)
    {
        if (std::tie(o.ts, o.note) > std::tie(ts, note)) {
            ts = o.ts;
            note = o.note;
        }
    }
    friend bool operator==(item const&, item const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(list, name, ts, note);
    }
};

struct item_schema {
    static constexpr std::string_view table_name = "items";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = item;
    using filter_type = table::no_filter;
    static bool matches_filter(item const&, table::no_filter) { return true; }
};

using item_table = table::table<item_schema, replication::local, storage::lmdb_backend>;

/// A fresh directory for one benchmark run, removed afterwards.
struct scratch {
    std::filesystem::path path;
    scratch()
    {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("garage-bench-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~scratch() { std::filesystem::remove_all(path); }
};

/// The items and their (key, encoded value) pairs as the table stores them.
struct dataset {
    std::vector<item> items;
    std::vector<std::pair<std::string, std::string>> kv;
    explicit dataset(std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i) {
            item it{"list-" + std::to_string(i % 64), "item-" + std::to_string(i), 1000 + i,
                    "a note of some forty bytes about item " + std::to_string(i)};
            kv.emplace_back(item_table::tree_key(it.list, it.name), util::encode(it));
            items.push_back(std::move(it));
        }
    }
};

constexpr std::size_t batch = 1000;

storage::lmdb_backend open_backend(scratch const& s)
{
    storage::lmdb_options o;
    o.path = s.path / "db";
    o.map_size = 8ull << 30;
    return std::move(storage::lmdb_backend::open(o).value());
}

lmdb::env open_raw(scratch const& s)
{
    auto env = lmdb::env::create();
    env.set_mapsize(8ull << 30);
    env.set_max_dbs(16);
    std::filesystem::create_directories(s.path / "raw");
    env.open((s.path / "raw").c_str(), MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC | MDB_NOSYNC, 0600);
    return env;
}

// --- inserts ------------------------------------------------------------------------------------

void raw_lmdb_put_batch(benchmark::State& state)
{
    scratch s;
    auto env = open_raw(s);
    MDB_dbi dbi;
    {
        auto txn = lmdb::txn::begin(env);
        dbi = lmdb::dbi::open(txn, "items", MDB_CREATE).handle();
        txn.commit();
    }
    dataset d(batch * 64);
    std::size_t round = 0;
    for (auto _ : state) {
        auto txn = lmdb::txn::begin(env);
        auto const base = (round++ % 64) * batch;
        for (std::size_t i = base; i < base + batch; ++i) {
            lmdb::val k(d.kv[i].first.data(), d.kv[i].first.size());
            lmdb::val v(d.kv[i].second.data(), d.kv[i].second.size());
            lmdb::dbi_put(txn, dbi, k, v, 0);
        }
        txn.commit();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(raw_lmdb_put_batch)->Unit(benchmark::kMillisecond);

void table_insert_batch(benchmark::State& state)
{
    scratch s;
    auto db = open_backend(s);
    auto t = item_table::open(item_schema{}, replication::local{}, db).value();
    dataset d(batch * 64);
    std::size_t round = 0;
    for (auto _ : state) {
        auto const base = (round++ % 64) * batch;
        // Re-inserting a round bumps the timestamps so that every insert really writes.
        if (round > 64) {
            state.PauseTiming();
            for (std::size_t i = base; i < base + batch; ++i) {
                d.items[i].ts += 1000000;
            }
            state.ResumeTiming();
        }
        auto r = t->insert_many(std::span<item const>(d.items).subspan(base, batch));
        if (!r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}
BENCHMARK(table_insert_batch)->Unit(benchmark::kMillisecond);

void raw_lmdb_put_single(benchmark::State& state)
{
    scratch s;
    auto env = open_raw(s);
    MDB_dbi dbi;
    {
        auto txn = lmdb::txn::begin(env);
        dbi = lmdb::dbi::open(txn, "items", MDB_CREATE).handle();
        txn.commit();
    }
    dataset d(batch * 16);
    std::size_t i = 0;
    for (auto _ : state) {
        auto const& [key, value] = d.kv[i++ % d.kv.size()];
        auto txn = lmdb::txn::begin(env);
        lmdb::val k(key.data(), key.size());
        lmdb::val v(value.data(), value.size());
        lmdb::dbi_put(txn, dbi, k, v, 0);
        txn.commit();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(raw_lmdb_put_single);

void table_insert_single(benchmark::State& state)
{
    scratch s;
    auto db = open_backend(s);
    auto t = item_table::open(item_schema{}, replication::local{}, db).value();
    dataset d(batch * 16);
    std::size_t i = 0;
    for (auto _ : state) {
        auto& it = d.items[i++ % d.items.size()];
        it.ts += 1000000;
        if (auto r = t->insert(it); !r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(table_insert_single);

// --- reads --------------------------------------------------------------------------------------

constexpr std::size_t read_set = 100000;

void raw_lmdb_get(benchmark::State& state)
{
    scratch s;
    auto env = open_raw(s);
    MDB_dbi dbi;
    dataset d(read_set);
    {
        auto txn = lmdb::txn::begin(env);
        dbi = lmdb::dbi::open(txn, "items", MDB_CREATE).handle();
        for (auto const& [key, value] : d.kv) {
            lmdb::val k(key.data(), key.size());
            lmdb::val v(value.data(), value.size());
            lmdb::dbi_put(txn, dbi, k, v, 0);
        }
        txn.commit();
    }
    std::mt19937 rng(1);
    std::size_t found = 0;
    for (auto _ : state) {
        auto const& key = d.kv[rng() % d.kv.size()].first;
        auto txn = lmdb::txn::begin(env, nullptr, MDB_RDONLY);
        lmdb::val k(key.data(), key.size());
        lmdb::val v;
        if (lmdb::dbi_get(txn, dbi, k, v)) {
            std::string copy(v.data(), v.size()); // the caller gets its own bytes, as from the table
            benchmark::DoNotOptimize(copy);
            ++found;
        }
        txn.abort();
    }
    if (found != static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("missing keys");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(raw_lmdb_get);

void table_get(benchmark::State& state)
{
    scratch s;
    auto db = open_backend(s);
    auto t = item_table::open(item_schema{}, replication::local{}, db).value();
    dataset d(read_set);
    for (std::size_t i = 0; i < d.items.size(); i += batch) {
        (void)t->insert_many(std::span<item const>(d.items).subspan(i, std::min(batch, d.items.size() - i)));
    }
    std::mt19937 rng(1);
    std::size_t found = 0;
    for (auto _ : state) {
        auto const& it = d.items[rng() % d.items.size()];
        auto got = t->get(it.list, it.name);
        if (got && *got) {
            benchmark::DoNotOptimize(**got);
            ++found;
        }
    }
    if (found != static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("missing keys");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(table_get);

// --- Merkle updater -----------------------------------------------------------------------------

void merkle_update(benchmark::State& state)
{
    auto const n = static_cast<std::size_t>(state.range(0));
    std::size_t processed = 0;
    for (auto _ : state) {
        scratch s;
        auto db = open_backend(s);
        auto t = item_table::open(item_schema{}, replication::local{}, db).value();
        dataset d(n);
        for (std::size_t i = 0; i < n; i += batch) {
            (void)t->insert_many(std::span<item const>(d.items).subspan(i, std::min(batch, n - i)));
        }
        auto const t0 = std::chrono::steady_clock::now();
        auto r = t->merkle().update_all();
        auto const t1 = std::chrono::steady_clock::now();
        if (!r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
        processed += *r;
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(processed));
}
BENCHMARK(merkle_update)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(3)->UseManualTime();

} // namespace

BENCHMARK_MAIN();
