// Test that header file is self-contained.
#include <garage/model/object.hpp>

#include <garage/util/codec.hpp>
#include <garage/util/time.hpp>

#include <test/model/fakes.hpp>
#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::object;
using model::object_version;
using test::merged;
using test::pool_hash;
using test::pool_uuid;

static_assert(crdt::crdt<object>);
static_assert(!crdt::crdt<model::object_version_state>, "a state merges only inside its object");

util::uuid const bucket_id = pool_uuid(9);

model::object_version_meta meta(std::uint64_t size)
{
    return model::object_version_meta{size, "etag",
                                      model::encryption_plaintext{{{{"content-type", "a/b"}}, {}}}};
}

object_version uploading(std::uint64_t i, std::uint64_t ts, bool multipart = false)
{
    return {pool_uuid(i), ts,
            model::version_uploading{multipart, std::nullopt, model::encryption_plaintext{}}};
}
object_version complete(std::uint64_t i, std::uint64_t ts, std::uint64_t size = 10)
{
    return {pool_uuid(i), ts, model::version_complete{model::first_block{meta(size), pool_hash(i)}}};
}
object_version inline_version(std::uint64_t i, std::uint64_t ts, std::string data)
{
    auto const n = data.size();
    return {pool_uuid(i), ts, model::version_complete{model::inline_data{meta(n), std::move(data)}}};
}
object_version marker(std::uint64_t i, std::uint64_t ts)
{
    return {pool_uuid(i), ts, model::version_complete{model::delete_marker{}}};
}
object_version aborted(std::uint64_t i, std::uint64_t ts)
{
    return {pool_uuid(i), ts, model::version_aborted{}};
}
object obj(std::vector<object_version> vs)
{
    return object(bucket_id, "photos/cat.jpg", std::move(vs));
}

// --- the merge rules ---------------------------------------------------------------------------

TEST_CASE("complete beats uploading", "[model][object]")
{
    auto const a = obj({uploading(1, 10)});
    auto const b = obj({complete(1, 10)});
    CHECK(merged(a, b) == b);
    CHECK(merged(b, a) == b);
    REQUIRE(merged(a, b).versions().size() == 1);
    CHECK(merged(a, b).versions()[0].is_data());
}

TEST_CASE("aborted absorbs uploading (and complete)", "[model][object]")
{
    auto const up = obj({uploading(1, 10, true)});
    auto const ab = obj({aborted(1, 10)});
    CHECK(merged(up, ab) == ab);
    CHECK(merged(ab, up) == ab);
    CHECK(merged(obj({complete(1, 10)}), ab) == ab);
    CHECK(merged(ab, obj({complete(1, 10)})) == ab);
}

TEST_CASE("versions older than the last complete one are dropped", "[model][object]")
{
    auto const old = obj({complete(1, 10), uploading(2, 20)});
    REQUIRE(old.versions().size() == 2);
    auto const newer = obj({complete(3, 30), uploading(4, 40)});
    auto const m = merged(old, newer);
    REQUIRE(m.versions().size() == 2);
    CHECK(m.versions()[0].uuid == pool_uuid(3));
    CHECK(m.versions()[1].uuid == pool_uuid(4));
    CHECK(m == merged(newer, old));
    // A version that completes after a later one did is obsolete at once: the order of the
    // timestamps decides, not the order of completion.
    auto const late = merged(m, obj({complete(2, 20)}));
    CHECK(late == m);
    // Uploads that start after the last complete version are kept, aborted ones too.
    auto const kept = merged(m, obj({aborted(5, 50)}));
    CHECK(kept.versions().size() == 3);
    CHECK(kept.last_complete()->uuid == pool_uuid(3));
}

TEST_CASE("equal timestamps are ordered by uuid", "[model][object]")
{
    auto const m = merged(obj({complete(2, 10)}), obj({complete(1, 10)}));
    REQUIRE(m.versions().size() == 1);
    CHECK(m.versions()[0].uuid == pool_uuid(2));
}

TEST_CASE("a single delete marker is a tombstone", "[model][object]")
{
    auto const live = obj({complete(1, 10)});
    CHECK_FALSE(live.is_tombstone());
    auto const deleted = merged(live, obj({marker(2, 20)}));
    CHECK(deleted.is_tombstone());
    CHECK(table::is_tombstone(deleted));
    REQUIRE(deleted.last_complete());
    CHECK(deleted.last_complete()->is_delete_marker());
    CHECK_FALSE(deleted.last_complete()->is_data());
    // An upload after the deletion makes it a live entry again.
    CHECK_FALSE(merged(deleted, obj({uploading(3, 30)})).is_tombstone());
    // A delete marker that is not alone is not a tombstone.
    CHECK_FALSE(obj({marker(2, 20), uploading(3, 30)}).is_tombstone());
    CHECK_FALSE(object().is_tombstone());
}

