// Test that header file is self-contained.
#include <garage/model/repair.hpp>

#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/replication/local.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>

namespace {

using namespace garage;

template <class Backend>
using model_type =
    model::basic_model<replication::local, replication::local, Backend, test::tree_rc_sink<Backend>>;

model::object_version complete_version(util::uuid const& id, std::uint64_t ts)
{
    model::object_version_meta meta{3, "etag", model::encryption_plaintext{{{{"content-type", "x/y"}}, {}}}};
    return {id, ts, model::version_complete{model::inline_data{meta, "abc"}}};
}

model::object_version uploading_version(util::uuid const& id, std::uint64_t ts, bool multipart)
{
    return {id, ts, model::version_uploading{multipart, {}, model::encryption_plaintext{}}};
}

model::object_version aborted_version(util::uuid const& id, std::uint64_t ts)
{
    return {id, ts, model::version_aborted{}};
}

util::hash32 block_hash(int i)
{
    return util::blake2sum("block " + std::to_string(i));
}

/// A version with blocks (each also given a live block reference, as PutObject writes them).
template <class M>
model::version version_with_blocks(M& m, util::uuid const& id, model::version_backlink bl,
                                   std::vector<int> blocks)
{
    auto v = model::version::create(id, std::move(bl));
    std::uint64_t off = 0;
    for (int b : blocks) {
        v.blocks.put(model::version_block_key{1, off}, model::version_block{block_hash(b), 10});
        off += 10;
        REQUIRE(m.block_ref_table().insert(model::block_ref::live(block_hash(b), id)));
    }
    REQUIRE(m.version_table().insert(v));
    return v;
}

template <class Backend>
struct repair_fixture : test::backend_fixture<Backend> {
    test::tree_rc_sink<Backend> rc{this->db};
    std::unique_ptr<model_type<Backend>> m =
        model_type<Backend>::open(this->db, replication::local{}, replication::local{}, rc).value();
    boost::asio::io_context ioc;
    util::uuid bucket = util::gen_uuid();

    /// Runs the worker's steps to its end; @return the number of steps.
    int run(util::worker& w)
    {
        for (int i = 1; i < 1000; ++i) {
            auto f = boost::asio::co_spawn(ioc, w.work(), boost::asio::use_future);
            ioc.restart();
            ioc.run();
            auto s = f.get();
            REQUIRE(s.has_value());
            if (s->state == util::worker_state::done) {
                return i;
            }
            REQUIRE(s->state == util::worker_state::busy);
        }
        FAIL("the repair worker never finished");
        return 0;
    }

    template <class Repair>
    model::model_repair_stats repair(std::size_t batch = 2)
    {
        model::table_repair_worker<model_type<Backend>, Repair> w(*m, nullptr,
                                                                  model::model_repair_options{batch});
        run(w);
        CHECK(w.finished());
        return w.stats();
    }

