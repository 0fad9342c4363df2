#pragma once
/** @file
    The `object` table: the versions of each object key of each bucket; its hook deletes
    the versions and multipart uploads that an update makes obsolete, and counts objects.
*/

#include <garage/model/concepts.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/types.hpp>
#include <garage/model/version.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace garage::model {

// ---- metadata ------------------------------------------------------------------------------------

/// Stored HTTP headers, as (name, value) pairs in the order received (reference §1.7).
using header_list = std::vector<std::pair<std::string, std::string>>;

/** The metadata of a version in clear: its headers and its checksum (Garage's
    `ObjectVersionMetaInner`). With SSE-C it is stored encrypted instead. */
struct object_version_meta_inner {
    header_list headers;                    ///< the stored headers
    std::optional<checksum_value> checksum; ///< the object's checksum, if one was requested

    /// Ordered member by member.
    friend auto operator<=>(object_version_meta_inner const&, object_version_meta_inner const&) = default;
    /// Equal when both members are equal.
    friend bool operator==(object_version_meta_inner const&, object_version_meta_inner const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("headers", headers), cereal::make_nvp("checksum", checksum));
    }
};

/// A plaintext object: its metadata in clear.
struct encryption_plaintext {
    object_version_meta_inner inner; ///< headers and checksum

    /// Ordered by the metadata.
    friend auto operator<=>(encryption_plaintext const&, encryption_plaintext const&) = default;
    /// Equal when the metadata are equal.
    friend bool operator==(encryption_plaintext const&, encryption_plaintext const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("inner", inner));
    }
};

/// An SSE-C object (reference §1.9): its metadata encrypted with the customer's key.
struct encryption_sse_c {
    std::string inner;       ///< the encrypted encoding of an @ref garage::model::object_version_meta_inner
    bool compressed = false; ///< whether the data blocks were compressed before encryption

    /// Ordered member by member.
    friend auto operator<=>(encryption_sse_c const&, encryption_sse_c const&) = default;
    /// Equal when both members are equal.
    friend bool operator==(encryption_sse_c const&, encryption_sse_c const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("inner", inner), cereal::make_nvp("compressed", compressed));
    }
};

/// How a version's metadata (and data) are stored: in clear, or encrypted with SSE-C.
using object_version_encryption = std::variant<encryption_plaintext, encryption_sse_c>;

/** The metadata of a complete version (Garage's `ObjectVersionMeta`). */
struct object_version_meta {
    std::uint64_t size = 0;               ///< the size of the data, before compression or encryption
    std::string etag;                     ///< the ETag, unquoted
    object_version_encryption encryption; ///< the headers and checksum, in clear or encrypted

    /// @return The headers when stored in clear, else null.
    header_list const* headers() const noexcept;
    /// @return The checksum when stored in clear and present, else null.
    checksum_value const* checksum() const noexcept;

    /// Ordered member by member.
    friend auto operator<=>(object_version_meta const&, object_version_meta const&) = default;
    /// Equal when every member is equal.
    friend bool operator==(object_version_meta const&, object_version_meta const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("size", size), cereal::make_nvp("etag", etag),
           cereal::make_nvp("encryption", encryption));
    }
};

// ---- version states -----------------------------------------------------------------------------

/// The data of a deleted object: the version records the deletion.
struct delete_marker {
    /// All delete markers are equal.
    friend constexpr auto operator<=>(delete_marker const&, delete_marker const&) = default;
    /// All delete markers are equal.
    friend constexpr bool operator==(delete_marker const&, delete_marker const&) = default;
    /** cereal: nothing. */
    template <class Archive>
    void serialize(Archive&)
    {
    }
};

/// The data of a small object (below the inline threshold, 3072 bytes), stored in the entry.
struct inline_data {
    object_version_meta meta; ///< its metadata
    std::string bytes;        ///< its content (encrypted with SSE-C)

    /// Ordered member by member.
    friend auto operator<=>(inline_data const&, inline_data const&) = default;
    /// Equal when both members are equal.
    friend bool operator==(inline_data const&, inline_data const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("meta", meta), cereal::make_nvp("bytes", bytes));
    }
};