TEST_CASE("two complete states of one version keep the larger data", "[model][object]")
{
    auto const a = obj({inline_version(1, 10, "aaa")});
    auto const b = obj({inline_version(1, 10, "bbb")});
    CHECK(merged(a, b) == b);
    CHECK(merged(b, a) == b);
}

TEST_CASE("object merge is a CRDT on Garage's histories and survives cereal", "[model][object]")
{
    test::crdt_rng rng(707);
    test::check_merge_laws<object>(rng, 2000);
    test::check_round_trips<object>(rng);
}

TEST_CASE("aborting a complete version is outside the CRDT domain (documented)", "[model][object]")
{
    // Garage only aborts versions that are still uploading. If a complete version were aborted,
    // a replica that had dropped the versions it made obsolete could not bring them back, so
    // the grouping of merges would matter. This pins the limitation the class comment states.
    auto const a = obj({complete(2, 20)});
    auto const b = obj({aborted(2, 20)});
    auto const c = obj({complete(1, 10)});
    auto const left = merged(merged(a, c), b);
    auto const right = merged(a, merged(c, b));
    CHECK(left != right);
    CHECK(left.versions().size() == 1);
    CHECK(right.versions().size() == 2);
}

// --- helpers ---------------------------------------------------------------------------------------

TEST_CASE("version predicates and accessors", "[model][object]")
{
    auto const up = uploading(1, 10, true);
    CHECK(up.is_uploading());
    CHECK(up.is_uploading(true));
    CHECK_FALSE(up.is_uploading(false));
    CHECK_FALSE(up.is_complete());
    CHECK(up.data() == nullptr);
    auto const c = complete(2, 20, 77);
    CHECK(c.is_complete());
    CHECK(c.is_data());
    REQUIRE(c.meta() != nullptr);
    CHECK(c.meta()->size == 77);
    REQUIRE(c.meta()->headers() != nullptr);
    CHECK(c.meta()->headers()->at(0).first == "content-type");
    CHECK(c.meta()->checksum() == nullptr);
    auto const m = marker(3, 30);
    CHECK(m.is_delete_marker());
    CHECK(m.meta() == nullptr);
    auto const a = aborted(4, 40);
    CHECK(a.is_aborted());
    CHECK_FALSE(a.is_uploading());
    model::object_version_meta enc{5, "e", model::encryption_sse_c{"ciphertext", true}};
    CHECK(enc.headers() == nullptr);
}

TEST_CASE("new version timestamps sort after every existing version", "[model][object]")
{
    auto const future = util::now_msec() + 60'000;
    CHECK(obj({uploading(1, future)}).next_timestamp() == future + 1);
    CHECK(obj({complete(1, 10)}).next_timestamp() >= util::now_msec() - 1000);
    auto const o = obj({complete(1, 10), uploading(2, 20)});
    CHECK(o.find_version(20, pool_uuid(2)) != nullptr);
    CHECK(o.find_version(20, pool_uuid(1)) == nullptr);
    CHECK(o.find_version(10, pool_uuid(1)) != nullptr);
}

TEST_CASE("the object filter selects listing or uploads", "[model][object]")
{
    using schema =
        model::object_schema<test::recording_queue<model::version>,
                             test::recording_queue<model::multipart_upload>, test::recording_counter<object>>;
    auto const data = obj({complete(1, 10)});
    auto const deleted = obj({marker(1, 10)});
    auto const mpu = obj({marker(1, 10), uploading(2, 20, true)});
    auto const simple = obj({uploading(2, 20, false)});
    auto const is_data = model::object_filter::is_data();
    CHECK(schema::matches_filter(data, is_data));
    CHECK_FALSE(schema::matches_filter(deleted, is_data));
    CHECK_FALSE(schema::matches_filter(mpu, is_data));
    CHECK(schema::matches_filter(mpu, model::object_filter::is_uploading()));
    CHECK(schema::matches_filter(mpu, model::object_filter::is_uploading(true)));
    CHECK_FALSE(schema::matches_filter(mpu, model::object_filter::is_uploading(false)));
    CHECK(schema::matches_filter(simple, model::object_filter::is_uploading(false)));
    CHECK_FALSE(schema::matches_filter(data, model::object_filter::is_uploading()));
}

TEST_CASE("objects count data, uploads and bytes", "[model][object]")
{
    using model::bucket_object_counter;
    auto const counts = [](object const& o) {
        auto const c = bucket_object_counter::counts(o);
        REQUIRE(c[0].first == "objects");
        REQUIRE(c[1].first == "unfinished_uploads");
        REQUIRE(c[2].first == "bytes");
        return std::array<std::int64_t, 3>{c[0].second, c[1].second, c[2].second};
    };
    CHECK(counts(obj({complete(1, 10, 500)})) == std::array<std::int64_t, 3>{1, 0, 500});
    CHECK(counts(obj({complete(1, 10, 500), uploading(2, 20), uploading(3, 30, true)})) ==
          std::array<std::int64_t, 3>{1, 2, 500});
    CHECK(counts(obj({marker(1, 10)})) == std::array<std::int64_t, 3>{0, 0, 0});
    CHECK(counts(obj({inline_version(1, 10, "hello")})) == std::array<std::int64_t, 3>{1, 0, 5});
    CHECK(counts(obj({aborted(1, 10)})) == std::array<std::int64_t, 3>{0, 0, 0});
}

