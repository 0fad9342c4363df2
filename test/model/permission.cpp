// Test that header file is self-contained.
#include <garage/model/permission.hpp>

#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::bucket_key_perm;
using test::merged;

static_assert(crdt::crdt<bucket_key_perm>);

TEST_CASE("bucket_key_perm: the later timestamp wins", "[model][permission]")
{
    bucket_key_perm const grant{10, true, true, true};
    bucket_key_perm const revoke{11, false, false, false};
    CHECK(merged(grant, revoke) == revoke);
    CHECK(merged(revoke, grant) == revoke);
    // A later grant after a revocation restores the permissions.
    bucket_key_perm const regrant{12, true, false, false};
    CHECK(merged(merged(grant, revoke), regrant) == regrant);
}

TEST_CASE("bucket_key_perm: equal timestamps merge to the intersection", "[model][permission]")
{
    bucket_key_perm const rw{10, true, true, false};
    bucket_key_perm const ro_owner{10, true, false, true};
    auto const m = merged(rw, ro_owner);
    CHECK(m == bucket_key_perm{10, true, false, false});
    CHECK(merged(ro_owner, rw) == m);
    // Equal sets stay as they are.
    CHECK(merged(rw, rw) == rw);
}

TEST_CASE("bucket_key_perm: none and all", "[model][permission]")
{
    CHECK_FALSE(bucket_key_perm::none().is_any());
    CHECK(bucket_key_perm::all().is_any());
    CHECK(bucket_key_perm{0, false, false, true}.is_any());
    CHECK(bucket_key_perm::all().allow_owner);
}

TEST_CASE("bucket_key_perm merge is a CRDT and survives cereal", "[model][permission]")
{
    test::crdt_rng rng(101);
    test::check_merge_laws<bucket_key_perm>(rng);
    test::check_round_trips<bucket_key_perm>(rng);
}
} // namespace
