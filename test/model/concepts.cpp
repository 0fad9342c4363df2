// Test that header file is self-contained.
#include <garage/model/concepts.hpp>

#include <garage/model/block_ref.hpp>
#include <garage/model/counter.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/table/table.hpp>

#include <test/model/fakes.hpp>
#include <test/support/rc_sink.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {
using namespace garage;
using test::fake_tx;
using test::recording_counter;
using test::recording_queue;
using memory_tx = storage::memory_backend::transaction_type;

// --- entry_queue ---------------------------------------------------------------------------------

struct queue_without_transaction_type {
    util::result<void> queue_insert(fake_tx&, model::version const&) { return {}; }
};
struct queue_returning_bool {
    using transaction_type = fake_tx;
    bool queue_insert(fake_tx&, model::version const&) { return true; }
};
using block_ref_table =
    table::table<model::block_ref_schema<storage::memory_backend, test::recording_rc_sink>,
                 replication::local, storage::memory_backend>;

static_assert(model::entry_queue<recording_queue<model::version>, model::version>);
static_assert(model::entry_queue<block_ref_table, model::block_ref>, "a table is a queue of its entries");
static_assert(!model::entry_queue<block_ref_table, model::version>, "but not of another table's entries");
static_assert(!model::entry_queue<recording_queue<model::version>, model::block_ref>);
static_assert(!model::entry_queue<queue_without_transaction_type, model::version>);
static_assert(!model::entry_queue<queue_returning_bool, model::version>);

// --- block_rc_sink -----------------------------------------------------------------------------------

struct incref_only {
    util::result<void> incref(fake_tx&, util::hash32 const&) { return {}; }
};
struct sink_returning_void {
    void incref(fake_tx&, util::hash32 const&) {}
    void decref(fake_tx&, util::hash32 const&) {}
};
struct sink_of_uuids {
    util::result<void> incref(fake_tx&, util::uuid const&) { return {}; }
    util::result<void> decref(fake_tx&, util::uuid const&) { return {}; }
};

static_assert(model::block_rc_sink<test::recording_rc_sink, fake_tx>);
static_assert(model::block_rc_sink<test::tree_rc_sink<storage::memory_backend>, memory_tx>);
static_assert(!model::block_rc_sink<test::tree_rc_sink<storage::memory_backend>, fake_tx>,
              "a sink writes in its own storage's transactions");
static_assert(!model::block_rc_sink<incref_only, fake_tx>);
static_assert(!model::block_rc_sink<sink_returning_void, fake_tx>);
static_assert(!model::block_rc_sink<sink_of_uuids, fake_tx>, "blocks are named by content hash");

// --- counter_definition and item_counter --------------------------------------------------------------

struct definition_without_counts {
    static constexpr std::string_view table_name = "c";
    using item_type = model::object;
    using partition_key_type = util::uuid;
    using sort_key_type = table::empty_key;
    static util::uuid const& partition_key(model::object const& o) { return o.bucket_id(); }
    static table::empty_key const& sort_key(model::object const&) { return model::no_key; }
};
struct definition_counting_ints : definition_without_counts {
    static std::vector<int> counts(model::object const&) { return {}; }
};
struct definition_with_vector_counts : definition_without_counts {
    static std::vector<model::counter_sample> counts(model::object const&) { return {}; }
};
struct definition_with_double_key : definition_with_vector_counts {
    using partition_key_type = double;
};

static_assert(model::counter_definition<model::bucket_object_counter>);
static_assert(model::counter_definition<model::bucket_mpu_counter>);
static_assert(model::counter_definition<definition_with_vector_counts>, "any range of samples will do");
static_assert(!model::counter_definition<definition_without_counts>);
static_assert(!model::counter_definition<definition_counting_ints>);
static_assert(!model::counter_definition<definition_with_double_key>);

using object_counter =
    model::index_counter<model::bucket_object_counter, replication::local, storage::memory_backend>;
static_assert(model::item_counter<recording_counter<model::object>, model::object>);
static_assert(model::item_counter<object_counter, model::object>);
static_assert(!model::item_counter<object_counter, model::multipart_upload>);
static_assert(!model::item_counter<recording_queue<model::object>, model::object>);

// --- the schemas are table schemas, and their heads check their arguments --------------------------

template <class V, class M, class C>
concept object_schema_accepts = requires
{
    typename model::object_schema<V, M, C>;
};
template <class V, class C>
concept mpu_schema_accepts = requires
{
    typename model::mpu_schema<V, C>;
};
template <class B>
concept version_schema_accepts = requires
{
    typename model::version_schema<B>;
};

using fake_object_schema =
    model::object_schema<recording_queue<model::version>, recording_queue<model::multipart_upload>,
                         recording_counter<model::object>>;
static_assert(table::table_schema<fake_object_schema>);
static_assert(table::table_schema<model::version_schema<recording_queue<model::block_ref>>>);
static_assert(table::table_schema<model::mpu_schema<recording_queue<model::version>,
                                                    recording_counter<model::multipart_upload>>>);
static_assert(table::table_schema<model::block_ref_schema<storage::memory_backend, test::recording_rc_sink>>);
static_assert(table::table_schema<model::counter_schema<model::bucket_object_counter>>);

static_assert(object_schema_accepts<recording_queue<model::version>, recording_queue<model::multipart_upload>,
                                    recording_counter<model::object>>);
static_assert(!object_schema_accepts<recording_queue<model::multipart_upload>,
                                     recording_queue<model::version>, recording_counter<model::object>>,
              "the queues are checked against their entry types");
static_assert(!object_schema_accepts<recording_queue<model::version>,
                                     recording_queue<model::multipart_upload>, object_counter>,
              "every hook target must share one transaction type");
static_assert(
    mpu_schema_accepts<recording_queue<model::version>, recording_counter<model::multipart_upload>>);
static_assert(!mpu_schema_accepts<recording_queue<model::version>, recording_counter<model::object>>);
static_assert(version_schema_accepts<block_ref_table>);
static_assert(!version_schema_accepts<recording_queue<model::version>>);

TEST_CASE("the fakes record what a hook asks of them", "[model][concepts]")
{
    fake_tx tx;
    recording_queue<model::version> q;
    REQUIRE(q.queue_insert(tx, model::version::tombstone(util::uuid{}, model::mpu_backlink{})));
    CHECK(q.queued.size() == 1);
    q.fail = true;
    CHECK_FALSE(q.queue_insert(tx, model::version{}));
    CHECK(q.queued.size() == 1);
}
} // namespace
