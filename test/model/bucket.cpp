// Test that header file is self-contained.
#include <garage/model/bucket.hpp>

#include <garage/replication/local.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/table/table.hpp>
#include <garage/util/codec.hpp>

#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::bucket;
using model::bucket_params;
using test::merged;

static_assert(crdt::crdt<bucket_params>);
static_assert(crdt::crdt<bucket>);
static_assert(crdt::crdt<model::bucket_quotas>, "quotas opt in to max-merge");
static_assert(table::table_schema<model::bucket_schema>);
static_assert(!crdt::crdt<model::website_config>, "a configuration merges only inside an lww");

TEST_CASE("bucket parameters keep the earliest creation date and merge every member", "[model][bucket]")
{
    bucket_params a;
    a.creation_date = 200;
    a.authorized_keys.put("GKa", model::bucket_key_perm{5, true, false, false});
    a.aliases.merge_raw("photos", 5, true);
    bucket_params b;
    b.creation_date = 100;
    b.authorized_keys.put("GKb", model::bucket_key_perm{6, true, true, true});
    b.aliases.merge_raw("photos", 7, false); // alias removed later
    b.local_aliases.merge_raw(model::local_alias_key{"GKb", "mine"}, 6, true);
    b.website_config = crdt::lww<std::optional<model::website_config>>::raw(9, model::website_config{});
    b.quotas = crdt::lww<model::bucket_quotas>::raw(9, model::bucket_quotas{1000, 10});

    auto const m = merged(a, b);
    CHECK(m == merged(b, a));
    CHECK(m.creation_date == 100);
    CHECK(m.authorized_keys.size() == 2);
    REQUIRE(m.aliases.get("photos") != nullptr);
    CHECK_FALSE(*m.aliases.get("photos"));
    CHECK(m.local_aliases.get(model::local_alias_key{"GKb", "mine"}) != nullptr);
    REQUIRE(m.website_config.get().has_value());
    CHECK(m.website_config.get()->index_document == "index.html");
    CHECK(m.quotas.get().max_objects == std::optional<std::uint64_t>(10));
}

TEST_CASE("two configurations written in the same millisecond merge to none", "[model][bucket]")
{
    model::website_config w1;
    w1.index_document = "a.html";
    model::website_config w2;
    w2.index_document = "b.html";
    auto const a = crdt::lww<std::optional<model::website_config>>::raw(5, w1);
    auto const b = crdt::lww<std::optional<model::website_config>>::raw(5, w2);
    CHECK_FALSE(merged(a, b).get().has_value());
    CHECK(merged(a, a).get() == std::optional<model::website_config>(w1));
}

TEST_CASE("a deleted bucket stays deleted and keeps its id", "[model][bucket]")
{
    auto const b = bucket::create();
    REQUIRE_FALSE(b.is_deleted());
    CHECK(b.params()->creation_date > 0);
    CHECK_FALSE(b.id.is_zero());
    auto const d = merged(b, bucket::deleted(b.id));
    CHECK(d.is_deleted());
    CHECK(d.params() == nullptr);
    CHECK(d.authorized_keys().empty());
    CHECK(d.sort_key() == b.id);
    // The table keeps it: a deleted bucket is not a tombstone.
    CHECK_FALSE(table::is_tombstone(d));
    CHECK(bucket::create().id != b.id);
}

TEST_CASE("bucket schema filters by deletion state", "[model][bucket]")
{
    auto const live = bucket::create();
    auto const dead = bucket::deleted(live.id);
    CHECK(model::bucket_schema::matches_filter(live, model::deleted_filter::not_deleted));
    CHECK_FALSE(model::bucket_schema::matches_filter(dead, model::deleted_filter::not_deleted));
    CHECK(model::bucket_schema::matches_filter(dead, model::deleted_filter::deleted));
}

TEST_CASE("bucket parameters and buckets are CRDTs and survive cereal", "[model][bucket]")
{
    test::crdt_rng rng(202);
    test::check_merge_laws<bucket_params>(rng);
    test::check_round_trips<bucket_params>(rng);
    test::check_merge_laws<bucket>(rng);
    test::check_round_trips<bucket>(rng);
}

TEST_CASE("a full configuration survives the table codec", "[model][bucket]")
{
    auto b = bucket::create();
    auto& p = *b.params_mut();
    model::website_config w;
    w.error_document = "404.html";
    w.redirect_all_requests_to = model::website_redirect_all{"example.com", "https"};
    w.routing_rules.push_back(
        {{"docs/", 404}, {std::nullopt, std::nullopt, "documents/", std::nullopt, 302}});
    p.website_config.update(w);
    model::cors_rule c;
    c.id = "r1";
    c.max_age_seconds = 3600;
    c.allow_origins = {"*"};
    c.allow_methods = {"GET", "PUT"};
    p.cors_config.update(std::vector<model::cors_rule>{c});
    model::lifecycle_rule l;
    l.filter.prefix = "tmp/";
    l.filter.size_gt = 10;
    l.abort_incomplete_mpu_days = 2;
    l.expiration = model::expire_at_date{"2030-01-01"};
    p.lifecycle_config.update(std::vector<model::lifecycle_rule>{l});
    p.quotas.update(model::bucket_quotas{std::nullopt, 5});
    auto const back = util::decode<bucket>(util::encode(b));
    REQUIRE(back);
    CHECK(*back == b);

    storage::memory_backend db;
    auto t = table::table<model::bucket_schema, replication::local, storage::memory_backend>::open(
                 model::bucket_schema{}, replication::local{}, db)
                 .value();
    REQUIRE(t->insert(b));
    auto got = t->get(model::no_key, b.id).value();
    REQUIRE(got);
    CHECK(*got == b);
}
} // namespace
