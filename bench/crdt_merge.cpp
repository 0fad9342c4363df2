// Merging and serializing the CRDT maps that table entries are made of.
//
// The subject is `lww_map<std::string, lww<std::string>>` with 1,000 keys, merged with another
// of 1,000 keys of which half are shared (as two replicas that diverged), then saved and loaded
// through cereal's portable binary archive (the table and RPC format).

#include <garage/crdt/lww.hpp>
#include <garage/crdt/lww_map.hpp>

#include <benchmark/benchmark.h>

#include <cereal/archives/portable_binary.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>

namespace {
using namespace garage;
using register_type = crdt::lww<std::string>;
using map_type = crdt::lww_map<std::string, register_type>;

constexpr int map_size = 1000;

/// `count` keys starting at `first`, with 32-byte values and timestamps in a narrow window so
/// that shared keys are sometimes newer on one side, sometimes on the other, sometimes equal.
map_type make_map(int first, int count, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> ts(1'700'000'000'000, 1'700'000'000'004);
    map_type out;
    for (int i = first; i < first + count; ++i) {
        char key[16];
        std::snprintf(key, sizeof key, "key-%06d", i);
        auto const stamp = ts(rng);
        out.merge_raw(key, stamp,
                      register_type::raw(stamp, std::string(32, static_cast<char>('a' + rng() % 26))));
    }
    return out;
}

map_type const& left()
{
    static map_type const m = make_map(0, map_size, 1);
    return m;
}

map_type const& right()
{
    static map_type const m = make_map(map_size / 2, map_size, 2); // keys 500..1499: half shared
    return m;
}

std::string to_bytes(map_type const& m)
{
    std::ostringstream out;
    {
        cereal::PortableBinaryOutputArchive ar(out);
        ar(m);
    }
    return std::move(out).str();
}

/// Baseline: copying the 1,000-key map (included in the next benchmark).
void bm_lww_map_copy(benchmark::State& state)
{
    for (auto _ : state) {
        map_type copy = left();
        benchmark::DoNotOptimize(copy);
    }
    state.SetItemsProcessed(state.iterations() * map_size);
}
BENCHMARK(bm_lww_map_copy);

/// Copy one map and merge the other into it: 1,000 + 1,000 keys, 500 shared, 1,500 out.
void bm_lww_map_merge_half_overlap(benchmark::State& state)
{
    if (auto check = left(); (crdt::merge(check, right()), check.size()) != map_size * 3 / 2) {
        state.SkipWithError("the maps do not overlap by half");
        return;
    }
    for (auto _ : state) {
        map_type target = left();
        crdt::merge(target, right());
        benchmark::DoNotOptimize(target);
    }
    state.SetItemsProcessed(state.iterations() * 2 * map_size);
}
BENCHMARK(bm_lww_map_merge_half_overlap);

/// Merge a map whose keys are all known already (replicas in sync): in place, no allocation.
void bm_lww_map_merge_known_keys(benchmark::State& state)
{
    map_type target = left();
    crdt::merge(target, right());
    for (auto _ : state) {
        crdt::merge(target, right());
        benchmark::DoNotOptimize(target);
    }
    state.SetItemsProcessed(state.iterations() * map_size);
}
BENCHMARK(bm_lww_map_merge_known_keys);

/// Merge a one-key delta (an `update_mutator`) into the merged 1,500-key map.
void bm_lww_map_merge_delta(benchmark::State& state)
{
    map_type target = left();
    crdt::merge(target, right());
    auto const delta =
        map_type::raw_item("key-000750", 1'800'000'000'000, register_type::raw(1, "new value"));
    for (auto _ : state) {
        crdt::merge(target, delta);
        benchmark::DoNotOptimize(target);
    }
}
BENCHMARK(bm_lww_map_merge_delta);

/// Save the 1,000-key map to a portable binary archive.
void bm_lww_map_serialize(benchmark::State& state)
{
    auto const bytes = to_bytes(left()).size();
    for (auto _ : state) {
        auto out = to_bytes(left());
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(bm_lww_map_serialize);

/// Load the 1,000-key map from a portable binary archive (with the key-order check).
void bm_lww_map_deserialize(benchmark::State& state)
{
    auto const bytes = to_bytes(left());
    for (auto _ : state) {
        std::istringstream in(bytes);
        cereal::PortableBinaryInputArchive ar(in);
        map_type m;
        ar(m);
        benchmark::DoNotOptimize(m);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(bm_lww_map_deserialize);

} // namespace

BENCHMARK_MAIN();