/// The data of a larger object: the hash of its first block; the rest is in the version table.
struct first_block {
    object_version_meta meta; ///< its metadata
    util::hash32 hash;        ///< the hash of its first block

    /// Ordered member by member.
    friend auto operator<=>(first_block const&, first_block const&) = default;
    /// Equal when both members are equal.
    friend bool operator==(first_block const&, first_block const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("meta", meta), cereal::make_nvp("hash", hash));
    }
};

/// What a complete version holds (Garage's `ObjectVersionData`).
using object_version_data = std::variant<delete_marker, inline_data, first_block>;

/// The state of a version whose data is being received.
struct version_uploading {
    bool multipart = false;                                      ///< a multipart upload
    std::optional<model::checksum_algorithm> checksum_algorithm; ///< the checksum requested, if any
    object_version_encryption encryption;                        ///< headers for the final object

    /// Ordered member by member (a deterministic tie-break only).
    friend auto operator<=>(version_uploading const&, version_uploading const&) = default;
    /// Equal when every member is equal.
    friend bool operator==(version_uploading const&, version_uploading const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("multipart", multipart),
           cereal::make_nvp("checksum_algorithm", checksum_algorithm),
           cereal::make_nvp("encryption", encryption));
    }
};

/// The state of a version whose data was all received: its data.
struct version_complete {
    object_version_data data; ///< delete marker, inline data or first block

    /// Ordered by data (two complete states of one version merge to the larger).
    friend auto operator<=>(version_complete const&, version_complete const&) = default;
    /// Equal when the data are equal.
    friend bool operator==(version_complete const&, version_complete const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("data", data));
    }
};

/// The state of a version whose upload failed or was aborted.
struct version_aborted {
    /// All aborted states are equal.
    friend constexpr auto operator<=>(version_aborted const&, version_aborted const&) = default;
    /// All aborted states are equal.
    friend constexpr bool operator==(version_aborted const&, version_aborted const&) = default;
    /** cereal: nothing. */
    template <class Archive>
    void serialize(Archive&)
    {
    }
};

/// The state of an object version (Garage's `ObjectVersionState`).
using object_version_state = std::variant<version_uploading, version_complete, version_aborted>;

/** Merges two states of one version: aborted absorbs everything, complete beats uploading,
    two complete states keep the larger data, two uploading states the larger (these never
    differ in practice: a version is created once).
    @param self  The state to update.
    @param other The state to merge in. */
void merge_state(object_version_state& self, object_version_state const& other);

/** One version of an object (Garage's `ObjectVersion`). */
struct object_version {
    util::uuid uuid;             ///< the version id (the version table's key)
    std::uint64_t timestamp = 0; ///< milliseconds since the Unix epoch of the upload's start
    object_version_state state;  ///< uploading, complete or aborted

    /** @param multipart nullopt: any upload; true: only multipart; false: only simple.
        @return Whether the version is being uploaded (and of that kind). */
    bool is_uploading(std::optional<bool> multipart = std::nullopt) const noexcept;
    /// @return Whether the version is complete (data or delete marker).
    bool is_complete() const noexcept { return std::holds_alternative<version_complete>(state); }
    /// @return Whether the version is aborted.
    bool is_aborted() const noexcept { return std::holds_alternative<version_aborted>(state); }
    /// @return Whether the version is complete and a delete marker.
    bool is_delete_marker() const noexcept;
    /// @return Whether the version is complete and holds data (not a delete marker).
    bool is_data() const noexcept { return is_complete() && !is_delete_marker(); }
    /// @return The data of a complete version, else null.
    object_version_data const* data() const noexcept;
    /// @return The metadata of a complete version holding data, else null.
    object_version_meta const* meta() const noexcept;

    /// Equal when every member is equal.
    friend bool operator==(object_version const&, object_version const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("uuid", uuid), cereal::make_nvp("timestamp", timestamp),
           cereal::make_nvp("state", state));
    }
};

// ---- the object entry ---------------------------------------------------------------------------

