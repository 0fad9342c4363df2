// Test that header file is self-contained.
#include <garage/model/mpu.hpp>

#include <garage/util/time.hpp>

#include <test/model/fakes.hpp>
#include <test/model/model_random.hpp>
#include <test/support/crdt_laws.hpp>

#include <catch2/catch.hpp>

namespace {
using namespace garage;
using model::mpu_part;
using model::multipart_upload;
using test::merged;
using test::pool_uuid;

static_assert(crdt::crdt<mpu_part>);
static_assert(crdt::crdt<multipart_upload>);

multipart_upload upload_with(std::initializer_list<std::pair<model::mpu_part_key, mpu_part>> parts)
{
    auto u = multipart_upload::create(pool_uuid(0), 100, pool_uuid(1), "big.iso");
    for (auto const& [k, p] : parts) {
        u.parts.put(k, p);
    }
    return u;
}

TEST_CASE("a part's known etag, checksum and size win over unknown ones", "[model][mpu]")
{
    mpu_part const started{pool_uuid(5), std::nullopt, std::nullopt, std::nullopt};
    mpu_part const done{pool_uuid(5), "abc", model::checksum_value{model::checksum_algorithm::crc32, "1234"},
                        42};
    CHECK(merged(started, done) == done);
    CHECK(merged(done, started) == done);
    mpu_part const other{pool_uuid(5), "abd", std::nullopt, 41};
    auto const m = merged(done, other);
    CHECK(m.etag == std::optional<std::string>("abd"));
    CHECK(m.size == std::optional<std::uint64_t>(42));
    CHECK(m.checksum == done.checksum);
}

TEST_CASE("a deleted upload drops its parts", "[model][mpu]")
{
    auto const u = upload_with({{{1, 10}, mpu_part{pool_uuid(2), "e", std::nullopt, 5}}});
    auto const dead = multipart_upload::tombstone(u.upload_id, u.timestamp, u.bucket_id, u.key);
    auto const m = merged(u, dead);
    CHECK(m.is_tombstone());
    CHECK(m.parts.empty());
    CHECK(merged(dead, u) == m);
    CHECK(merged(m, upload_with({{{2, 11}, mpu_part{pool_uuid(3), {}, {}, {}}}})) == m);
    CHECK(m.partition_key() == pool_uuid(0));
}

TEST_CASE("retries of a part get later timestamps", "[model][mpu]")
{
    auto const future = util::now_msec() + 60'000;
    auto const u = upload_with({{{1, future}, mpu_part{pool_uuid(2), {}, {}, {}}}, {{2, 5}, mpu_part{}}});
    CHECK(u.next_timestamp(1) == future + 1);
    auto const t2 = u.next_timestamp(2);
    CHECK(t2 >= util::now_msec() - 1000);
    CHECK(t2 < future);
    CHECK(u.next_timestamp(3) <= util::now_msec());
}

TEST_CASE("uploads count their distinct part numbers and bytes", "[model][mpu]")
{
    auto const u = upload_with({{{1, 10}, mpu_part{pool_uuid(2), "a", std::nullopt, 100}},
                                {{1, 11}, mpu_part{pool_uuid(3), "b", std::nullopt, 120}},
                                {{3, 12}, mpu_part{pool_uuid(4), std::nullopt, std::nullopt, std::nullopt}}});
    auto const c = model::bucket_mpu_counter::counts(u);
    CHECK(c[0] == model::counter_sample{"uploads", 1});
    CHECK(c[1] == model::counter_sample{"parts", 2});
    CHECK(c[2] == model::counter_sample{"bytes", 220});
    auto const dead = merged(u, multipart_upload::tombstone(u.upload_id, u.timestamp, u.bucket_id, u.key));
    auto const d = model::bucket_mpu_counter::counts(dead);
    CHECK(d[0].second == 0);
    CHECK(d[1].second == 0);
    CHECK(d[2].second == 0);
    CHECK(model::bucket_mpu_counter::partition_key(u) == pool_uuid(1));
}

TEST_CASE("multipart upload merge is a CRDT and survives cereal", "[model][mpu]")
{
    test::crdt_rng rng(606);
    test::check_merge_laws<mpu_part>(rng);
    test::check_merge_laws<multipart_upload>(rng);
    test::check_round_trips<multipart_upload>(rng);
}

TEST_CASE("an upload becoming deleted queues the deletion of every part's version", "[model][mpu]")
{
    test::recording_queue<model::version> versions;
    test::recording_counter<multipart_upload> counter;
    model::mpu_schema<test::recording_queue<model::version>, test::recording_counter<multipart_upload>>
        schema(versions, counter);
    test::fake_tx tx;
    auto const u = upload_with({{{1, 10}, mpu_part{pool_uuid(2), "a", std::nullopt, 100}},
                                {{1, 11}, mpu_part{pool_uuid(3), "b", std::nullopt, 120}},
                                {{2, 12}, mpu_part{pool_uuid(4), "c", std::nullopt, 1}}});
    auto const dead = merged(u, multipart_upload::tombstone(u.upload_id, u.timestamp, u.bucket_id, u.key));

    REQUIRE(schema.updated(tx, nullptr, &u));
    REQUIRE(schema.updated(tx, &u, &u));
    CHECK(versions.queued.empty());
    REQUIRE(schema.updated(tx, &u, &dead));
    REQUIRE(versions.queued.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        auto const& v = versions.queued[i];
        CHECK(v.uuid == pool_uuid(i + 2));
        CHECK(v.is_tombstone());
        CHECK(v.backlink == model::version_backlink(model::mpu_backlink{u.upload_id}));
    }
    REQUIRE(schema.updated(tx, &dead, &dead));
    REQUIRE(schema.updated(tx, &dead, nullptr));
    CHECK(versions.queued.size() == 3);
    // Every write is counted, the collection of the tombstone too.
    CHECK(counter.calls.size() == 5);
    CHECK_FALSE(counter.calls.back().second.has_value());
}
} // namespace