/// The layout of a stored object, without the checks of `object::load`.
struct raw_object {
    util::uuid bucket;
    std::string key;
    std::vector<object_version> versions;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(bucket, key, versions);
    }
};

TEST_CASE("stored objects decode, and unsorted versions are rejected", "[model][object]")
{
    auto const o = obj({complete(1, 10), uploading(2, 20, true)});
    auto const back = util::decode<object>(util::encode(o));
    REQUIRE(back);
    CHECK(*back == o);

    // Hand-encode an object whose versions are out of order.
    raw_object bad{bucket_id, "k", {uploading(2, 20), uploading(1, 10)}};
    auto const r = util::decode<object>(util::encode(bad));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not sorted") != std::string::npos);
}

// --- the hook ----------------------------------------------------------------------------------------

struct hook_fixture {
    test::recording_queue<model::version> versions;
    test::recording_queue<model::multipart_upload> mpus;
    test::recording_counter<object> counter;
    model::object_schema<test::recording_queue<model::version>,
                         test::recording_queue<model::multipart_upload>, test::recording_counter<object>>
        schema{versions, mpus, counter};
    test::fake_tx tx;
};

TEST_CASE("an overwritten version is queued for deletion", "[model][object]")
{
    hook_fixture f;
    auto const before = obj({complete(1, 10), uploading(2, 20)});
    auto const after = merged(before, obj({complete(2, 20)}));
    REQUIRE(f.schema.updated(f.tx, &before, &after));
    REQUIRE(f.versions.queued.size() == 1);
    auto const& v = f.versions.queued[0];
    CHECK(v.uuid == pool_uuid(1));
    CHECK(v.is_tombstone());
    CHECK(v.backlink == model::version_backlink(model::object_backlink{bucket_id, "photos/cat.jpg"}));
    CHECK(f.mpus.queued.empty());
    REQUIRE(f.counter.calls.size() == 1);
    CHECK(f.counter.calls[0].first == before);
    CHECK(f.counter.calls[0].second == after);
}

TEST_CASE("an aborted multipart upload queues its version and its upload for deletion", "[model][object]")
{
    hook_fixture f;
    auto const before = obj({complete(1, 10), uploading(2, 20, true)});
    auto const after = merged(before, obj({aborted(2, 20)}));
    REQUIRE(f.schema.updated(f.tx, &before, &after));
    REQUIRE(f.versions.queued.size() == 1);
    CHECK(f.versions.queued[0].uuid == pool_uuid(2));
    REQUIRE(f.mpus.queued.size() == 1);
    auto const& u = f.mpus.queued[0];
    CHECK(u.upload_id == pool_uuid(2));
    CHECK(u.timestamp == 20);
    CHECK(u.bucket_id == bucket_id);
    CHECK(u.key == "photos/cat.jpg");
    CHECK(u.is_tombstone());
    // Aborting again changes nothing.
    REQUIRE(f.schema.updated(f.tx, &after, &after));
    CHECK(f.versions.queued.size() == 1);
    CHECK(f.mpus.queued.size() == 1);
}

TEST_CASE("a completed multipart upload deletes its upload entry but keeps its version", "[model][object]")
{
    hook_fixture f;
    auto const before = obj({uploading(2, 20, true)});
    auto const after = merged(before, obj({complete(2, 20)}));
    REQUIRE(f.schema.updated(f.tx, &before, &after));
    CHECK(f.versions.queued.empty());
    REQUIRE(f.mpus.queued.size() == 1);
    CHECK(f.mpus.queued[0].upload_id == pool_uuid(2));
}

TEST_CASE("a simple upload that completes deletes nothing", "[model][object]")
{
    hook_fixture f;
    auto const before = obj({complete(1, 10), uploading(2, 20)});
    auto const same = before;
    REQUIRE(f.schema.updated(f.tx, nullptr, &before)); // a new object: only counted
    REQUIRE(f.schema.updated(f.tx, &before, &same));
    auto const grown = merged(before, obj({uploading(3, 30)}));
    REQUIRE(f.schema.updated(f.tx, &before, &grown));
    REQUIRE(f.schema.updated(f.tx, &before, nullptr)); // collected by the GC: only counted
    CHECK(f.versions.queued.empty());
    CHECK(f.mpus.queued.empty());
    CHECK(f.counter.calls.size() == 4);
}

TEST_CASE("a queue error aborts the object write", "[model][object]")
{
    hook_fixture f;
    f.versions.fail = true;
    auto const before = obj({complete(1, 10)});
    auto const after = merged(before, obj({marker(2, 20)}));
    CHECK_FALSE(f.schema.updated(f.tx, &before, &after));
}
} // namespace
