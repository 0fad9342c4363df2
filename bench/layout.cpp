// Computing the cluster layout (reference §5.6): 100 storage nodes in 10 zones, replication
// factor 3, maximum zone redundancy, capacities between 1 and 10 TB.
//
// - from_scratch: version 1 of a new cluster (binary search of the partition size by max-flow,
//   then the assignment);
// - one_node_added / one_node_removed / one_capacity_changed: the next version after one
//   staged change, which also minimises the partitions moved from version 1.
// The target is under 2 s per computation.

#include <garage/layout/history.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace {
using namespace garage;

constexpr std::size_t node_count = 100;
constexpr std::size_t zone_count = 10;

util::node_id node(std::size_t i)
{
    std::mt19937_64 rng(i + 1);
    util::node_id id;
    for (std::size_t b = 0; b < id.size(); ++b) {
        id[b] = static_cast<std::uint8_t>(rng());
    }
    return id;
}

/// A new cluster with the 100 nodes staged (nothing applied yet): capacities from 1 to 10 TB
/// at random, or all 4 TB when `uniform`.
layout::layout_history staged_cluster(bool uniform = false)
{
    auto h = layout::layout_history::make(3);
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::uint64_t> tb(1, 10);
    for (std::size_t i = 0; i < node_count; ++i) {
        auto const id = node(i);
        layout::assign_options opts;
        opts.zone = "zone-" + std::to_string(i % zone_count);
        opts.capacity = (uniform ? 4 : tb(rng)) * 1'000'000'000'000ULL;
        if (!h.stage_assign(id, opts)) {
            std::abort();
        }
    }
    return h;
}

layout::layout_history applied_cluster(bool uniform = false)
{
    auto h = staged_cluster(uniform);
    if (!h.apply_staged_changes(1)) {
        std::abort();
    }
    return h;
}

void run_preview(benchmark::State& state, layout::layout_history const& h)
{
    std::size_t moves_line_seen = 0;
    for (auto _ : state) {
        auto r = h.preview();
        if (!r) {
            state.SkipWithError(r.error().message.c_str());
            return;
        }
        benchmark::DoNotOptimize(r->first.ring.data());
        moves_line_seen = r->second.size();
    }
    auto const r = h.preview();
    state.counters["partition_size_GB"] = static_cast<double>(r->first.partition_size) / 1e9;
    state.counters["report_lines"] = static_cast<double>(moves_line_seen);
    // The number of copies to transfer, from the assignment itself.
    if (h.current().is_ready()) {
        std::size_t moves = 0;
        for (std::size_t p = 0; p < layout::partition_count; ++p) {
            auto const before = h.current().nodes_of(static_cast<layout::partition_id>(p));
            for (auto const& n : r->first.nodes_of(static_cast<layout::partition_id>(p))) {
                moves += std::find(before.begin(), before.end(), n) == before.end() ? 1 : 0;
            }
        }
        state.counters["moves"] = static_cast<double>(moves);
    }
}

void BM_layout_from_scratch(benchmark::State& state)
{
    auto const h = staged_cluster();
    run_preview(state, h);
}
BENCHMARK(BM_layout_from_scratch)->Unit(benchmark::kMillisecond);

void BM_layout_one_node_added(benchmark::State& state)
{
    auto h = applied_cluster();
    auto const id = node(node_count);
    layout::assign_options opts;
    opts.zone = "zone-3";
    opts.capacity = 5'000'000'000'000ULL;
    if (!h.stage_assign(id, opts)) {
        std::abort();
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_one_node_added)->Unit(benchmark::kMillisecond);

void BM_layout_one_node_removed(benchmark::State& state)
{
    auto h = applied_cluster();
    if (!h.stage_remove(node(17))) {
        std::abort();
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_one_node_removed)->Unit(benchmark::kMillisecond);

void BM_layout_one_capacity_changed(benchmark::State& state)
{
    auto h = applied_cluster();
    auto const id = node(5);
    layout::assign_options opts;
    opts.capacity = 20'000'000'000'000ULL;
    if (!h.stage_assign(id, opts)) {
        std::abort();
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_one_capacity_changed)->Unit(benchmark::kMillisecond);

void BM_layout_uniform_one_node_added(benchmark::State& state)
{
    auto h = applied_cluster(true);
    auto const id = node(node_count);
    layout::assign_options opts;
    opts.zone = "zone-3";
    opts.capacity = 4'000'000'000'000ULL;
    if (!h.stage_assign(id, opts)) {
        std::abort();
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_uniform_one_node_added)->Unit(benchmark::kMillisecond);

/// A large change: the ten nodes of one zone leave (their copies all move elsewhere).
void BM_layout_uniform_zone_removed(benchmark::State& state)
{
    auto h = applied_cluster(true);
    for (std::size_t i = 0; i < node_count; i += zone_count) {
        if (!h.stage_remove(node(i))) {
            std::abort();
        }
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_uniform_zone_removed)->Unit(benchmark::kMillisecond);

/// The worst case for the move minimisation: every node replaced by a new one.
void BM_layout_all_nodes_replaced(benchmark::State& state)
{
    auto h = applied_cluster();
    for (std::size_t i = 0; i < node_count; ++i) {
        auto const id = node(1000 + i);
        layout::assign_options opts;
        opts.zone = "zone-" + std::to_string(i % zone_count);
        opts.capacity = 4'000'000'000'000ULL;
        opts.replace = {node(i)};
        if (!h.stage_assign(id, opts)) {
            std::abort();
        }
    }
    run_preview(state, h);
}
BENCHMARK(BM_layout_all_nodes_replaced)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