    bool version_deleted(util::uuid const& id)
    {
        auto v = m->version_table().get(id, table::empty_key{}).value();
        REQUIRE(v);
        return v->deleted.get();
    }
    bool upload_deleted(util::uuid const& id)
    {
        auto u = m->mpu_table().get(id, table::empty_key{}).value();
        REQUIRE(u);
        return u->deleted.get();
    }
    bool ref_deleted(util::hash32 const& h, util::uuid const& v)
    {
        auto r = m->block_ref_table().get(h, v).value();
        REQUIRE(r);
        return r->deleted.get();
    }
};

using backends = std::tuple<storage::memory_backend, storage::lmdb_backend>;

TEST_CASE("repair names parse as Garage's CLI and v2 API spell them", "[model][repair]")
{
    CHECK(model::parse_model_repair("versions") == model::model_repair::versions);
    CHECK(model::parse_model_repair("mpu") == model::model_repair::mpu);
    CHECK(model::parse_model_repair("multipartUploads") == model::model_repair::mpu);
    CHECK(model::parse_model_repair("block-refs") == model::model_repair::block_refs);
    CHECK(model::parse_model_repair("blockRefs") == model::model_repair::block_refs);
    CHECK(model::parse_model_repair("aliases") == model::model_repair::aliases);
    CHECK_FALSE(model::parse_model_repair("block-rc")); // the block layer's
    CHECK_FALSE(model::parse_model_repair("tables"));
    CHECK(model::to_string(model::model_repair::block_refs) == "block-refs");
}

TEMPLATE_LIST_TEST_CASE("repair versions deletes the versions their owner no longer references",
                        "[model][repair]", backends)
{
    repair_fixture<TestType> f;
    auto& m = *f.m;
    auto const kept = util::gen_uuid();
    auto const orphan = util::gen_uuid();    // no object at all
    auto const aborted = util::gen_uuid();   // the object has it, aborted
    auto const other = util::gen_uuid();     // the object has other versions only
    auto const part_ok = util::gen_uuid();   // part of an upload in progress
    auto const part_gone = util::gen_uuid(); // part of a deleted upload
    auto const part_lost = util::gen_uuid(); // part of an upload that is not there
    auto const upload = util::gen_uuid();
    auto const dead_upload = util::gen_uuid();

    REQUIRE(m.object_table().insert(model::object(f.bucket, "kept", {complete_version(kept, 10)})));
    REQUIRE(m.object_table().insert(model::object(f.bucket, "aborted", {aborted_version(aborted, 10)})));
    REQUIRE(
        m.object_table().insert(model::object(f.bucket, "other", {complete_version(util::gen_uuid(), 10)})));
    REQUIRE(m.mpu_table().insert(model::multipart_upload::create(upload, 10, f.bucket, "mpu")));
    REQUIRE(m.mpu_table().insert(model::multipart_upload::tombstone(dead_upload, 10, f.bucket, "mpu2")));
    version_with_blocks(m, kept, model::object_backlink{f.bucket, "kept"}, {1});
    version_with_blocks(m, orphan, model::object_backlink{f.bucket, "missing"}, {2, 3});
    version_with_blocks(m, aborted, model::object_backlink{f.bucket, "aborted"}, {});
    version_with_blocks(m, other, model::object_backlink{f.bucket, "other"}, {});
    version_with_blocks(m, part_ok, model::mpu_backlink{upload}, {4});
    version_with_blocks(m, part_gone, model::mpu_backlink{dead_upload}, {});
    version_with_blocks(m, part_lost, model::mpu_backlink{util::gen_uuid()}, {});
    auto const already = util::gen_uuid(); // deleted already: not a fix
    REQUIRE(
        m.version_table().insert(model::version::tombstone(already, model::object_backlink{f.bucket, "x"})));
    REQUIRE(m.flush_insert_queues());
    REQUIRE(f.rc.count(block_hash(2)) == 1);

    auto const s = f.template repair<model::repair_versions>();
    CHECK(s.checked == 8);
    CHECK(s.fixed == 5);
    CHECK_FALSE(f.version_deleted(kept));
    CHECK_FALSE(f.version_deleted(part_ok));
    CHECK(f.version_deleted(orphan));
    CHECK(f.version_deleted(aborted));
    CHECK(f.version_deleted(other));
    CHECK(f.version_deleted(part_gone));
    CHECK(f.version_deleted(part_lost));

    // The deletion cascades through the hooks: block references, then reference counts.
    REQUIRE(m.flush_insert_queues());
    CHECK(f.ref_deleted(block_hash(2), orphan));
    CHECK(f.ref_deleted(block_hash(3), orphan));
    CHECK(f.rc.count(block_hash(2)) == 0);
    CHECK_FALSE(f.ref_deleted(block_hash(1), kept));
    CHECK(f.rc.count(block_hash(1)) == 1);

    // A second pass finds nothing left to fix.
    auto const again = f.template repair<model::repair_versions>(3);
    CHECK(again.checked == 8);
    CHECK(again.fixed == 0);
}

TEMPLATE_LIST_TEST_CASE("repair mpu deletes the uploads their object no longer has in progress",
                        "[model][repair]", backends)
{
    repair_fixture<TestType> f;
    auto& m = *f.m;
    auto const live = util::gen_uuid();
    auto const completed = util::gen_uuid();
    auto const no_object = util::gen_uuid();
    auto const simple = util::gen_uuid(); // the object's version is a simple (non-multipart) upload
    REQUIRE(m.object_table().insert(model::object(f.bucket, "live", {uploading_version(live, 10, true)})));
    REQUIRE(m.object_table().insert(model::object(f.bucket, "done", {complete_version(completed, 10)})));
    REQUIRE(
        m.object_table().insert(model::object(f.bucket, "simple", {uploading_version(simple, 10, false)})));
    for (auto const& [id, key] : std::vector<std::pair<util::uuid, std::string>>{
             {live, "live"}, {completed, "done"}, {no_object, "gone"}, {simple, "simple"}}) {
        REQUIRE(m.mpu_table().insert(model::multipart_upload::create(id, 10, f.bucket, key)));
    }
    REQUIRE(m.flush_insert_queues());

    auto const s = f.template repair<model::repair_mpu>(3);
    CHECK(s.checked == 4);
    CHECK(s.fixed == 3);
    CHECK_FALSE(f.upload_deleted(live));
    CHECK(f.upload_deleted(completed));
    CHECK(f.upload_deleted(no_object));
    CHECK(f.upload_deleted(simple));
    CHECK(f.template repair<model::repair_mpu>().fixed == 0);
}

TEMPLATE_LIST_TEST_CASE("repair block-refs deletes the references of missing or deleted versions",
                        "[model][repair]", backends)
{
    repair_fixture<TestType> f;
    auto& m = *f.m;
    auto const live = util::gen_uuid();
    auto const deleted = util::gen_uuid();
    auto const missing = util::gen_uuid();
    REQUIRE(m.version_table().insert(model::version::create(live, model::object_backlink{f.bucket, "a"})));
    REQUIRE(
        m.version_table().insert(model::version::tombstone(deleted, model::object_backlink{f.bucket, "b"})));
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(block_hash(1), live)));
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(block_hash(1), deleted)));
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(block_hash(2), missing)));
    REQUIRE(m.block_ref_table().insert(model::block_ref::tombstone(block_hash(3), missing)));
    REQUIRE(f.rc.count(block_hash(1)) == 2);

    auto const s = f.template repair<model::repair_block_refs>(1);
    CHECK(s.checked == 4);
    CHECK(s.fixed == 2);
    CHECK_FALSE(f.ref_deleted(block_hash(1), live));
    CHECK(f.ref_deleted(block_hash(1), deleted));
    CHECK(f.ref_deleted(block_hash(2), missing));
    // The reference counts follow through the block_ref hook.
    CHECK(f.rc.count(block_hash(1)) == 1);
    CHECK(f.rc.count(block_hash(2)) == 0);
}

