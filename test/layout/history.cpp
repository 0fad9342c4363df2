// Test that header file is self-contained.
#include <garage/layout/history.hpp>

#include <garage/layout/error.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/persister.hpp>

#include <test/layout/nodes.hpp>
#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <vector>

namespace {
using namespace garage;
using test::layout_node;

/// Version 1 with three 1 GB nodes in three zones, rf 3.
layout::layout_history three_nodes()
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}, {2, "dc3", 1'000'000'000}});
    h.apply_staged_changes(1).value();
    return h;
}

TEST_CASE("update trackers raise, never lower, and merge by maximum", "[layout][history]")
{
    layout::update_tracker t;
    auto const a = layout_node(0);
    auto const b = layout_node(1);
    auto const c = layout_node(2);
    CHECK(t.set_max(a, 3));
    CHECK_FALSE(t.set_max(a, 2));
    CHECK(t.get(a, 1) == 3);
    CHECK(t.get(b, 1) == 1); // absent: the oldest live version
    std::vector<util::node_id> const ab{a, b};
    CHECK(t.min_among(ab, 1) == 1);
    CHECK(t.min_among({}, 7) == 7);

    layout::update_tracker u;
    u.set_max(a, 1);
    u.set_max(b, 5);
    u.set_max(c, 2);
    auto tu = t;
    CHECK(tu.merge(u));
    auto ut = u;
    ut.merge(t);
    CHECK(tu == ut);
    CHECK(tu.get(a, 0) == 3);
    CHECK(tu.get(b, 0) == 5);
    CHECK_FALSE(tu.merge(u)); // idempotent
}

TEST_CASE("assign refuses malformed roles and stages nothing", "[layout][history]")
{
    auto h = layout::layout_history::make(3);
    auto const n = layout_node(0);
    auto const before = h;

    layout::assign_options zero;
    zero.zone = "dc1";
    zero.capacity = 0;
    auto r = h.stage_assign(n, zero);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::invalid_role);

    layout::assign_options both;
    both.zone = "dc1";
    both.capacity = 10;
    both.gateway = true;
    CHECK(h.stage_assign(n, both).error().code == layout::error::invalid_role);

    layout::assign_options no_capacity;
    no_capacity.zone = "dc1";
    CHECK(h.stage_assign(n, no_capacity).error().code == layout::error::invalid_role);

    layout::assign_options no_zone;
    no_zone.capacity = 10;
    CHECK(h.stage_assign(n, no_zone).error().code == layout::error::invalid_role);

    layout::assign_options replace_unknown;
    replace_unknown.zone = "dc1";
    replace_unknown.capacity = 10;
    replace_unknown.replace = {layout_node(9)};
    CHECK(h.stage_assign(n, replace_unknown).error().code == layout::error::unknown_node);

    CHECK(h.stage_remove(layout_node(5)).error().code == layout::error::unknown_node);
    CHECK(h == before);
    CHECK_FALSE(h.has_staged_changes());
}

