// Test that header file is self-contained.
#include <garage/model/garage.hpp>

#include <garage/replication/local.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/rc_sink.hpp>
#include <test/support/table_fixtures.hpp>

#include <boost/asio/thread_pool.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace {
using namespace garage;
using namespace std::chrono_literals;

template <class Backend>
using model_type =
    model::basic_model<replication::local, replication::local, Backend, test::tree_rc_sink<Backend>>;

static_assert(
    model::block_rc_sink<test::tree_rc_sink<storage::lmdb_backend>, storage::lmdb_backend::transaction_type>);

/// Tombstones are collectable at once, so that GC can be tested.
table::table_options no_gc_delay()
{
    table::table_options o;
    o.gc_delay = 0ms;
    return o;
}

template <class Backend>
struct model_fixture : test::backend_fixture<Backend> {
    test::tree_rc_sink<Backend> rc{this->db};
    std::unique_ptr<model_type<Backend>> m =
        model_type<Backend>::open(this->db, replication::local{}, replication::local{}, rc, no_gc_delay())
            .value();
    util::uuid bucket_id = util::gen_uuid();

    void flush() { REQUIRE(m->flush_insert_queues()); }

    std::optional<model::object> get_object(std::string const& key)
    {
        return m->object_table().get(bucket_id, key).value();
    }

    std::optional<std::int64_t> object_count(std::string_view name)
    {
        auto e = m->object_counter().get(bucket_id, model::no_key).value();
        return e ? e->get(name) : std::nullopt;
    }
    std::optional<std::int64_t> mpu_count(std::string_view name)
    {
        auto e = m->mpu_counter().get(bucket_id, model::no_key).value();
        return e ? e->get(name) : std::nullopt;
    }
    bool version_deleted(util::uuid const& v)
    {
        auto e = m->version_table().get(v, model::no_key).value();
        return e && e->is_tombstone();
    }
};

util::hash32 block_hash(std::string const& name)
{
    return util::blake2sum(name);
}

constexpr std::uint64_t block_size = 1000;

model::object_version_meta meta(std::uint64_t size)
{
    return {size, "etag", model::encryption_plaintext{{{{"content-type", "application/octet-stream"}}, {}}}};
}

/// What an S3 PutObject of a large object writes, in Garage's order: the object version
/// `uploading`, the version with its blocks, the block references, the object version
/// `complete` (reference §1.7).
template <class F>
util::uuid put_object(F& f, std::string const& key, std::vector<util::hash32> const& blocks)
{
    auto const existing = f.get_object(key);
    auto const ts = existing ? existing->next_timestamp() : util::now_msec();
    auto const v = util::gen_uuid();
    auto& m = *f.m;
    REQUIRE(m.object_table().insert(model::object(
        f.bucket_id, key,
        {model::object_version{v, ts, model::version_uploading{false, {}, model::encryption_plaintext{}}}})));
    auto ver = model::version::create(v, model::object_backlink{f.bucket_id, key});
    std::vector<model::block_ref> refs;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        ver.blocks.put({1, i * block_size}, {blocks[i], block_size});
        refs.push_back(model::block_ref::live(blocks[i], v));
    }
    REQUIRE(m.version_table().insert(ver));
    REQUIRE(m.block_ref_table().insert_many(refs));
    model::object_version const done{
        v, ts, model::version_complete{model::first_block{meta(blocks.size() * block_size), blocks.front()}}};
    REQUIRE(m.object_table().insert(model::object(f.bucket_id, key, {done})));
    return v;
}

/// DeleteObject: a delete-marker version.
template <class F>
void delete_object(F& f, std::string const& key)
{
    auto const existing = f.get_object(key);
    auto const ts = existing ? existing->next_timestamp() : util::now_msec();
    REQUIRE(f.m->object_table().insert(model::object(
        f.bucket_id, key,
        {model::object_version{util::gen_uuid(), ts, model::version_complete{model::delete_marker{}}}})));
}

std::vector<util::hash32> hashes(std::string const& prefix, int n)
{
    std::vector<util::hash32> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(block_hash(prefix + std::to_string(i)));
    }
    return out;
}