TEMPLATE_LIST_TEST_CASE("block_ref_recount and referenced_blocks read the block_ref table", "[model][repair]",
                        backends)
{
    repair_fixture<TestType> f;
    auto& m = *f.m;
    std::vector<util::hash32> hashes;
    for (int i = 0; i < 5; ++i) {
        hashes.push_back(block_hash(i));
        for (int j = 0; j <= i; ++j) {
            REQUIRE(m.block_ref_table().insert(model::block_ref::live(hashes.back(), util::gen_uuid())));
        }
    }
    REQUIRE(m.block_ref_table().insert(model::block_ref::tombstone(hashes[2], util::gen_uuid())));
    std::sort(hashes.begin(), hashes.end());

    auto recount = model::block_ref_recount(m);
    for (int i = 0; i < 5; ++i) {
        auto n = f.db.transact([&](auto& tx) { return recount(tx, block_hash(i)); });
        REQUIRE(n);
        CHECK(*n == static_cast<std::uint64_t>(i + 1)); // the tombstone is not counted
    }
    auto none = f.db.transact([&](auto& tx) { return recount(tx, block_hash(99)); });
    REQUIRE(none);
    CHECK(*none == 0);

    auto first = model::referenced_blocks(m, std::nullopt, 3).value();
    CHECK(first == std::vector<util::hash32>(hashes.begin(), hashes.begin() + 3));
    auto rest = model::referenced_blocks(m, first.back(), 10).value();
    CHECK(rest == std::vector<util::hash32>(hashes.begin() + 3, hashes.end()));
    CHECK(model::referenced_blocks(m, hashes.back(), 10).value().empty());
}

