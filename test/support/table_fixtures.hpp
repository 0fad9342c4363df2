#pragma once
// A small schema for table tests: entries keyed by (string partition, string sort key) whose
// merge keeps the largest (timestamp, value, deleted) triple, so that every insert order
// converges to the same state.

#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/error.hpp>

#include <test/support/temp_dir.hpp>

#include <cereal/types/string.hpp>

#include <memory>
#include <string>
#include <tuple>

namespace garage::test {

struct kv_entry {
    std::string pk;
    std::string sk;
    std::uint64_t ts = 0;
    std::string value;
    bool deleted = false;

    std::string const& partition_key() const { return pk; }
    std::string const& sort_key() const { return sk; }
    bool is_tombstone() const { return deleted; }
    void merge(kv_entry const& o)
    {
        if (std::tie(o.ts, o.value, o.deleted) > std::tie(ts, value, deleted)) {
            ts = o.ts;
            value = o.value;
            deleted = o.deleted;
        }
    }
    friend bool operator==(kv_entry const&, kv_entry const&) = default;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(pk, sk, ts, value, deleted);
    }
};

/// Filter: entries whose value starts with a prefix.
struct value_prefix {
    std::string prefix;
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(prefix); // range reads of a replicated table send their filter to the other nodes
    }
};

struct kv_schema {
    static constexpr std::string_view table_name = "kv";
    using partition_key_type = std::string;
    using sort_key_type = std::string;
    using entry_type = kv_entry;
    using filter_type = value_prefix;
    static bool matches_filter(kv_entry const& e, value_prefix const& f)
    {
        return e.value.starts_with(f.prefix);
    }
};

/// A storage backend in a fresh place: LMDB in a temporary directory, or memory.
template <class Backend>
struct backend_fixture;

template <>
struct backend_fixture<storage::memory_backend> {
    storage::memory_backend db;
    static constexpr char const* name = "memory";
};

template <>
struct backend_fixture<storage::lmdb_backend> {
    temp_dir dir;
    storage::lmdb_backend db = open(dir);
    static constexpr char const* name = "lmdb";

    static storage::lmdb_backend open(temp_dir const& d)
    {
        storage::lmdb_options o;
        o.path = d.path() / "db.lmdb";
        o.map_size = 1ull << 30;
        return std::move(storage::lmdb_backend::open(o).value());
    }
};

} // namespace garage::test