// --- simple objects ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("putting an object references its blocks and counts it", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    auto const blocks = hashes("a", 3);
    auto const v = put_object(f, "file.bin", blocks);
    f.flush();
    for (auto const& h : blocks) {
        CHECK(f.rc.count(h) == 1);
    }
    CHECK(f.rc.increfs() == 3);
    CHECK(f.rc.decrefs() == 0);
    auto const o = f.get_object("file.bin");
    REQUIRE(o);
    REQUIRE(o->versions().size() == 1);
    CHECK(o->versions()[0].uuid == v);
    CHECK(o->versions()[0].is_data());
    CHECK(f.object_count("objects") == 1);
    CHECK(f.object_count("bytes") == 3000);
    CHECK(f.object_count("unfinished_uploads") == 0);
}

TEMPLATE_TEST_CASE("overwriting an object deletes the old version and releases its blocks", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    auto const old_blocks = hashes("old", 3);
    auto const new_blocks = hashes("new", 2);
    auto const v1 = put_object(f, "file.bin", old_blocks);
    f.flush();
    f.rc.reset_calls();

    auto const v2 = put_object(f, "file.bin", new_blocks);
    // The object entry already dropped v1, and queued its deletion; nothing else ran yet.
    auto const o = f.get_object("file.bin");
    REQUIRE(o->versions().size() == 1);
    CHECK(o->versions()[0].uuid == v2);
    CHECK(f.m->version_table().insert_queue_len().value() == 1);
    CHECK_FALSE(f.version_deleted(v1));
    CHECK(f.rc.count(old_blocks[0]) == 1);

    f.flush();
    CHECK(f.version_deleted(v1));
    CHECK(f.m->version_table().get(v1, model::no_key).value()->blocks.empty());
    for (auto const& h : old_blocks) {
        CHECK(f.rc.count(h) == 0);
        auto const ref = f.m->block_ref_table().get(h, v1).value();
        REQUIRE(ref);
        CHECK(ref->is_tombstone());
    }
    for (auto const& h : new_blocks) {
        CHECK(f.rc.count(h) == 1);
    }
    CHECK(f.rc.decrefs() == 3);
    CHECK(f.rc.increfs() == 2);
    CHECK_FALSE(f.version_deleted(v2));
    CHECK(f.object_count("objects") == 1);
    CHECK(f.object_count("bytes") == 2000);
    CHECK(f.object_count("unfinished_uploads") == 0);
    // Every queue is empty: the cascade ran to its end.
    CHECK(f.m->block_ref_table().insert_queue_len().value() == 0);
    CHECK(f.m->object_counter().counter_table().insert_queue_len().value() == 0);
}

TEMPLATE_TEST_CASE("deleting an object leaves a tombstone that the GC collects", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    auto const blocks = hashes("d", 3);
    auto const v = put_object(f, "gone.bin", blocks);
    put_object(f, "kept.bin", hashes("k", 1));
    f.flush();
    delete_object(f, "gone.bin");
    f.flush();
    auto const o = f.get_object("gone.bin");
    REQUIRE(o);
    CHECK(o->is_tombstone());
    CHECK(f.version_deleted(v));
    for (auto const& h : blocks) {
        CHECK(f.rc.count(h) == 0);
    }
    CHECK(f.object_count("objects") == 1);
    CHECK(f.object_count("bytes") == 1000);

    // With no GC delay, one step removes every tombstone: the object, the version and the
    // block references (their hooks see the removal but count nothing twice).
    auto const decrefs = f.rc.decrefs();
    REQUIRE(f.m->gc_step());
    f.flush();
    CHECK_FALSE(f.get_object("gone.bin"));
    CHECK_FALSE(f.m->version_table().get(v, model::no_key).value());
    CHECK_FALSE(f.m->block_ref_table().get(blocks[0], v).value());
    CHECK(f.rc.decrefs() == decrefs);
    CHECK(f.get_object("kept.bin"));
    CHECK(f.object_count("objects") == 1);
}