/** An object (Garage's `Object`): a bucket, a key, and the versions of that key still relevant,
    sorted by (timestamp, uuid).

    Merge (a CRDT on the histories Garage produces, see below):
    1. the union of the versions, identified by (timestamp, uuid), merging the states of a
       version present on both sides with @ref garage::model::merge_state;
    2. then every version older than the last complete one is dropped: the last complete
       version is the current content (or deletion), later ones are uploads in progress or
       aborted.

    An object whose only version is a complete delete marker is a tombstone.

    The merge is commutative, associative and idempotent as long as a version that became
    complete is never also aborted, which Garage guarantees (only uploading versions are
    aborted). Were a complete version aborted, the versions it had made obsolete are already
    gone on some replicas and not on others, and the order of merges would matter.

    The constructor and add_version() apply the same normalisation, so that every value
    is one a merge could produce.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class object {
public:
    /// An empty object (no bucket, no key, no version): the value decoding starts from.
    object() = default;

    /** An object with some versions (merged and normalised as by merge()).
        @param bucket_id The bucket.
        @param key       The object key.
        @param versions  Its versions, in any order. */
    object(util::uuid const& bucket_id, std::string key, std::vector<object_version> versions = {});

    /// @return The bucket.
    util::uuid const& bucket_id() const noexcept { return bucket_id_; }
    /// @return The object key.
    std::string const& key() const noexcept { return key_; }
    /// @return The versions, sorted by (timestamp, uuid).
    std::span<object_version const> versions() const noexcept { return versions_; }

    /** Merges one version into the object, as merging an object holding only it would.
        @param v The version. */
    void add_version(object_version const& v);

    /** The version with a given identity.
        @param timestamp Its timestamp. @param uuid Its id.
        @return The version, or null. */
    object_version const* find_version(std::uint64_t timestamp, util::uuid const& uuid) const noexcept;

    /// @return The last complete version (the current content, or a delete marker), or null.
    object_version const* last_complete() const noexcept;

    /** The timestamp for a new version of this object: `max(now, latest version + 1)`
        (reference §1.7), so that the new version sorts after every existing one.
        @return The timestamp. */
    std::uint64_t next_timestamp() const;

    /** Merges another state of the object (see the class comment).
        @param other The state to merge in; same bucket and key. */
    void merge(object const& other);

    /// @return The bucket id.
    util::uuid const& partition_key() const noexcept { return bucket_id_; }
    /// @return The object key.
    std::string const& sort_key() const noexcept { return key_; }
    /// @return Whether the only version is a complete delete marker.
    bool is_tombstone() const noexcept;

    /// Equal when bucket, key and versions are equal.
    friend bool operator==(object const&, object const&) = default;

    /** cereal: bucket, key, versions. Loading rejects versions that are not strictly
        increasing with `cereal::Exception`.
        @param ar A cereal archive. */
    template <class Archive>
    void save(Archive& ar) const
    {
        ar(cereal::make_nvp("bucket_id", bucket_id_), cereal::make_nvp("key", key_),
           cereal::make_nvp("versions", versions_));
    }
    /** @copydoc save */
    template <class Archive>
    void load(Archive& ar)
    {
        ar(cereal::make_nvp("bucket_id", bucket_id_), cereal::make_nvp("key", key_),
           cereal::make_nvp("versions", versions_));
        if (!sorted()) {
            throw cereal::Exception("object versions are not sorted by (timestamp, uuid)");
        }
    }

private:
    void insert_or_merge(object_version const& v);
    void drop_obsolete();
    bool sorted() const noexcept;

    util::uuid bucket_id_;
    std::string key_;
    std::vector<object_version> versions_;
};

/** The filter of object range reads (Garage's `ObjectFilter`). */
struct object_filter {
    /// What the filter selects.
    enum class kind : std::uint8_t {
        data,      ///< objects with a version holding data (listing)
        uploading, ///< objects with a version being uploaded
    };
    kind what = kind::data;        ///< the selection
    std::optional<bool> multipart; ///< for `uploading`: only multipart (true) or simple (false)

