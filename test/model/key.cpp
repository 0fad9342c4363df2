// Test that header file is self-contained.
#include <garage/model/key.hpp>

#include <garage/model/error.hpp>

#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <set>

namespace {
using namespace garage;
using model::access_key;
using test::merged;

static_assert(crdt::crdt<model::access_key_params>);
static_assert(crdt::crdt<access_key>);
static_assert(table::table_schema<model::access_key_schema>);

TEST_CASE("generated key ids and secrets have Garage's formats", "[model][key]")
{
    std::regex const id_format("GK[0-9a-f]{24}");
    std::regex const secret_format("[0-9a-f]{64}");
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        auto const id = model::generate_key_id();
        auto const secret = model::generate_secret_key();
        CHECK(std::regex_match(id, id_format));
        CHECK(std::regex_match(secret, secret_format));
        CHECK(model::is_valid_key_id(id));
        CHECK(model::is_valid_secret_key(secret));
        ids.insert(id);
    }
    CHECK(ids.size() == 20);
}

TEST_CASE("key ids and secrets are validated", "[model][key]")
{
    CHECK(model::is_valid_key_id("GK0123456789abcdefABCDEF01"));
    CHECK_FALSE(model::is_valid_key_id("GK0123456789abcdef0123456"));   // 25
    CHECK_FALSE(model::is_valid_key_id("GK0123456789abcdef012345678")); // 27
    CHECK_FALSE(model::is_valid_key_id("GX0123456789abcdef01234567"));
    CHECK_FALSE(model::is_valid_key_id("GK0123456789abcdef0123456g"));
    CHECK(model::is_valid_secret_key(std::string(64, 'a')));
    CHECK_FALSE(model::is_valid_secret_key(std::string(63, 'a')));
    CHECK_FALSE(model::is_valid_secret_key(std::string(63, 'a') + "z"));
}

TEST_CASE("keys are created, imported and deleted", "[model][key]")
{
    auto const k = access_key::create("alice");
    REQUIRE(k.params() != nullptr);
    CHECK(k.params()->name.get() == "alice");
    CHECK_FALSE(k.params()->allow_create_bucket.get());
    CHECK(model::is_valid_key_id(k.key_id));
    CHECK(model::is_valid_secret_key(k.params()->secret_key));

    auto const imported = access_key::import("GK0123456789abcdef01234567", std::string(64, 'f'), "bob");
    REQUIRE(imported);
    CHECK(imported->key_id == "GK0123456789abcdef01234567");
    CHECK(imported->params()->secret_key == std::string(64, 'f'));

    auto const bad_id = access_key::import("AK0123456789abcdef01234567", std::string(64, 'f'), "bob");
    REQUIRE_FALSE(bad_id);
    CHECK(bad_id.error().code == model::error::invalid_key_id);
    auto const bad_secret = access_key::import("GK0123456789abcdef01234567", "00", "bob");
    REQUIRE_FALSE(bad_secret);
    CHECK(bad_secret.error().code == model::error::invalid_secret_key);
    CHECK(bad_secret.error().is(util::condition::bad_request));

    auto const d = merged(k, access_key::deleted(k.key_id));
    CHECK(d.is_deleted());
    CHECK_FALSE(table::is_tombstone(d));
}

TEST_CASE("a key's permissions come from its authorized buckets", "[model][key]")
{
    auto k = access_key::create("alice");
    util::uuid b1;
    b1[0] = 1;
    util::uuid b2;
    b2[0] = 2;
    k.params_mut()->authorized_buckets.put(b1, model::bucket_key_perm{5, true, false, false});
    CHECK(k.allow_read(b1));
    CHECK_FALSE(k.allow_write(b1));
    CHECK_FALSE(k.allow_owner(b1));
    CHECK(k.bucket_permissions(b2) == model::bucket_key_perm::none());
    auto const revoked =
        crdt::map<util::uuid, model::bucket_key_perm>::put_mutator(b1, {6, false, false, false});
    k.params_mut()->authorized_buckets.merge(revoked);
    CHECK_FALSE(k.allow_read(b1));
    CHECK_FALSE(access_key::deleted(k.key_id).allow_read(b1));
}

TEST_CASE("the key filter matches an id prefix or the whole name, ignoring case", "[model][key]")
{
    auto const k = access_key::import("GKaabbcc001122334455667788", std::string(64, '1'), "Alice").value();
    auto const f = [&](std::string p) {
        return model::access_key_schema::matches_filter(k, model::key_match{p});
    };
    CHECK(f("GKAABB"));
    CHECK(f("alice"));
    CHECK(f("ALICE"));
    CHECK_FALSE(f("ali"));
    CHECK_FALSE(f("GKaabbd"));
    auto const d = access_key::deleted(k.key_id);
    CHECK_FALSE(model::access_key_schema::matches_filter(d, model::key_match{"GK"}));
    CHECK(model::access_key_schema::matches_filter(d, model::deleted_filter::deleted));
    CHECK_FALSE(model::access_key_schema::matches_filter(k, model::deleted_filter::deleted));
}

TEST_CASE("key parameters and keys are CRDTs and survive cereal", "[model][key]")
{
    test::crdt_rng rng(303);
    test::check_merge_laws<model::access_key_params>(rng);
    test::check_round_trips<model::access_key_params>(rng);
    test::check_merge_laws<access_key>(rng);
    test::check_round_trips<access_key>(rng);
}
} // namespace