TEMPLATE_TEST_CASE("an upload that fails is aborted and releases what it wrote", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    auto const kept = put_object(f, "file.bin", hashes("kept", 2));
    auto const ts = f.get_object("file.bin")->next_timestamp();
    auto const v = util::gen_uuid();
    auto& m = *f.m;
    REQUIRE(m.object_table().insert(model::object(
        f.bucket_id, "file.bin",
        {model::object_version{v, ts, model::version_uploading{false, {}, model::encryption_plaintext{}}}})));
    auto ver = model::version::create(v, model::object_backlink{f.bucket_id, "file.bin"});
    ver.blocks.put({1, 0}, {block_hash("partial"), block_size});
    REQUIRE(m.version_table().insert(ver));
    REQUIRE(m.block_ref_table().insert(model::block_ref::live(block_hash("partial"), v)));
    f.flush();
    CHECK(f.rc.count(block_hash("partial")) == 1);
    CHECK(f.object_count("unfinished_uploads") == 1);

    REQUIRE(
        m.object_table().insert(model::object(f.bucket_id, "file.bin", {{v, ts, model::version_aborted{}}})));
    f.flush();
    CHECK(f.version_deleted(v));
    CHECK(f.rc.count(block_hash("partial")) == 0);
    CHECK_FALSE(f.version_deleted(kept));
    CHECK(f.rc.count(block_hash("kept0")) == 1);
    CHECK(f.object_count("unfinished_uploads") == 0);
    CHECK(f.object_count("objects") == 1);
    auto const o = f.get_object("file.bin");
    REQUIRE(o->versions().size() == 2);
    CHECK(o->last_complete()->uuid == kept);
}

TEMPLATE_TEST_CASE("a failing refcount sink aborts the cascade step, which a later flush retries",
                   "[model][garage]", storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    auto const blocks = hashes("r", 3);
    auto const v1 = put_object(f, "file.bin", blocks);
    f.flush();
    put_object(f, "file.bin", hashes("s", 1));
    f.rc.fail_decref(true);
    auto const r = f.m->flush_insert_queues();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::error::io_error);
    // The version was deleted (its step committed), the block references were not.
    CHECK(f.version_deleted(v1));
    CHECK(f.m->block_ref_table().insert_queue_len().value() == 3);
    CHECK_FALSE(f.m->block_ref_table().get(blocks[0], v1).value()->is_tombstone());
    CHECK(f.rc.count(blocks[0]) == 1);

    f.rc.fail_decref(false);
    f.flush();
    for (auto const& h : blocks) {
        CHECK(f.rc.count(h) == 0);
    }
    CHECK(f.m->block_ref_table().insert_queue_len().value() == 0);
}

// --- multipart uploads -----------------------------------------------------------------------------

template <class F>
struct mpu_session {
    F& f;
    std::string key;
    util::uuid upload_id = util::gen_uuid();
    std::uint64_t ts = 0;

    void create()
    {
        auto const existing = f.get_object(key);
        ts = existing ? existing->next_timestamp() : util::now_msec();
        REQUIRE(f.m->object_table().insert(model::object(
            f.bucket_id, key,
            {model::object_version{upload_id, ts,
                                   model::version_uploading{true, {}, model::encryption_plaintext{}}}})));
        REQUIRE(f.m->mpu_table().insert(model::multipart_upload::create(upload_id, ts, f.bucket_id, key)));
    }

    model::multipart_upload current() { return *f.m->mpu_table().get(upload_id, model::no_key).value(); }

    /// UploadPart: a new version for this upload of the part, its block references, and the
    /// part in the upload entry. Returns the part's version id.
    util::uuid upload_part(std::uint64_t part_number, std::vector<util::hash32> const& blocks)
    {
        auto const pv = util::gen_uuid();
        auto const pts = current().next_timestamp(part_number);
        auto ver = model::version::create(pv, model::mpu_backlink{upload_id});
        std::vector<model::block_ref> refs;
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            ver.blocks.put({part_number, i * block_size}, {blocks[i], block_size});
            refs.push_back(model::block_ref::live(blocks[i], pv));
        }
        REQUIRE(f.m->version_table().insert(ver));
        REQUIRE(f.m->block_ref_table().insert_many(refs));
        auto delta = model::multipart_upload::create(upload_id, ts, f.bucket_id, key);
        delta.parts.put({part_number, pts}, model::mpu_part{pv, "etag" + std::to_string(part_number),
                                                            std::nullopt, blocks.size() * block_size});
        REQUIRE(f.m->mpu_table().insert(delta));
        return pv;
    }

    /// CompleteMultipartUpload: the final version (id = upload id) takes the blocks of the
    /// latest upload of each chosen part, renumbered 1..n, with its own block references;
    /// then the object version becomes complete.
    void complete(std::vector<std::uint64_t> const& chosen)
    {
        auto const u = current();
        auto final_version = model::version::create(upload_id, model::object_backlink{f.bucket_id, key});
        std::vector<model::block_ref> refs;
        std::uint64_t size = 0;
        std::optional<util::hash32> first;
        std::uint64_t n = 0;
        for (auto const part : chosen) {
            ++n;
            std::optional<model::mpu_part> latest;
            for (auto const& p : u.parts.items()) {
                if (p.key.part_number == part) {
                    latest = p.value;
                }
            }
            REQUIRE(latest);
            auto const pv = f.m->version_table().get(latest->version, model::no_key).value();
            REQUIRE(pv);
            for (auto const& b : pv->blocks.items()) {
                final_version.blocks.put({n, b.key.offset}, b.value);
                refs.push_back(model::block_ref::live(b.value.hash, upload_id));
                size += b.value.size;
                if (!first) {
                    first = b.value.hash;
                }
            }
        }
        REQUIRE(f.m->version_table().insert(final_version));
        REQUIRE(f.m->block_ref_table().insert_many(refs));
        model::object_version const done{upload_id, ts,
                                         model::version_complete{model::first_block{meta(size), *first}}};
        REQUIRE(f.m->object_table().insert(model::object(f.bucket_id, key, {done})));
    }

    /// AbortMultipartUpload: the object version becomes aborted.
    void abort()
    {
        REQUIRE(f.m->object_table().insert(model::object(
            f.bucket_id, key, {model::object_version{upload_id, ts, model::version_aborted{}}})));
    }
};