TEST_CASE("assign on a node with a role keeps what is not given", "[layout][history]")
{
    auto h = three_nodes();
    auto const n = layout_node(1);
    layout::assign_options tags;
    tags.tags = std::vector<std::string>{"fast"};
    REQUIRE(h.stage_assign(n, tags));
    auto const roles = h.planned_roles();
    auto const& role = *roles.get(n)->role;
    CHECK(role.zone == "dc2");
    CHECK(role.capacity == 1'000'000'000);
    CHECK(role.tags == std::vector<std::string>{"fast"});
    CHECK(h.has_staged_changes());

    // --replace: the replaced node loses its role in the same staging.
    auto const fresh = layout_node(7);
    layout::assign_options repl;
    repl.zone = "dc2";
    repl.capacity = 1'000'000'000;
    repl.replace = {n};
    REQUIRE(h.stage_assign(fresh, repl));
    auto const planned = h.planned_roles();
    CHECK_FALSE(planned.get(n)->role.has_value());
    CHECK(planned.get(fresh)->role->zone == "dc2");
    REQUIRE(h.apply_staged_changes(2));
    CHECK(h.current().role_of(n) == nullptr);
    CHECK(h.current().partitions_of_node(fresh) == 256);
}

TEST_CASE("assign gives one role to several nodes at once", "[layout][history]")
{
    auto h = layout::layout_history::make(2);
    std::vector<util::node_id> const ids{layout_node(0), layout_node(1), layout_node(2)};
    layout::assign_options opts;
    opts.zone = "dc1";
    opts.capacity = 5'000'000;
    opts.tags = std::vector<std::string>{"ssd"};
    REQUIRE(h.stage_assign(ids, opts));
    auto const roles = h.planned_roles();
    CHECK(roles.size() == 3);
    for (auto const& id : ids) {
        CHECK(*roles.get(id)->role == layout::node_role{"dc1", 5'000'000, {"ssd"}});
    }
    // One node refused: none is staged.
    auto h2 = layout::layout_history::make(2);
    layout::assign_options no_zone;
    no_zone.capacity = 5;
    CHECK_FALSE(h2.stage_assign(ids, no_zone));
    CHECK(h2.staging.get().roles.empty());
}

TEST_CASE("apply requires exactly the next version number", "[layout][history]")
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}, {2, "dc3", 1'000'000'000}});
    auto const staged = h;

    auto const missing = h.apply_staged_changes(std::nullopt);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == layout::error::missing_version);
    auto const stale = h.apply_staged_changes(0);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == layout::error::stale_version);
    CHECK(stale.error().is(util::condition::precondition_failed));
    CHECK_FALSE(h.apply_staged_changes(2));
    CHECK(h == staged); // nothing changed

    REQUIRE(h.apply_staged_changes(1));
    CHECK(h.current().version == 1);
    CHECK(h.staging.get().roles.empty());
    CHECK_FALSE(h.has_staged_changes());
    // Applying the same number twice is refused.
    CHECK(h.apply_staged_changes(1).error().code == layout::error::stale_version);
}

