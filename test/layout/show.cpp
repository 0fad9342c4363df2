// Test that header file is self-contained.
#include <garage/layout/show.hpp>

#include <test/layout/nodes.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

namespace {
using namespace garage;
using test::layout_node;

bool has(layout::report const& r, std::string const& needle)
{
    return std::any_of(r.begin(), r.end(),
                       [&](std::string const& l) { return l.find(needle) != std::string::npos; });
}

/// A line starting with `first` that also contains `then`.
bool has_row(layout::report const& r, std::string const& first, std::string const& then)
{
    return std::any_of(r.begin(), r.end(), [&](std::string const& l) {
        return l.rfind(first, 0) == 0 && l.find(then) != std::string::npos;
    });
}

TEST_CASE("layout show lists roles with usable capacity and the staged changes", "[layout][show]")
{
    auto h = layout::layout_history::make(3);
    CHECK(layout::format_layout(h.current(), "No nodes") == layout::report{"No nodes"});
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000},
                          {1, "dc2", 1'000'000'000},
                          {2, "dc3", 1'000'000'000},
                          {3, "dc1", std::nullopt}});
    auto const staged = layout::format_staged_changes(h);
    REQUIRE_FALSE(staged.empty());
    CHECK(staged[0] == "==== STAGED ROLE CHANGES ====");
    CHECK(has(staged, layout_node(3).to_hex().substr(0, 16)));
    CHECK(has(staged, "gateway"));

    h.apply_staged_changes(1).value();
    CHECK(layout::format_staged_changes(h).empty());
    auto const shown = layout::format_layout(h.current(), "No nodes");
    CHECK(has(shown, "ID"));
    CHECK(has(shown, "1.0 GB (100.0%)")); // 256 partitions of 3 906 250 bytes fill 1 GB
    CHECK(shown.back() == "Zone redundancy: maximum");

    REQUIRE(h.stage_remove(layout_node(1)));
    REQUIRE(h.stage_zone_redundancy(layout::zone_redundancy::at_least(2)));
    auto const removal = layout::format_staged_changes(h);
    CHECK(has(removal, "REMOVED"));
    CHECK(removal.back() == "Zone redundancy: 2");
}

TEST_CASE("layout history shows versions and, during a transition, the trackers", "[layout][show]")
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}, {2, "dc3", 1'000'000'000}});
    h.apply_staged_changes(1).value();
    auto const stable = layout::format_history(h);
    CHECK(has_row(stable, "#1 ", "current"));
    CHECK(has(stable, "single live layout version"));

    test::stage_nodes(h, {{3, "dc4", 1'000'000'000}});
    h.apply_staged_changes(2).value();
    auto const moving = layout::format_history(h);
    CHECK(has_row(moving, "#2 ", "current"));
    CHECK(has_row(moving, "#1 ", "draining"));
    CHECK(has(moving, "==== UPDATE TRACKERS ===="));
    CHECK(has(moving, "skip-dead-nodes --version 2`"));
}

} // namespace
