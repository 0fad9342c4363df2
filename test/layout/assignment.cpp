// Test that header file is self-contained.
#include <garage/layout/assignment.hpp>

#include <garage/layout/error.hpp>
#include <garage/layout/role.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace {
using namespace garage;
using layout::assignment_problem;

assignment_problem make_problem(std::vector<std::pair<std::uint64_t, std::size_t>> const& nodes,
                                std::size_t rf, std::size_t redundancy)
{
    assignment_problem pb;
    std::size_t zones = 0;
    for (auto const& [cap, zone] : nodes) {
        pb.nodes.push_back({cap, zone});
        zones = std::max(zones, zone + 1);
    }
    pb.zone_count = zones;
    pb.replication_factor = rf;
    pb.zone_redundancy = redundancy;
    return pb;
}

/// Checks every invariant of an assignment; returns the per-node partition counts.
std::vector<std::size_t> check_valid(assignment_problem const& pb, layout::assignment const& a)
{
    REQUIRE(a.partitions.size() == layout::partition_count);
    std::vector<std::size_t> count(pb.nodes.size(), 0);
    for (auto const& nodes : a.partitions) {
        REQUIRE(nodes.size() == pb.replication_factor);
        std::set<std::size_t> distinct(nodes.begin(), nodes.end());
        REQUIRE(distinct.size() == pb.replication_factor);
        std::set<std::size_t> zones;
        for (auto n : nodes) {
            REQUIRE(n < pb.nodes.size());
            zones.insert(pb.nodes[n].zone);
            ++count[n];
        }
        REQUIRE(zones.size() >= pb.zone_redundancy);
    }
    for (std::size_t n = 0; n < pb.nodes.size(); ++n) {
        REQUIRE(count[n] * a.partition_size <= pb.nodes[n].capacity);
    }
    return count;
}

std::size_t moves_between(std::vector<std::vector<std::size_t>> const& before,
                          std::vector<std::vector<std::size_t>> const& after)
{
    std::size_t m = 0;
    for (std::size_t p = 0; p < after.size(); ++p) {
        for (auto n : after[p]) {
            if (std::find(before[p].begin(), before[p].end(), n) == before[p].end()) {
                ++m;
            }
        }
    }
    return m;
}

/// Single zone, redundancy 1: feasible iff the sum of min(capacity / s, 256) reaches 256 × rf.
std::uint64_t single_zone_optimum(std::vector<std::uint64_t> const& caps, std::size_t rf)
{
    auto feasible = [&](std::uint64_t s) {
        std::uint64_t slots = 0;
        for (auto c : caps) {
            slots += std::min<std::uint64_t>(c / s, 256);
        }
        return slots >= 256 * rf;
    };
    std::uint64_t lo = 1;
    std::uint64_t hi = 1;
    for (auto c : caps) {
        hi += c;
    }
    while (lo + 1 < hi) {
        auto mid = lo + (hi - lo) / 2;
        (feasible(mid) ? lo : hi) = mid;
    }
    return lo;
}

