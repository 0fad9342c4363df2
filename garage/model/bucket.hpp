#pragma once
/** @file
    The `bucket_v2` table: buckets, their permissions, aliases and configuration.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/deletable.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/crdt/lww_map.hpp>
#include <garage/crdt/map.hpp>
#include <garage/model/permission.hpp>
#include <garage/model/types.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>

#include <boost/describe/class.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace garage::model {

// ---- website configuration --------------------------------------------------------------------

/** `RedirectAllRequestsTo` of a website configuration: every request goes to another host. */
struct website_redirect_all {
    std::string host_name;               ///< the host to redirect to
    std::optional<std::string> protocol; ///< `http` or `https`; the request's if absent

    /// Equal when every field is equal.
    friend bool operator==(website_redirect_all const&, website_redirect_all const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("host_name", host_name), cereal::make_nvp("protocol", protocol));
    }
};

/** The `Condition` of a website routing rule; absent members always match. */
struct website_routing_condition {
    std::optional<std::string> key_prefix_equals;                 ///< the key starts with this
    std::optional<std::uint16_t> http_error_code_returned_equals; ///< the response would be this error

    /// Equal when every field is equal.
    friend bool operator==(website_routing_condition const&, website_routing_condition const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("key_prefix_equals", key_prefix_equals),
           cereal::make_nvp("http_error_code_returned_equals", http_error_code_returned_equals));
    }
};

/** The `Redirect` of a website routing rule. */
struct website_redirect {
    std::optional<std::string> host_name;               ///< the host to redirect to
    std::optional<std::string> protocol;                ///< `http` or `https`
    std::optional<std::string> replace_key_prefix_with; ///< replaces the matched prefix
    std::optional<std::string> replace_key_with;        ///< replaces the whole key
    std::optional<std::uint16_t> http_redirect_code;    ///< 3xx code; 301 if absent

    /// Equal when every field is equal.
    friend bool operator==(website_redirect const&, website_redirect const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("host_name", host_name), cereal::make_nvp("protocol", protocol),
           cereal::make_nvp("replace_key_prefix_with", replace_key_prefix_with),
           cereal::make_nvp("replace_key_with", replace_key_with),
           cereal::make_nvp("http_redirect_code", http_redirect_code));
    }
};

/** One `RoutingRule` of a website configuration. */
struct website_routing_rule {
    website_routing_condition condition; ///< when the rule applies
    website_redirect redirect;           ///< what it does

    /// Equal when every field is equal.
    friend bool operator==(website_routing_rule const&, website_routing_rule const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("condition", condition), cereal::make_nvp("redirect", redirect));
    }
};

/** The static-website configuration of a bucket (reference §1.16, §2). Garage 1.x stores only
    the index and error documents; the redirect members leave room for `RedirectAllRequestsTo`
    and `RoutingRules`. */
struct website_config {
    std::string index_document = "index.html";                    ///< the suffix served for directories
    std::optional<std::string> error_document;                    ///< the key served on errors
    std::optional<website_redirect_all> redirect_all_requests_to; ///< redirect everything
    std::vector<website_routing_rule> routing_rules;              ///< conditional redirects, in order

    /// Equal when every field is equal.
    friend bool operator==(website_config const&, website_config const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("index_document", index_document),
           cereal::make_nvp("error_document", error_document),
           cereal::make_nvp("redirect_all_requests_to", redirect_all_requests_to),
           cereal::make_nvp("routing_rules", routing_rules));
    }
};

// ---- CORS and lifecycle ---------------------------------------------------------------------------

/** One CORS rule of a bucket (reference §1.15; Garage's `CorsRule`). */
struct cors_rule {
    std::optional<std::string> id;                ///< the rule's `ID`
    std::optional<std::uint64_t> max_age_seconds; ///< `MaxAgeSeconds`
    std::vector<std::string> allow_origins;       ///< `AllowedOrigin`s (`*` allowed)
    std::vector<std::string> allow_methods;       ///< `AllowedMethod`s
    std::vector<std::string> allow_headers;       ///< `AllowedHeader`s
    std::vector<std::string> expose_headers;      ///< `ExposeHeader`s

