#pragma once
// Out-of-line parts of <garage/model/garage.hpp>.

#include <utility>

namespace garage::model {

namespace detail {

/// Opens one table into `out`, or returns the failure.
template <class Table, class Schema, class Replication, class Storage>
util::result<void> open_table(std::unique_ptr<Table>& out, Schema schema, Replication const& replication,
                              Storage& db, table::table_options const& options)
{
    auto t = Table::open(std::move(schema), replication, db, options);
    if (!t) {
        return t.error();
    }
    out = std::move(*t);
    return {};
}

/// Opens one index counter into `out`, or returns the failure.
template <class Counter, class Replication, class Storage>
util::result<void> open_counter(std::unique_ptr<Counter>& out, Replication const& replication, Storage& db,
                                table::table_options const& options)
{
    auto c = Counter::open(replication, db, options);
    if (!c) {
        return c.error();
    }
    out = std::move(*c);
    return {};
}

} // namespace detail

template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
util::result<std::unique_ptr<basic_model<ControlRepl, MetaRepl, Storage, RcSink>>>
basic_model<ControlRepl, MetaRepl, Storage, RcSink>::open(Storage& db, ControlRepl control, MetaRepl meta,
                                                          RcSink& rc_sink, table::table_options options)
{
    std::unique_ptr<basic_model> m(new basic_model());
    m->db_ = &db;
    // Downstream tables first: each hook points to tables opened before it.
    util::result<void> r = detail::open_table(m->bucket_table_, bucket_schema{}, control, db, options);
    if (r) {
        r = detail::open_table(m->bucket_alias_table_, bucket_alias_schema{}, control, db, options);
    }
    if (r) {
        r = detail::open_table(m->key_table_, access_key_schema{}, control, db, options);
    }
    if (r) {
        r = detail::open_table(m->block_ref_table_, block_ref_schema<Storage, RcSink>(rc_sink), meta, db,
                               options);
    }
    if (r) {
        r = detail::open_table(m->version_table_, version_schema<block_ref_table_type>(*m->block_ref_table_),
                               meta, db, options);
    }
    if (r) {
        r = detail::open_counter(m->mpu_counter_, meta, db, options);
    }
    if (r) {
        r = detail::open_table(
            m->mpu_table_,
            mpu_schema<version_table_type, mpu_counter_type>(*m->version_table_, *m->mpu_counter_), meta, db,
            options);
    }
    if (r) {
        r = detail::open_counter(m->object_counter_, meta, db, options);
    }
    if (r) {
        using schema = object_schema<version_table_type, mpu_table_type, object_counter_type>;
        r = detail::open_table(m->object_table_,
                               schema(*m->version_table_, *m->mpu_table_, *m->object_counter_), meta, db,
                               options);
    }
    if (!r) {
        return r.error();
    }
    return m;
}

template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
template <class F>
util::result<std::size_t> basic_model<ControlRepl, MetaRepl, Storage, RcSink>::for_each_table(F f)
{
    std::size_t total = 0;
    util::result<void> r;
    auto one = [&](auto& t) {
        if (!r) {
            return;
        }
        auto n = f(t);
        if (!n) {
            r = n.error();
        } else {
            total += *n;
        }
    };
    // In cascade order, so that one pass carries a deletion as far as it can go.
    one(*object_table_);
    one(*mpu_table_);
    one(*version_table_);
    one(*block_ref_table_);
    one(object_counter_->counter_table());
    one(mpu_counter_->counter_table());
    one(*bucket_table_);
    one(*bucket_alias_table_);
    one(*key_table_);
    if (!r) {
        return r.error();
    }
    return total;
}

template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
void basic_model<ControlRepl, MetaRepl, Storage, RcSink>::spawn_workers(util::background_runner& runner,
                                                                        util::net::any_io_executor ex)
{
    table::spawn_workers(*bucket_table_, runner, ex);
    table::spawn_workers(*bucket_alias_table_, runner, ex);
    table::spawn_workers(*key_table_, runner, ex);
    table::spawn_workers(*object_table_, runner, ex);
    table::spawn_workers(object_counter_->counter_table(), runner, ex);
    table::spawn_workers(*mpu_table_, runner, ex);
    table::spawn_workers(mpu_counter_->counter_table(), runner, ex);
    table::spawn_workers(*version_table_, runner, ex);
    table::spawn_workers(*block_ref_table_, runner, ex);
}

template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
util::result<std::size_t> basic_model<ControlRepl, MetaRepl, Storage, RcSink>::flush_insert_queues()
{
    std::size_t total = 0;
    while (true) {
        auto n = for_each_table([](auto& t) { return t.flush_insert_queue(); });
        if (!n) {
            return n.error();
        }
        if (*n == 0) {
            return total;
        }
        total += *n;
    }
}

template <replication::replication_policy ControlRepl, replication::replication_policy MetaRepl,
          storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
util::result<std::size_t> basic_model<ControlRepl, MetaRepl, Storage, RcSink>::gc_step()
{
    return for_each_table([](auto& t) { return t.gc_step(); });
}

} // namespace garage::model
