#pragma once
// Bucket quotas (GARAGE-REFERENCE §1.14): checked by PutObject, CopyObject, PostObject and
// CompleteMultipartUpload once the new version's size is known and before it becomes complete.

#include <garage/api/s3/detail/common.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/object.hpp>
#include <garage/table/schema.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace garage::api::s3::detail {

/// The objects and bytes a bucket holds, as its object counter says.
struct bucket_usage {
    std::int64_t objects = 0; ///< objects with data
    std::int64_t bytes = 0;   ///< bytes of their data
};

/** The usage of a bucket: the replicated `bucket_object_counter` entry merged with this node's
    own (fresher) counts, then the maximum over the nodes (Garage's eventually consistent read).
    @return The usage (zero if nothing was ever counted). */
template <class Ctx>
bucket_usage read_bucket_usage(Ctx& c)
{
    auto& counter = c.model.object_counter();
    auto entry = value_or_fail(counter.get(c.bucket_id, table::empty_key{}));
    if (auto local = value_or_fail(counter.get_local(c.bucket_id, table::empty_key{}))) {
        if (entry) {
            entry->merge(*local);
        } else {
            entry = std::move(local);
        }
    }
    bucket_usage u;
    if (entry) {
        u.objects = entry->get("objects").value_or(0);
        u.bytes = entry->get("bytes").value_or(0);
    }
    return u;
}

/** The quota a new version of `key` of `size` bytes would exceed, if any.

    Only increases are refused: replacing an object does not add an object, and adds only the
    difference of the sizes.
    @return The `403 AccessDenied (as Garage)` error to answer, or nullopt. */
template <class Ctx>
std::optional<s3_error> quota_violation(Ctx& c, std::string const& key, std::uint64_t size)
{
    auto b = value_or_fail(model::get_bucket(c.model, c.bucket_id));
    if (!b || b->params() == nullptr) {
        return std::nullopt;
    }
    auto const& q = b->params()->quotas.get();
    if (!q.max_size && !q.max_objects) {
        return std::nullopt;
    }
    std::int64_t added_objects = 1;
    std::int64_t added_bytes = static_cast<std::int64_t>(size);
    if (auto obj = value_or_fail(c.model.object_table().get(c.bucket_id, key))) {
        if (auto const* v = obj->last_complete(); v != nullptr && v->is_data()) {
            added_objects = 0;
            if (auto const* m = v->meta()) {
                added_bytes -= static_cast<std::int64_t>(m->size);
            }
        }
    }
    auto const u = read_bucket_usage(c);
    if (q.max_objects && added_objects > 0 &&
        u.objects + added_objects > static_cast<std::int64_t>(*q.max_objects)) {
        return s3_error{"AccessDenied", 403,
                        "Object quota is reached, maximum objects for this bucket: " +
                            std::to_string(*q.max_objects)};
    }
    if (q.max_size && added_bytes > 0 && u.bytes + added_bytes > static_cast<std::int64_t>(*q.max_size)) {
        return s3_error{"AccessDenied", 403,
                        "Bucket size quota is reached, maximum total size of objects for this bucket: " +
                            std::to_string(*q.max_size) + ". The bucket is already " +
                            std::to_string(u.bytes) + " bytes, and this object would add " +
                            std::to_string(added_bytes) + " bytes."};
    }
    return std::nullopt;
}

/** Refuses (throws `403 AccessDenied (as Garage)`) a new version of `key` of `size` bytes that would
    exceed the bucket's quotas. Call it before the version becomes complete. */
template <class Ctx>
void check_quotas(Ctx& c, std::string const& key, std::uint64_t size)
{
    if (auto e = quota_violation(c, key, size)) {
        fail(std::move(*e));
    }
}

/** As @ref check_quotas, first marking the uploading version (`vid`, `timestamp`) of `key`
    aborted when refused: it never becomes visible and its blocks are released. */
template <class Ctx>
net::awaitable<void> check_quotas_or_abort(Ctx& c, std::string key, std::uint64_t size, util::uuid vid,
                                           std::uint64_t timestamp)
{
    if (auto e = quota_violation(c, key, size)) {
        model::object const aborted(c.bucket_id, key,
                                    {model::object_version{vid, timestamp, model::version_aborted{}}});
        auto write = [&c, &aborted] { check(c.model.object_table().insert(aborted)); };
        co_await write_replicated(c, write);
        fail(std::move(*e));
    }
}

} // namespace garage::api::s3::detail