TEMPLATE_TEST_CASE("a multipart upload is created, receives parts and completes", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    mpu_session<model_fixture<TestType>> s{f, "big.iso"};
    s.create();
    f.flush();
    CHECK(f.object_count("unfinished_uploads") == 1);
    CHECK(f.object_count("objects") == 0);
    CHECK(f.mpu_count("uploads") == 1);
    CHECK(f.mpu_count("parts") == 0);

    // Parts 3, 1, 3 again (a retry) and 6, as in Garage's smoke test; part 6 is not used.
    auto const p3a = s.upload_part(3, {block_hash("3a")});
    auto const p1 = s.upload_part(1, {block_hash("1a"), block_hash("1b")});
    auto const p3b = s.upload_part(3, {block_hash("3b")});
    auto const p6 = s.upload_part(6, {block_hash("6a")});
    f.flush();
    CHECK(s.current().parts.size() == 4);
    CHECK(f.mpu_count("parts") == 3);
    CHECK(f.mpu_count("bytes") == 5000);
    CHECK(f.rc.count(block_hash("3a")) == 1);
    CHECK(f.object_count("unfinished_uploads") == 1);

    s.complete({1, 3});
    f.flush();
    // The upload entry and every part's version are gone; only the final version's
    // references keep blocks alive.
    CHECK(s.current().is_tombstone());
    for (auto const& pv : {p1, p3a, p3b, p6}) {
        CHECK(f.version_deleted(pv));
    }
    CHECK_FALSE(f.version_deleted(s.upload_id));
    CHECK(f.rc.count(block_hash("1a")) == 1);
    CHECK(f.rc.count(block_hash("1b")) == 1);
    CHECK(f.rc.count(block_hash("3b")) == 1);
    CHECK(f.rc.count(block_hash("3a")) == 0); // superseded by the retry
    CHECK(f.rc.count(block_hash("6a")) == 0); // not part of the final object
    auto const final_version = f.m->version_table().get(s.upload_id, model::no_key).value();
    REQUIRE(final_version);
    CHECK(final_version->n_parts() == std::optional<std::uint64_t>(2));
    CHECK(final_version->has_part_number(2));
    CHECK_FALSE(final_version->has_part_number(3));

    CHECK(f.object_count("objects") == 1);
    CHECK(f.object_count("unfinished_uploads") == 0);
    CHECK(f.object_count("bytes") == 3000);
    CHECK(f.mpu_count("uploads") == 0);
    CHECK(f.mpu_count("parts") == 0);
    CHECK(f.mpu_count("bytes") == 0);
    auto const o = f.get_object("big.iso");
    REQUIRE(o->versions().size() == 1);
    CHECK(o->versions()[0].is_data());
}