TEST_CASE("three nodes in three zones with rf 3 each store every partition", "[layout][assignment]")
{
    auto const pb = make_problem({{1'000'000'000, 0}, {2'000'000'000, 1}, {3'000'000'000, 2}}, 3, 3);
    auto const a = layout::compute_assignment(pb);
    REQUIRE(a);
    // The smallest node holds all 256 partitions: s = 1e9 / 256.
    CHECK(a->partition_size == 3'906'250);
    auto const count = check_valid(pb, *a);
    CHECK(count == std::vector<std::size_t>{256, 256, 256});
    CHECK(a->moves == 768); // no previous assignment: every copy is new
}

TEST_CASE("uneven capacities with rf 1 give the largest size that fits", "[layout][assignment]")
{
    // floor(3000/s) + floor(1000/s) >= 256: s = 15 gives 200 + 66 = 266, s = 16 gives 187 + 62 = 249.
    auto const pb = make_problem({{3000, 0}, {1000, 0}}, 1, 1);
    auto const a = layout::compute_assignment(pb);
    REQUIRE(a);
    CHECK(a->partition_size == 15);
    auto const count = check_valid(pb, *a);
    CHECK(count[0] + count[1] == 256);
    CHECK(count[0] <= 200);
    CHECK(count[1] <= 66);
}

TEST_CASE("uneven capacities over three zones are bounded by the smallest zone", "[layout][assignment]")
{
    // Zone 0: one node of 2 GB; zone 1: two nodes of 1 GB; zone 2: one node of 1 GB.
    // Every partition needs one copy per zone, so the lone 1 GB node bounds s to 1e9 / 256.
    auto const pb =
        make_problem({{2'000'000'000, 0}, {1'000'000'000, 1}, {1'000'000'000, 1}, {1'000'000'000, 2}}, 3, 3);
    auto const a = layout::compute_assignment(pb);
    REQUIRE(a);
    CHECK(a->partition_size == 3'906'250);
    auto const count = check_valid(pb, *a);
    CHECK(count[0] == 256);
    CHECK(count[1] + count[2] == 256);
    CHECK(count[3] == 256);
}

TEST_CASE("five nodes in two zones with rf 2 obey the zone redundancy", "[layout][assignment]")
{
    // Zone 0: three small nodes (1 MB); zone 1: two big nodes (1 GB).
    std::vector<std::pair<std::uint64_t, std::size_t>> const nodes = {
        {1'000'000, 0}, {1'000'000, 0}, {1'000'000, 0}, {1'000'000'000, 1}, {1'000'000'000, 1}};

    SECTION("redundancy 2: one copy in each zone, the small zone bounds the size")
    {
        // Zone 0 must hold 256 copies on 3 nodes: 86 each, s = floor(1e6 / 86) = 11627.
        auto const pb = make_problem(nodes, 2, 2);
        auto const a = layout::compute_assignment(pb);
        REQUIRE(a);
        CHECK(a->partition_size == 11'627);
        auto const count = check_valid(pb, *a);
        CHECK(count[0] + count[1] + count[2] == 256);
        CHECK(count[3] + count[4] == 256);
        CHECK_FALSE(layout::partition_size_feasible(pb, 11'628));
    }
    SECTION("redundancy 1: both copies may go to the big zone")
    {
        auto const pb = make_problem(nodes, 2, 1);
        auto const a = layout::compute_assignment(pb);
        REQUIRE(a);
        CHECK(a->partition_size == 3'906'250);
        auto const count = check_valid(pb, *a);
        CHECK(count[3] == 256);
        CHECK(count[4] == 256);
        CHECK(count[0] + count[1] + count[2] == 0);
    }
}

TEST_CASE("adding an eleventh node moves exactly the copies it must take", "[layout][assignment]")
{
    // Ten equal nodes of 7 MB, rf 3: each holds at most 77 copies, s = floor(7e6 / 77) = 90909.
    std::vector<std::pair<std::uint64_t, std::size_t>> nodes(10, {7'000'000, 0});
    auto pb = make_problem(nodes, 3, 1);
    auto const before = layout::compute_assignment(pb);
    REQUIRE(before);
    CHECK(before->partition_size == 90'909);
    check_valid(pb, *before);

    // An eleventh equal node: s = 7e6 / 70 = 100000, the old nodes keep at most 700 copies,
    // so at least 68 copies must move, and 68 suffice.
    pb.nodes.push_back({7'000'000, 0});
    pb.previous = before->partitions;
    auto const after = layout::compute_assignment(pb);
    REQUIRE(after);
    CHECK(after->partition_size == 100'000);
    auto const count = check_valid(pb, *after);
    CHECK(after->moves == 68);
    CHECK(moves_between(before->partitions, after->partitions) == 68);
    CHECK(count[10] == 68);
}

TEST_CASE("recomputing with the same nodes moves nothing", "[layout][assignment]")
{
    auto pb =
        make_problem({{5'000'000, 0}, {3'000'000, 0}, {4'000'000, 1}, {4'000'000, 1}, {9'000'000, 2}}, 3, 2);
    auto const first = layout::compute_assignment(pb);
    REQUIRE(first);
    pb.previous = first->partitions;
    auto const second = layout::compute_assignment(pb);
    REQUIRE(second);
    CHECK(second->moves == 0);
    CHECK(second->partition_size == first->partition_size);
    CHECK(second->partitions == first->partitions); // kept pairs keep their order
}

TEST_CASE("refusals: too few nodes, too few zones, zero capacity, too little capacity",
          "[layout][assignment]")
{
    auto const too_few_nodes =
        layout::compute_assignment(make_problem({{1'000'000, 0}, {1'000'000, 1}}, 3, 2));
    REQUIRE_FALSE(too_few_nodes);
    CHECK(too_few_nodes.error().code == layout::error::too_few_nodes);
    CHECK(too_few_nodes.error().is(util::condition::bad_request));

    auto const too_few_zones =
        layout::compute_assignment(make_problem({{1'000'000, 0}, {1'000'000, 1}, {1'000'000, 1}}, 3, 3));
    REQUIRE_FALSE(too_few_zones);
    CHECK(too_few_zones.error().code == layout::error::too_few_zones);

    auto const zero = layout::compute_assignment(make_problem({{0, 0}, {1'000'000, 0}}, 1, 1));
    REQUIRE_FALSE(zero);
    CHECK(zero.error().code == layout::error::invalid_role);

    // 3 nodes of 100 bytes cannot hold 768 copies of even 1 byte.
    auto const tiny = layout::compute_assignment(make_problem({{100, 0}, {100, 1}, {100, 2}}, 3, 3));
    REQUIRE_FALSE(tiny);
    CHECK(tiny.error().code == layout::error::insufficient_capacity);

    auto const bad_redundancy =
        layout::compute_assignment(make_problem({{1'000'000, 0}, {1'000'000, 1}}, 2, 3));
    REQUIRE_FALSE(bad_redundancy);
    CHECK(bad_redundancy.error().code == layout::error::invalid_parameter);

    std::vector<std::pair<std::uint64_t, std::size_t>> many(257, {1'000'000, 0});
    auto const too_many = layout::compute_assignment(make_problem(many, 1, 1));
    REQUIRE_FALSE(too_many);
    CHECK(too_many.error().code == layout::error::too_many_nodes);
}

TEST_CASE("random clusters: valid, maximal, stable, and a small change moves few copies",
          "[layout][assignment][property]")
{
    std::mt19937_64 rng(GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u));
    for (int round = 0; round < 12; ++round) {
        std::size_t const zones = std::uniform_int_distribution<std::size_t>(1, 4)(rng);
        std::size_t const n =
            std::uniform_int_distribution<std::size_t>(std::max<std::size_t>(zones, 3), 12)(rng);
        std::size_t const rf = std::uniform_int_distribution<std::size_t>(1, 3)(rng);
        std::size_t const redundancy =
            std::uniform_int_distribution<std::size_t>(1, std::min(zones, rf))(rng);
        std::vector<std::pair<std::uint64_t, std::size_t>> nodes;
        for (std::size_t i = 0; i < n; ++i) {
            // Every zone gets a node, then zones at random.
            auto const zone = i < zones ? i : std::uniform_int_distribution<std::size_t>(0, zones - 1)(rng);
            nodes.emplace_back(std::uniform_int_distribution<std::uint64_t>(1'000'000, 1'000'000'000)(rng),
                               zone);
        }
        auto pb = make_problem(nodes, rf, redundancy);
        INFO("round " << round << ": " << n << " nodes, " << zones << " zones, rf " << rf << ", redundancy "
                      << redundancy);
        auto const a = layout::compute_assignment(pb);
        REQUIRE(a);
        check_valid(pb, *a);

        // Maximal: the size found is feasible, one byte more is not.
        CHECK(layout::partition_size_feasible(pb, a->partition_size));
        CHECK_FALSE(layout::partition_size_feasible(pb, a->partition_size + 1));
        if (zones == 1) {
            std::vector<std::uint64_t> caps;
            for (auto const& nd : pb.nodes) {
                caps.push_back(nd.capacity);
            }
            CHECK(a->partition_size == single_zone_optimum(caps, rf));
        }

        // Stable: the same nodes again move nothing.
        auto again = pb;
        again.previous = a->partitions;
        auto const b = layout::compute_assignment(again);
        REQUIRE(b);
        CHECK(b->moves == 0);
        CHECK(b->partitions == a->partitions);

        // A small change: one node's capacity grows by 10 %. Nothing the other nodes hold
        // needs to move unless the partition size changes, and even then not much.
        auto changed = again;
        auto const victim = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
        changed.nodes[victim].capacity += changed.nodes[victim].capacity / 10;
        auto const c = layout::compute_assignment(changed);
        REQUIRE(c);
        check_valid(changed, *c);
        CHECK(c->partition_size >= a->partition_size);
        CHECK(c->moves == moves_between(a->partitions, c->partitions));
        // Optimality of the moves: never more than a fresh assignment would move.
        auto fresh = changed;
        fresh.previous.clear();
        auto const d = layout::compute_assignment(fresh);
        REQUIRE(d);
        CHECK(c->moves <= moves_between(a->partitions, d->partitions));
        if (c->partition_size == a->partition_size) {
            CHECK(c->moves == 0); // the old assignment is still valid at that size
        }
    }
}

} // namespace