TEMPLATE_LIST_TEST_CASE("repair aliases makes the buckets' alias maps follow the alias table and the keys",
                        "[model][repair]", backends)
{
    repair_fixture<TestType> f;
    auto& m = *f.m;
    // A consistent bucket, made by the helpers.
    auto const good = model::create_bucket(m, std::string("good")).value();
    auto const new_key = model::access_key::create("k");
    std::string const kid = new_key.key_id;
    REQUIRE(m.key_table().insert(new_key));
    REQUIRE(model::set_local_alias(m, good, kid, "mine"));
    // A bucket whose maps miss its aliases, and name one that is not its own.
    auto const drift = model::create_bucket(m, std::nullopt).value();
    auto const now = util::now_msec();
    REQUIRE(m.bucket_alias_table().insert(model::bucket_alias::make("drift", now, drift)));
    auto k = model::get_key(m, kid).value().value();
    k.params_mut()->local_aliases.update_in_place("drift-local", drift);
    REQUIRE(m.key_table().insert(k));
    {
        auto b = model::get_bucket(m, drift).value().value();
        b.params_mut()->aliases.update_in_place("stale", true);
        b.params_mut()->local_aliases.update_in_place(model::local_alias_key{kid, "old"}, true);
        REQUIRE(m.bucket_table().insert(b));
    }
    // Aliases of a deleted bucket.
    auto const dead = model::create_bucket(m, std::string("dead")).value();
    REQUIRE(model::set_local_alias(m, dead, kid, "dead-local"));
    {
        auto b = model::get_bucket(m, dead).value().value();
        b.state = crdt::deletable<model::bucket_params>::deleted();
        REQUIRE(m.bucket_table().insert(b));
    }
    auto const bucket_before = model::get_bucket(m, good).value().value();

    auto plan = model::plan_alias_repair(m).value();
    CHECK(plan.aliases.size() == 1); // "dead"
    CHECK(plan.keys.size() == 1);    // GKkey: "dead-local"
    CHECK(plan.buckets.size() == 1); // drift
    model::alias_repair_worker<model_type<TestType>> w(m, nullptr);
    CHECK(f.run(w) == 1);
    CHECK(w.finished());

    CHECK_FALSE(model::resolve_global_alias(m, "dead").value());
    auto const key = model::get_key(m, kid).value().value();
    auto const* dl = key.params()->local_aliases.get("dead-local");
    REQUIRE(dl != nullptr);
    CHECK_FALSE(dl->has_value());
    auto const* ml = key.params()->local_aliases.get("mine");
    REQUIRE(ml != nullptr);
    CHECK(*ml == good);

    auto const b = model::get_bucket(m, drift).value().value();
    auto const* p = b.params();
    REQUIRE(p->aliases.get("drift") != nullptr);
    CHECK(*p->aliases.get("drift"));
    REQUIRE(p->aliases.get("stale") != nullptr);
    CHECK_FALSE(*p->aliases.get("stale"));
    REQUIRE(p->local_aliases.get(model::local_alias_key{kid, "drift-local"}) != nullptr);
    CHECK(*p->local_aliases.get(model::local_alias_key{kid, "drift-local"}));
    REQUIRE(p->local_aliases.get(model::local_alias_key{kid, "old"}) != nullptr);
    CHECK_FALSE(*p->local_aliases.get(model::local_alias_key{kid, "old"}));
    // The consistent bucket is left alone.
    CHECK(model::get_bucket(m, good).value().value() == bucket_before);
    // And a second pass has nothing to do.
    CHECK(model::plan_alias_repair(m).value().empty());
}

} // namespace