TEMPLATE_TEST_CASE("an aborted multipart upload releases every part", "[model][garage]",
                   storage::memory_backend, storage::lmdb_backend)
{
    model_fixture<TestType> f;
    put_object(f, "big.iso", hashes("v0-", 1)); // an earlier version stays
    mpu_session<model_fixture<TestType>> s{f, "big.iso"};
    s.create();
    auto const p1 = s.upload_part(1, {block_hash("x1")});
    auto const p2 = s.upload_part(2, {block_hash("x2"), block_hash("x3")});
    f.flush();
    CHECK(f.object_count("unfinished_uploads") == 1);
    CHECK(f.mpu_count("uploads") == 1);
    CHECK(f.rc.count(block_hash("x2")) == 1);

    s.abort();
    f.flush();
    CHECK(s.current().is_tombstone());
    CHECK(f.version_deleted(p1));
    CHECK(f.version_deleted(p2));
    for (auto const* name : {"x1", "x2", "x3"}) {
        CHECK(f.rc.count(block_hash(name)) == 0);
    }
    CHECK(f.rc.count(block_hash("v0-0")) == 1);
    CHECK(f.object_count("unfinished_uploads") == 0);
    CHECK(f.object_count("objects") == 1);
    CHECK(f.mpu_count("uploads") == 0);
    CHECK(f.mpu_count("parts") == 0);
}

// --- the control tables and the workers --------------------------------------------------------------

TEST_CASE("buckets, aliases and keys are stored in their tables", "[model][garage]")
{
    model_fixture<storage::memory_backend> f;
    auto b = model::bucket::create();
    auto k = model::access_key::create("alice");
    b.params_mut()->authorized_keys.put(k.key_id, model::bucket_key_perm{1, true, true, true});
    k.params_mut()->authorized_buckets.put(b.id, model::bucket_key_perm{1, true, true, true});
    REQUIRE(f.m->bucket_table().insert(b));
    REQUIRE(f.m->key_table().insert(k));
    REQUIRE(f.m->bucket_alias_table().insert(model::bucket_alias::make("photos", 1, b.id)));
    auto const alias = f.m->bucket_alias_table().get(model::no_key, "photos").value();
    REQUIRE(alias);
    REQUIRE(alias->bucket_id());
    auto const got = f.m->bucket_table().get(model::no_key, *alias->bucket_id()).value();
    REQUIRE(got);
    CHECK(got->authorized_keys().size() == 1);
    auto const key = f.m->key_table().get(model::no_key, k.key_id).value();
    REQUIRE(key);
    CHECK(key->allow_owner(b.id));
    auto const listed =
        f.m->key_table()
            .get_range(model::no_key, std::nullopt, model::key_filter(model::key_match{"alice"}), 10)
            .value();
    CHECK(listed.size() == 1);
    auto trees = f.db.list_trees().value();
    CHECK(std::ranges::count(trees, std::string("local_counter_v2:bucket_object_counter")) == 1);
    CHECK(std::ranges::count(trees, std::string("bucket_v2:table")) == 1);
    CHECK(std::ranges::count(trees, std::string("multipart_upload:table")) == 1);
}

/// Polls `pred` until it holds or `deadline` passes (the workers run on their own threads).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = 20s)
{
    auto const end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

TEST_CASE("the workers run the cascades on their own", "[model][garage]")
{
    model_fixture<storage::lmdb_backend> f;
    boost::asio::thread_pool pool(1);
    util::background_runner runner(pool.get_executor());
    f.m->spawn_workers(runner, pool.get_executor());
    auto const workers = runner.list();
    CHECK(workers.size() == 27);
    CHECK(std::ranges::count_if(workers, [](auto const& w) { return w.name == "block_ref queue"; }) == 1);
    CHECK(std::ranges::count_if(workers,
                                [](auto const& w) { return w.name == "bucket_object_counter GC"; }) == 1);

    auto const old_blocks = hashes("w", 3);
    auto const v1 = put_object(f, "file.bin", old_blocks);
    put_object(f, "file.bin", hashes("z", 1));
    CHECK(eventually([&] {
        return f.rc.count(old_blocks[0]) == 0 && f.rc.count(old_blocks[2]) == 0 &&
               f.rc.count(block_hash("z0")) == 1 &&
               f.object_count("bytes") == std::optional<std::int64_t>(1000);
    }));
    // Deleted, or already collected by the GC worker (no GC delay here).
    auto const gone = f.m->version_table().get(v1, model::no_key).value();
    CHECK((!gone || gone->is_tombstone()));
    runner.request_stop();
    CHECK(runner.wait_stopped(5s));
    pool.join();
}
} // namespace