    /// @return The filter of objects with data (ListObjects).
    static constexpr object_filter is_data() noexcept { return {kind::data, std::nullopt}; }
    /** @param multipart nullopt: any upload; true: only multipart; false: only simple.
        @return The filter of objects with an upload in progress (ListMultipartUploads). */
    static constexpr object_filter is_uploading(std::optional<bool> multipart = std::nullopt) noexcept
    {
        return {kind::uploading, multipart};
    }

    /** cereal: the filter travels in range reads across the cluster.
        @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(what, multipart);
    }
};

/** The `bucket_object_counter` index counter: per bucket, the objects holding data
    (`objects`), the uploads in progress (`unfinished_uploads`) and the bytes of the current
    versions (`bytes`). Models @ref garage::model::counter_definition. */
struct bucket_object_counter {
    /// Garage's table name.
    static constexpr std::string_view table_name = "bucket_object_counter";
    using item_type = object;               ///< counts objects
    using partition_key_type = util::uuid;  ///< the bucket id
    using sort_key_type = table::empty_key; ///< one counter per bucket

    /// Counter name: objects whose versions include data.
    static constexpr std::string_view objects = "objects";
    /// Counter name: versions being uploaded.
    static constexpr std::string_view unfinished_uploads = "unfinished_uploads";
    /// Counter name: sizes of the complete versions holding data.
    static constexpr std::string_view bytes = "bytes";

    /** @param o An object. @return Its bucket. */
    static util::uuid const& partition_key(object const& o) noexcept { return o.bucket_id(); }
    /** @return The empty key. */
    static table::empty_key const& sort_key(object const&) noexcept { return no_key; }
    /** @param o An object. @return Its counts: `objects`, `unfinished_uploads`, `bytes`. */
    static std::array<counter_sample, 3> counts(object const& o);
};

/** The schema of the `object` table (sharded; partition: bucket id; sort: object key).

    Hook, in the write's transaction (Garage's cascade):
    - the object is counted into `Counter`;
    - each version of the old entry that the new one dropped, or that the write aborted, is
      deleted: a deleted `version` is queued into `VersionQueue`;
    - each multipart upload of the old entry that the new one dropped, completed or aborted is
      deleted: a deleted `multipart_upload` is queued into `MpuQueue`.

    @tparam VersionQueue Models @ref garage::model::entry_queue of @ref garage::model::version; the version
   table.
    @tparam MpuQueue     Models @ref garage::model::entry_queue of @ref garage::model::multipart_upload; the
   mpu table.
    @tparam Counter      Models @ref garage::model::item_counter of @ref garage::model::object; the
   `bucket_object_counter`.
*/
template <entry_queue<version> VersionQueue, entry_queue<multipart_upload> MpuQueue,
          item_counter<object> Counter>
requires std::same_as<typename VersionQueue::transaction_type, typename MpuQueue::transaction_type> &&
    std::same_as<typename VersionQueue::transaction_type, typename Counter::transaction_type>
class object_schema {
public:
    /// Garage's table name.
    static constexpr std::string_view table_name = "object";
    using partition_key_type = util::uuid;                            ///< the bucket id
    using sort_key_type = std::string;                                ///< the object key
    using entry_type = object;                                        ///< the entry
    using filter_type = object_filter;                                ///< data or uploads
    using transaction_type = typename VersionQueue::transaction_type; ///< the hook's transaction

    /** @param versions Where version deletions go.
        @param mpus     Where multipart-upload deletions go.
        @param counter  The object counter.
        All three must outlive the schema and its table. */
    object_schema(VersionQueue& versions, MpuQueue& mpus, Counter& counter) noexcept
        : versions_(std::addressof(versions)), mpus_(std::addressof(mpus)), counter_(std::addressof(counter))
    {
    }

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(object const& e, object_filter const& f) noexcept;

    /** The hook (see the class comment).
        @param tx  The write's transaction.
        @param old The entry before the write, or null.
        @param now The entry after the write, or null.
        @return The first error, which aborts the write. */
    util::result<void> updated(transaction_type& tx, object const* old, object const* now);

private:
    VersionQueue* versions_;
    MpuQueue* mpus_;
    Counter* counter_;
};

} // namespace garage::model

#include <garage/model/impl/object.hpp>