    /// Equal when every field is equal.
    friend bool operator==(cors_rule const&, cors_rule const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("id", id), cereal::make_nvp("max_age_seconds", max_age_seconds),
           cereal::make_nvp("allow_origins", allow_origins), cereal::make_nvp("allow_methods", allow_methods),
           cereal::make_nvp("allow_headers", allow_headers),
           cereal::make_nvp("expose_headers", expose_headers));
    }
};

/** The conditions of a lifecycle rule, all of which must hold; absent ones always hold. */
struct lifecycle_filter {
    std::optional<std::string> prefix;    ///< the key starts with this
    std::optional<std::uint64_t> size_gt; ///< the object is larger than this
    std::optional<std::uint64_t> size_lt; ///< the object is smaller than this

    /// Equal when every field is equal.
    friend bool operator==(lifecycle_filter const&, lifecycle_filter const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("prefix", prefix), cereal::make_nvp("size_gt", size_gt),
           cereal::make_nvp("size_lt", size_lt));
    }
};

/// Objects expire this many days after their creation.
struct expire_after_days {
    std::uint64_t days = 0; ///< the number of days
    /// Equal when the days are equal.
    friend bool operator==(expire_after_days const&, expire_after_days const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("days", days));
    }
};

/// Objects expire at a date, `yyyy-mm-dd`.
struct expire_at_date {
    std::string date; ///< the date
    /// Equal when the dates are equal.
    friend bool operator==(expire_at_date const&, expire_at_date const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("date", date));
    }
};

/// The expiration policy of a lifecycle rule.
using lifecycle_expiration = std::variant<expire_after_days, expire_at_date>;

/** One lifecycle rule of a bucket (reference §1.17; Garage's `LifecycleRule`). */
struct lifecycle_rule {
    std::optional<std::string> id;                          ///< the rule's `ID`
    bool enabled = true;                                    ///< whether the rule applies
    lifecycle_filter filter;                                ///< which objects it applies to
    std::optional<std::uint64_t> abort_incomplete_mpu_days; ///< abort unfinished uploads after this many days
    std::optional<lifecycle_expiration> expiration;         ///< when objects expire

    /// Equal when every field is equal.
    friend bool operator==(lifecycle_rule const&, lifecycle_rule const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("id", id), cereal::make_nvp("enabled", enabled),
           cereal::make_nvp("filter", filter),
           cereal::make_nvp("abort_incomplete_mpu_days", abort_incomplete_mpu_days),
           cereal::make_nvp("expiration", expiration));
    }
};

/** The quotas of a bucket (reference §1.14); absent means unlimited. */
struct bucket_quotas {
    std::optional<std::uint64_t> max_size;    ///< the largest total size of the objects, in bytes
    std::optional<std::uint64_t> max_objects; ///< the largest number of objects

    /// Ordered field by field, so that a merge can keep the maximum.
    friend auto operator<=>(bucket_quotas const&, bucket_quotas const&) = default;
    /// Equal when every field is equal.
    friend bool operator==(bucket_quotas const&, bucket_quotas const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("max_size", max_size), cereal::make_nvp("max_objects", max_objects));
    }
};

} // namespace garage::model

/// Two quotas written in the same millisecond merge to the larger (Garage: `AutoCrdt`).
template <>
inline constexpr bool garage::crdt::enable_auto_crdt<garage::model::bucket_quotas> = true;

namespace garage::model {

// ---- the bucket entry -----------------------------------------------------------------------------

/** The key of a bucket's local alias: an access key id and the alias name in its namespace. */
struct local_alias_key {
    std::string key_id; ///< the access key whose namespace holds the alias
    std::string name;   ///< the alias

    /// Ordered by key id, then name.
    friend auto operator<=>(local_alias_key const&, local_alias_key const&) = default;
    /// Equal when both fields are equal.
    friend bool operator==(local_alias_key const&, local_alias_key const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("key_id", key_id), cereal::make_nvp("name", name));
    }
};

