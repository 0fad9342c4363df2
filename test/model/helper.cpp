// Test that header file is self-contained.
#include <garage/model/helper.hpp>

#include <garage/model/garage.hpp>
#include <garage/replication/local.hpp>

#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model_type = model::basic_model<replication::local, replication::local, storage::memory_backend,
                                      test::tree_rc_sink<storage::memory_backend>>;

struct fixture {
    storage::memory_backend db;
    test::tree_rc_sink<storage::memory_backend> rc{db};
    std::unique_ptr<model_type> m =
        model_type::open(db, replication::local{}, replication::local{}, rc).value();
};

TEST_CASE("buckets are created with a global alias, found, aliased and deleted", "[model][helper]")
{
    fixture f;
    auto& m = *f.m;
    auto id = model::create_bucket(m, std::string("photos"));
    REQUIRE(id.has_value());
    CHECK(model::resolve_global_alias(m, "photos").value() == *id);
    auto dup = model::create_bucket(m, std::string("photos"));
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().code == model::error::bucket_already_exists);
    CHECK(model::create_bucket(m, std::string("Bad_Name")).error().code == model::error::invalid_bucket_name);

    REQUIRE(model::set_global_alias(m, *id, "pictures").has_value());
    CHECK(model::resolve_global_alias(m, "pictures").value() == *id);
    auto b = model::get_bucket(m, *id).value();
    REQUIRE(b);
    CHECK(*b->params()->aliases.get("photos"));
    CHECK(*b->params()->aliases.get("pictures"));
    REQUIRE(model::unset_global_alias(m, *id, "pictures").has_value());
    CHECK_FALSE(model::resolve_global_alias(m, "pictures").value().has_value());
    CHECK(model::list_buckets(m).value().size() == 1);

    REQUIRE(model::delete_bucket(m, *id).has_value());
    CHECK_FALSE(model::get_bucket(m, *id).value().has_value());
    CHECK_FALSE(model::resolve_global_alias(m, "photos").value().has_value());
    CHECK(model::list_buckets(m).value().empty());
    // The name is free again.
    CHECK(model::create_bucket(m, std::string("photos")).has_value());
}

TEST_CASE("key permissions and local aliases are kept on both sides", "[model][helper]")
{
    fixture f;
    auto& m = *f.m;
    auto key = model::access_key::create("alice");
    REQUIRE(m.key_table().insert(key).has_value());
    auto id = model::create_bucket(m, std::nullopt).value();
    REQUIRE(model::set_bucket_key_permissions(m, id, key.key_id, {0, true, true, false}).has_value());
    auto k = model::get_key(m, key.key_id).value();
    REQUIRE(k);
    CHECK(k->allow_read(id));
    CHECK(k->allow_write(id));
    CHECK_FALSE(k->allow_owner(id));
    auto b = model::get_bucket(m, id).value();
    REQUIRE(b->authorized_keys().size() == 1);

    REQUIRE(model::set_local_alias(m, id, key.key_id, "mine").has_value());
    k = model::get_key(m, key.key_id).value();
    CHECK(model::resolve_bucket(m, "mine", &*k).value() == id);
    CHECK_FALSE(model::resolve_bucket(m, "mine", nullptr).value().has_value()); // not a global alias

    // Revoking is immediate even within the same millisecond as the grant.
    REQUIRE(model::set_bucket_key_permissions(m, id, key.key_id, model::bucket_key_perm::none()).has_value());
    CHECK_FALSE(model::get_key(m, key.key_id).value()->allow_read(id));

    REQUIRE(model::delete_key(m, key.key_id).has_value());
    CHECK_FALSE(model::get_key(m, key.key_id).value().has_value());
    CHECK(model::list_keys(m).value().empty());
    CHECK(model::delete_key(m, key.key_id).error().code == model::error::no_such_key);
}
} // namespace

namespace {
TEST_CASE("a bucket with objects behind many tombstones is not empty", "[model][helper]")
{
    fixture f;
    auto& m = *f.m;
    auto id = model::create_bucket(m, std::string("full")).value();
    auto version = [](std::uint64_t ts, model::object_version_data d) {
        return model::object_version{util::gen_uuid(), ts, model::version_complete{std::move(d)}};
    };
    // Twenty deleted objects sort before one live object.
    for (int i = 0; i < 20; ++i) {
        model::object o(id, "a" + std::to_string(100 + i), {version(1 + i, model::delete_marker{})});
        REQUIRE(m.object_table().insert(o).has_value());
    }
    CHECK(model::bucket_is_empty(m, id).value());
    model::inline_data data;
    data.meta.size = 1;
    data.bytes = "x";
    REQUIRE(m.object_table().insert(model::object(id, "z-live", {version(50, data)})).has_value());
    CHECK_FALSE(model::bucket_is_empty(m, id).value());
    auto r = model::delete_bucket(m, id);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == model::error::bucket_not_empty);
}
} // namespace