TEST_CASE("apply refuses a layout with fewer nodes than the replication factor", "[layout][history]")
{
    auto h = layout::layout_history::make(3);
    test::stage_nodes(h, {{0, "dc1", 1'000'000'000}, {1, "dc2", 1'000'000'000}});
    auto const r = h.apply_staged_changes(1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == layout::error::too_few_nodes);
    CHECK(h.current().version == 0);
    CHECK(h.has_staged_changes()); // still staged

    test::stage_nodes(h, {{2, "dc2", 1'000'000'000}});
    layout::assign_options gw;
    auto const g = layout_node(3);
    gw.zone = "dc3";
    gw.gateway = true;
    REQUIRE(h.stage_assign(g, gw));
    REQUIRE(h.stage_zone_redundancy(layout::zone_redundancy::at_least(3)));
    auto const zones = h.apply_staged_changes(1);
    REQUIRE_FALSE(zones);
    CHECK(zones.error().code == layout::error::too_few_zones);
}

TEST_CASE("zone redundancy is checked against the replication factor", "[layout][history]")
{
    auto h = three_nodes();
    CHECK(h.stage_zone_redundancy(layout::zone_redundancy::at_least(4)).error().code ==
          layout::error::invalid_parameter);
    CHECK(h.stage_zone_redundancy(layout::zone_redundancy::at_least(0)).error().code ==
          layout::error::invalid_parameter);
    CHECK_FALSE(h.has_staged_changes());
    REQUIRE(h.stage_zone_redundancy(layout::zone_redundancy::at_least(2)));
    CHECK(h.has_staged_changes());
    REQUIRE(h.apply_staged_changes(2));
    CHECK(h.current().parameters.redundancy == layout::zone_redundancy::at_least(2));
}

TEST_CASE("revert drops the staged roles and parameters", "[layout][history]")
{
    auto h = three_nodes();
    REQUIRE(h.stage_remove(layout_node(0)));
    REQUIRE(h.stage_zone_redundancy(layout::zone_redundancy::at_least(1)));
    CHECK(h.has_staged_changes());
    h.revert_staged_changes();
    CHECK_FALSE(h.has_staged_changes());
    CHECK(h.staging.get().parameters.get() == h.current().parameters);
    CHECK(h.planned_roles() == h.current().roles);
}

TEST_CASE("versions stay live until every node acknowledges the sync", "[layout][history]")
{
    auto h = three_nodes();
    test::stage_nodes(h, {{3, "dc1", 1'000'000'000}});
    REQUIRE(h.apply_staged_changes(2));
    REQUIRE(h.versions.size() == 2);
    CHECK(h.min_stored() == 1);
    CHECK(h.all_nodes().size() == 4);

    // Three of the four current nodes acknowledge: version 1 stays live.
    for (std::size_t i = 0; i < 3; ++i) {
        h.trackers.sync_ack.set_max(layout_node(i), 2);
    }
    h.cleanup_old_versions();
    CHECK(h.versions.size() == 2);
    h.trackers.sync_ack.set_max(layout_node(3), 2);
    h.cleanup_old_versions();
    REQUIRE(h.versions.size() == 1);
    CHECK(h.current().version == 2);
    REQUIRE(h.old_versions.size() == 1);
    CHECK(h.old_versions[0].version == 1);
}

TEST_CASE("at most five old versions are kept", "[layout][history]")
{
    auto h = three_nodes();
    for (std::uint64_t v = 2; v <= 9; ++v) {
        REQUIRE(h.stage_zone_redundancy(v % 2 == 0 ? layout::zone_redundancy::at_least(2)
                                                   : layout::zone_redundancy::maximum()));
        REQUIRE(h.apply_staged_changes(v));
        h.keep_current_version_only();
    }
    CHECK(h.versions.size() == 1);
    CHECK(h.current().version == 9);
    REQUIRE(h.old_versions.size() == layout::old_version_count);
    CHECK(h.old_versions.front().version == 4);
}

TEST_CASE("merging histories appends new versions and is idempotent", "[layout][history]")
{
    auto a = three_nodes();
    auto b = a;
    test::stage_nodes(b, {{3, "dc1", 1'000'000'000}});
    REQUIRE(b.apply_staged_changes(2));
    b.trackers.ack.set_max(layout_node(1), 2);

    auto const out = a.merge(b);
    CHECK(out.changed);
    CHECK(out.inconsistent_versions.empty());
    REQUIRE(a.versions.size() == 2);
    CHECK(a.current() == b.current());
    CHECK(a.trackers.ack.get(layout_node(1), 0) == 2);
    CHECK_FALSE(a.merge(b).changed);

    // Staged changes travel with the history.
    auto c = b;
    REQUIRE(c.stage_remove(layout_node(3)));
    CHECK(b.merge(c).changed);
    CHECK(b.has_staged_changes());
    CHECK_FALSE(b.planned_roles().get(layout_node(3))->role.has_value());

    // Trackers merge commutatively.
    auto x = a;
    auto y = a;
    x.trackers.sync.set_max(layout_node(0), 2);
    y.trackers.sync.set_max(layout_node(2), 2);
    auto xy = x;
    xy.merge(y);
    auto yx = y;
    yx.merge(x);
    CHECK(xy.trackers == yx.trackers);
}

TEST_CASE("a history far behind is replaced whole; conflicting versions are reported", "[layout][history]")
{
    auto old = three_nodes();
    auto ahead = old;
    test::stage_nodes(ahead, {{3, "dc1", 1'000'000'000}});
    REQUIRE(ahead.apply_staged_changes(2));
    test::stage_nodes(ahead, {{4, "dc2", 1'000'000'000}});
    REQUIRE(ahead.apply_staged_changes(3));
    ahead.keep_current_version_only(); // live: version 3 only
    CHECK(old.merge(ahead).changed);
    CHECK(old == ahead);

    // Two clusters that each applied their own version 1.
    auto left = three_nodes();
    auto right = layout::layout_history::make(3);
    test::stage_nodes(right,
                      {{5, "dc1", 1'000'000'000}, {6, "dc2", 1'000'000'000}, {7, "dc3", 1'000'000'000}});
    REQUIRE(right.apply_staged_changes(1));
    auto const before = left.current();
    auto const out = left.merge(right);
    CHECK(out.inconsistent_versions == std::vector<std::uint64_t>{1});
    CHECK(left.current() == before); // ours kept
}

TEST_CASE("skip-dead-nodes raises the trackers of dead nodes only", "[layout][history]")
{
    auto h = three_nodes();
    auto const single = h.skip_dead_nodes(
        1, [](util::node_id const&) { return true; }, false);
    REQUIRE_FALSE(single);
    CHECK(single.error().code == layout::error::invalid_parameter);

    test::stage_nodes(h, {{3, "dc1", 1'000'000'000}});
    REQUIRE(h.apply_staged_changes(2));
    auto const dead = layout_node(2);
    auto const is_up = [&](util::node_id const& n) { return n != dead; };

    CHECK(h.skip_dead_nodes(1, is_up, false).error().code == layout::error::invalid_parameter);
    CHECK(h.skip_dead_nodes(3, is_up, false).error().code == layout::error::invalid_parameter);

    auto const lines = h.skip_dead_nodes(2, is_up, false);
    REQUIRE(lines);
    CHECK(lines->size() == 1);
    CHECK(h.trackers.ack.get(dead, 1) == 2);
    CHECK(h.trackers.ack.get(layout_node(0), 1) == 1);
    CHECK(h.trackers.sync.get(dead, 1) == 1);

    auto const again = h.skip_dead_nodes(2, is_up, false);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == layout::error::nothing_to_do);

    auto const forced = h.skip_dead_nodes(2, is_up, true);
    REQUIRE(forced);
    for (auto const& n : h.all_nodes()) {
        CHECK(h.trackers.ack.get(n, 1) == 2);
        CHECK(h.trackers.sync.get(n, 1) == 2);
    }
    CHECK(h.skip_dead_nodes(2, is_up, true).error().code == layout::error::nothing_to_do);
}

TEST_CASE("a history round-trips through cereal", "[layout][history]")
{
    auto h = three_nodes();
    test::stage_nodes(h, {{3, "dc1", 1'000'000'000}});
    REQUIRE(h.apply_staged_changes(2));
    h.trackers.ack.set_max(layout_node(0), 2);
    REQUIRE(h.stage_remove(layout_node(1)));
    auto const bytes = util::encode(h);
    auto const back = util::decode<layout::layout_history>(bytes);
    REQUIRE(back);
    CHECK(*back == h);

    layout::layout_history empty;
    auto const no_versions = util::decode<layout::layout_history>(util::encode(empty));
    CHECK_FALSE(no_versions);
}

TEST_CASE("Garage's own test scenario: four successive layouts stay valid and optimal", "[layout][history]")
{
    // The capacities, zones and redundancies of Garage's test_assignment (src/rpc/layout/test.rs).
    struct step {
        std::vector<std::uint64_t> capacities;
        std::vector<std::string> zones;
        std::size_t redundancy;
    };
    std::vector<std::string> const nine_zones{"A", "B", "C", "C", "C", "B", "G", "H", "I"};
    std::vector<step> const steps{
        {{4000, 1000, 2000}, {"A", "B", "C"}, 3},
        {{4000, 1000, 1000, 3000, 1000, 1000, 2000, 10000, 2000}, nine_zones, 2},
        {{4000, 1000, 2000, 7000, 1000, 1000, 2000, 10000, 2000}, nine_zones, 3},
        {{4000000, 4000000, 2000000, 7000000, 1000000, 9000000, 2000000, 10000, 2000000}, nine_zones, 1},
    };
    auto h = layout::layout_history::make(3);
    std::vector<std::uint64_t> sizes;
    for (auto const& st : steps) {
        for (std::size_t i = 0; i < st.capacities.size(); ++i) {
            layout::assign_options opts;
            opts.zone = st.zones[i];
            opts.capacity = st.capacities[i];
            REQUIRE(h.stage_assign(layout_node(i), opts));
        }
        REQUIRE(h.stage_zone_redundancy(layout::zone_redundancy::at_least(st.redundancy)));
        auto const v = h.current().version;
        auto const msg = h.apply_staged_changes(v + 1);
        REQUIRE(msg);
        CHECK(h.current().check());
        CHECK(h.current().check_optimal());
        CHECK(h.current().effective_zone_redundancy() == st.redundancy);
        sizes.push_back(h.current().partition_size);
    }
    // The first step by hand: every node holds every partition, the 1000-byte one bounds s.
    CHECK(sizes[0] == 1000 / 256);
    CHECK(h.current().version == 4);
}

TEST_CASE("a history is persisted in a file and read back", "[layout][history]")
{
    test::temp_dir dir;
    util::persister<layout::layout_history> file(dir.path() / "cluster_layout");
    auto const absent = file.load();
    REQUIRE(absent);
    CHECK_FALSE(absent->has_value());
    auto const h = three_nodes();
    REQUIRE(file.save(h));
    auto const back = file.load();
    REQUIRE(back);
    REQUIRE(back->has_value());
    CHECK(**back == h);
}

TEST_CASE("random sequences of changes always give valid, optimal layouts", "[layout][history][property]")
{
    std::mt19937_64 rng(GENERATE(11u, 12u, 13u));
    auto h = layout::layout_history::make(std::uniform_int_distribution<std::size_t>(1, 3)(rng));
    std::set<std::size_t> members;
    std::uint64_t applied = 0;
    for (int step = 0; step < 15; ++step) {
        auto const what = std::uniform_int_distribution<int>(0, 3)(rng);
        auto const n = std::uniform_int_distribution<std::size_t>(0, 9)(rng);
        auto const id = layout_node(n);
        if (what <= 1) {
            layout::assign_options opts;
            opts.zone = "dc" + std::to_string(std::uniform_int_distribution<int>(1, 4)(rng));
            opts.capacity = std::uniform_int_distribution<std::uint64_t>(1'000'000, 100'000'000)(rng);
            REQUIRE(h.stage_assign(id, opts));
            members.insert(n);
        } else if (what == 2 && members.count(n) != 0) {
            REQUIRE(h.stage_remove(id));
            members.erase(n);
        } else {
            auto const r = std::uniform_int_distribution<std::size_t>(0, h.current().replication_factor)(rng);
            REQUIRE(h.stage_zone_redundancy(r == 0 ? layout::zone_redundancy::maximum()
                                                   : layout::zone_redundancy::at_least(r)));
        }
        auto const before = h;
        auto const result = h.apply_staged_changes(applied + 1);
        if (!result) {
            // Refused (too few nodes or zones): nothing changed.
            INFO(result.error().message);
            CHECK((result.error().code == layout::error::too_few_nodes ||
                   result.error().code == layout::error::too_few_zones));
            CHECK(h == before);
            continue;
        }
        ++applied;
        CHECK(h.current().version == applied);
        CHECK(h.current().check());
        CHECK(h.current().check_optimal());
        std::set<util::node_id> expected;
        for (auto m : members) {
            expected.insert(layout_node(m));
        }
        auto const storage = h.current().storage_nodes();
        CHECK(std::set<util::node_id>(storage.begin(), storage.end()) == expected);
    }
}

} // namespace