/** The state of a bucket that is not deleted (Garage's `BucketParams`).

    Merged member by member: the earliest creation date, the union of authorized keys and
    aliases with their own rules, each configuration by last writer. The alias maps are not
    authoritative (the `bucket_alias` table and the keys' `local_aliases` are): they let
    ListBuckets map a bucket back to its names.
*/
struct bucket_params {
    /// Milliseconds since the Unix epoch of the creation; merges to the earliest.
    std::uint64_t creation_date = 0;
    /// The keys with access, by key id.
    crdt::map<std::string, bucket_key_perm> authorized_keys;
    /// Global aliases that are (`true`) or were (`false`) names of this bucket.
    crdt::lww_map<std::string, bool> aliases;
    /// Local aliases that are (`true`) or were (`false`) names of this bucket.
    crdt::lww_map<local_alias_key, bool> local_aliases;
    /// The website configuration; absent: website access disabled.
    crdt::lww<std::optional<model::website_config>> website_config;
    /// The CORS rules; absent: no CORS configuration.
    crdt::lww<std::optional<std::vector<cors_rule>>> cors_config;
    /// The lifecycle rules; absent: no lifecycle configuration.
    crdt::lww<std::optional<std::vector<lifecycle_rule>>> lifecycle_config;
    /// The quotas.
    crdt::lww<bucket_quotas> quotas;

    /** Parameters of a bucket created now, with no key, alias or configuration.
        @return The parameters. */
    static bucket_params create();

    /** Merges another state, member by member (the creation date keeps the earliest).
        @param other The state to merge in. */
    void merge(bucket_params const& other);

    /// Equal when every member is equal.
    friend bool operator==(bucket_params const&, bucket_params const&) = default;

    /** cereal: every member in declaration order.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("creation_date", creation_date),
           cereal::make_nvp("authorized_keys", authorized_keys), cereal::make_nvp("aliases", aliases),
           cereal::make_nvp("local_aliases", local_aliases),
           cereal::make_nvp("website_config", website_config), cereal::make_nvp("cors_config", cors_config),
           cereal::make_nvp("lifecycle_config", lifecycle_config), cereal::make_nvp("quotas", quotas));
    }
};

/** A bucket (Garage's `Bucket`): a random id and its state, present or deleted for ever.

    A deleted bucket is never a tombstone of the table: its id stays known so that it is never
    reused by a replica that has not heard of the deletion.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct bucket {
    util::uuid id;                        ///< the bucket's identity (the sort key)
    crdt::deletable<bucket_params> state; ///< its parameters, or deleted

    /** A new bucket: random id, created now.
        @return The bucket. */
    static bucket create();
    /** A present bucket.
        @param id     Its id.
        @param params Its parameters.
        @return The bucket. */
    static bucket present(util::uuid const& id, bucket_params params);
    /** The deletion of a bucket, to merge into it.
        @param id Its id.
        @return The deleted bucket. */
    static bucket deleted(util::uuid const& id);

    /// @return Whether the bucket is deleted.
    bool is_deleted() const noexcept { return state.is_deleted(); }
    /// @return Its parameters, or null if deleted.
    bucket_params const* params() const noexcept { return state.get(); }
    /// @return Its parameters, or null if deleted; changes merge like any update.
    bucket_params* params_mut() noexcept { return state.get_mut(); }

    /// @return The permissions of every authorized key (empty if deleted).
    std::span<crdt::map<std::string, bucket_key_perm>::entry const> authorized_keys() const noexcept;

    /// @return The empty partition key: buckets live in one partition.
    table::empty_key const& partition_key() const noexcept { return no_key; }
    /// @return The bucket id.
    util::uuid const& sort_key() const noexcept { return id; }

    /// Equal when id and state are equal.
    friend bool operator==(bucket const&, bucket const&) = default;
};

/// @cond garage_describe
BOOST_DESCRIBE_STRUCT(bucket, (), (id, state))
/// @endcond

/** The schema of the `bucket_v2` table (full copy; partition: empty; sort: bucket id).
    No hook: a bucket's deletion does not cascade (the API empties it first). */
struct bucket_schema {
    /// Garage's table name.
    static constexpr std::string_view table_name = "bucket_v2";
    using partition_key_type = table::empty_key; ///< one partition
    using sort_key_type = util::uuid;            ///< the bucket id
    using entry_type = bucket;                   ///< the entry
    using filter_type = deleted_filter;          ///< by deletion state

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(bucket const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_deleted());
    }
};

} // namespace garage::model
