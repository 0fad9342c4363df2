#pragma once
/** @file
    Operations on buckets, aliases and keys that keep the tables consistent with each other
    (Garage's `helper/bucket.rs` and `helper/key.rs`): used by the S3 API (CreateBucket,
    DeleteBucket) and the admin API alike.
*/

#include <garage/model/bucket.hpp>
#include <garage/model/bucket_alias.hpp>
#include <garage/model/error.hpp>
#include <garage/model/key.hpp>
#include <garage/model/object.hpp>
#include <garage/model/permission.hpp>
#include <garage/util/error.hpp>
#include <garage/util/time.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::model {

/** The key with id `key_id`, if it exists and is not deleted.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param key_id The access key id.
    @return The key; `nullopt` if there is none or it is deleted; a storage error. */
template <class Model>
util::result<std::optional<access_key>> get_key(Model& m, std::string_view key_id)
{
    auto k = m.key_table().get(table::empty_key{}, std::string(key_id));
    if (!k) {
        return k.error();
    }
    if (!*k || (*k)->is_deleted()) {
        return std::optional<access_key>();
    }
    return std::move(*k);
}

/** The bucket a global alias points to, if any.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param name   The alias.
    @return The bucket id; `nullopt` if the alias does not exist or points nowhere; a storage
            error. */
template <class Model>
util::result<std::optional<util::uuid>> resolve_global_alias(Model& m, std::string_view name)
{
    auto a = m.bucket_alias_table().get(table::empty_key{}, std::string(name));
    if (!a) {
        return a.error();
    }
    if (!*a || (*a)->is_deleted()) {
        return std::optional<util::uuid>();
    }
    return (*a)->state.get();
}

/** The bucket a request names: the key's local alias first, then the global alias.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param name   The bucket name in the request.
    @param key    The request's access key; `nullptr` for an anonymous request (global aliases
                  only).
    @return The bucket id; `nullopt` if no alias of that name is set; a storage error. */
template <class Model>
util::result<std::optional<util::uuid>> resolve_bucket(Model& m, std::string_view name, access_key const* key)
{
    if (key != nullptr && key->params() != nullptr) {
        if (auto const* local = key->params()->local_aliases.get(std::string(name)); local && *local) {
            return std::optional<util::uuid>(**local);
        }
    }
    return resolve_global_alias(m, name);
}

/** The bucket with id `id`, if it exists and is not deleted.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket id.
    @return The bucket; `nullopt` if there is none or it is deleted; a storage error. */
template <class Model>
util::result<std::optional<bucket>> get_bucket(Model& m, util::uuid const& id)
{
    auto b = m.bucket_table().get(table::empty_key{}, id);
    if (!b) {
        return b.error();
    }
    if (!*b || (*b)->is_deleted()) {
        return std::optional<bucket>();
    }
    return std::move(*b);
}

/** Points global alias `name` at bucket `id` (both the alias table and the bucket's list).
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @param name   The alias, a valid bucket name.
    @param allow_punycode Whether names with `xn--` labels are accepted.
    @return Success (also when the alias already points to `id`); `error::invalid_bucket_name`
            on an invalid name; `error::bucket_already_exists` if the alias points to another
            bucket; `error::no_such_bucket` if `id` does not exist; a storage error. */
template <class Model>
util::result<void> set_global_alias(Model& m, util::uuid const& id, std::string const& name,
                                    bool allow_punycode = false)
{
    if (!is_valid_bucket_name(name, allow_punycode)) {
        return util::failure(error::invalid_bucket_name, "Invalid bucket name: " + name);
    }
    auto existing = resolve_global_alias(m, name);
    if (!existing) {
        return existing.error();
    }
    if (*existing && **existing != id) {
        return util::failure(error::bucket_already_exists, "Bucket already exists: " + name);
    }
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (!*b) {
        return util::failure(error::no_such_bucket, "Bucket not found: " + id.to_hex());
    }
    auto const now = util::now_msec();
    if (auto r = m.bucket_alias_table().insert(bucket_alias::make(name, now, id)); !r) {
        return r;
    }
    auto& bk = **b;
    bk.params_mut()->aliases.update_in_place(name, true);
    return m.bucket_table().insert(bk);
}

/** Removes global alias `name` from bucket `id` (both the alias table and the bucket's list).
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @param name   The alias.
    @return Success; `error::no_such_bucket` if the alias does not point to `id`; a storage
            error. */
template <class Model>
util::result<void> unset_global_alias(Model& m, util::uuid const& id, std::string const& name)
{
    auto existing = resolve_global_alias(m, name);
    if (!existing) {
        return existing.error();
    }
    if (!*existing || **existing != id) {
        return util::failure(error::no_such_bucket, "Bucket " + id.to_hex() + " has no alias " + name);
    }
    if (auto r = m.bucket_alias_table().insert(bucket_alias::make(name, util::now_msec(), std::nullopt));
        !r) {
        return r;
    }
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (*b) {
        (*b)->params_mut()->aliases.update_in_place(name, false);
        return m.bucket_table().insert(**b);
    }
    return {};
}

/** Points the local alias `name` of key `key_id` at bucket `id` (on both the key and the
    bucket).
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @param key_id The access key id.
    @param name   The alias, a valid bucket name.
    @param allow_punycode Whether names with `xn--` labels are accepted.
    @return Success; `error::invalid_bucket_name` on an invalid name; `error::no_such_key`;
            `error::bucket_already_exists` if the key's alias points to another bucket;
            `error::no_such_bucket`; a storage error. */
template <class Model>
util::result<void> set_local_alias(Model& m, util::uuid const& id, std::string const& key_id,
                                   std::string const& name, bool allow_punycode = false)
{
    if (!is_valid_bucket_name(name, allow_punycode)) {
        return util::failure(error::invalid_bucket_name, "Invalid bucket name: " + name);
    }
    auto k = get_key(m, key_id);
    if (!k) {
        return k.error();
    }
    if (!*k) {
        return util::failure(error::no_such_key, "Key not found: " + key_id);
    }
    if (auto const* cur = (*k)->params()->local_aliases.get(name); cur && *cur && **cur != id) {
        return util::failure(error::bucket_already_exists, "Local alias already exists: " + name);
    }
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (!*b) {
        return util::failure(error::no_such_bucket, "Bucket not found: " + id.to_hex());
    }
    (*k)->params_mut()->local_aliases.update_in_place(name, id);
    if (auto r = m.key_table().insert(**k); !r) {
        return r;
    }
    (*b)->params_mut()->local_aliases.update_in_place(local_alias_key{key_id, name}, true);
    return m.bucket_table().insert(**b);
}

/** Removes the local alias `name` of key `key_id` (from the key, and from bucket `id`'s list
    if the bucket exists). The key's alias is removed whatever bucket it pointed to.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket the alias pointed to.
    @param key_id The access key id.
    @param name   The alias.
    @return Success; `error::no_such_key`; a storage error. */
template <class Model>
util::result<void> unset_local_alias(Model& m, util::uuid const& id, std::string const& key_id,
                                     std::string const& name)
{
    auto k = get_key(m, key_id);
    if (!k) {
        return k.error();
    }
    if (!*k) {
        return util::failure(error::no_such_key, "Key not found: " + key_id);
    }
    (*k)->params_mut()->local_aliases.update_in_place(name, std::nullopt);
    if (auto r = m.key_table().insert(**k); !r) {
        return r;
    }
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (*b) {
        (*b)->params_mut()->local_aliases.update_in_place(local_alias_key{key_id, name}, false);
        return m.bucket_table().insert(**b);
    }
    return {};
}

/** Sets the permissions of key `key_id` on bucket `id`, on both sides (bucket and key), with
    a timestamp later than the key's current one for the bucket, so that they win the merge.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @param key_id The access key id.
    @param perm   The permissions (read, write, owner); its timestamp is set here.
    @return Success; `error::no_such_key`; `error::no_such_bucket`; a storage error. */
template <class Model>
util::result<void> set_bucket_key_permissions(Model& m, util::uuid const& id, std::string const& key_id,
                                              bucket_key_perm perm)
{
    auto k = get_key(m, key_id);
    if (!k) {
        return k.error();
    }
    if (!*k) {
        return util::failure(error::no_such_key, "Key not found: " + key_id);
    }
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (!*b) {
        return util::failure(error::no_such_bucket, "Bucket not found: " + id.to_hex());
    }
    perm.timestamp = util::now_msec();
    if (auto const* old = (*k)->params()->authorized_buckets.get(id);
        old && old->timestamp >= perm.timestamp) {
        perm.timestamp = old->timestamp + 1;
    }
    (*b)->params_mut()->authorized_keys.put(key_id, perm);
    if (auto r = m.bucket_table().insert(**b); !r) {
        return r;
    }
    (*k)->params_mut()->authorized_buckets.put(id, perm);
    return m.key_table().insert(**k);
}

/** Creates a bucket, optionally with a global alias (checked free first).
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param global_alias The bucket's global alias, if any.
    @param allow_punycode Whether names with `xn--` labels are accepted.
    @return The new bucket's id; `error::invalid_bucket_name`; `error::bucket_already_exists`
            if the alias is taken; a storage error. */
template <class Model>
util::result<util::uuid> create_bucket(Model& m, std::optional<std::string> const& global_alias,
                                       bool allow_punycode = false)
{
    if (global_alias) {
        if (!is_valid_bucket_name(*global_alias, allow_punycode)) {
            return util::failure(error::invalid_bucket_name, "Invalid bucket name: " + *global_alias);
        }
        auto existing = resolve_global_alias(m, *global_alias);
        if (!existing) {
            return existing.error();
        }
        if (*existing) {
            return util::failure(error::bucket_already_exists, "Bucket already exists: " + *global_alias);
        }
    }
    auto b = bucket::create();
    if (auto r = m.bucket_table().insert(b); !r) {
        return r.error();
    }
    if (global_alias) {
        if (auto r = set_global_alias(m, b.id, *global_alias, allow_punycode); !r) {
            return r.error();
        }
    }
    return b.id;
}

/** Lists the buckets that are not deleted.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @return The buckets (at most 2^20), by id; a storage error. */
template <class Model>
util::result<std::vector<bucket>> list_buckets(Model& m)
{
    return m.bucket_table().get_range(table::empty_key{}, std::nullopt, deleted_filter::not_deleted,
                                      std::size_t(1) << 20);
}

/** Lists the keys that are not deleted.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @return The keys (at most 2^20), by key id; a storage error. */
template <class Model>
util::result<std::vector<access_key>> list_keys(Model& m)
{
    return m.key_table().get_range(table::empty_key{}, std::nullopt, key_filter(deleted_filter::not_deleted),
                                   std::size_t(1) << 20);
}

/** Whether a bucket holds no object (complete or uploading).
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @return True when none of the bucket's first 16 object entries is live (entries that are
            tombstones are skipped); a storage error. */
template <class Model>
util::result<bool> bucket_is_empty(Model& m, util::uuid const& id)
{
    for (auto const f : {object_filter::is_data(), object_filter::is_uploading()}) {
        auto objs = m.object_table().get_range(id, std::nullopt, f, 1);
        if (!objs) {
            return objs.error();
        }
        if (!objs->empty()) {
            return false;
        }
    }
    return true;
}

/** Deletes an empty bucket: its global and local aliases are removed, its permissions revoked.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param id     The bucket.
    @return Success; `error::no_such_bucket`; a conflict (`error::bucket_not_empty`) if it
            holds objects; a storage error. */
template <class Model>
util::result<void> delete_bucket(Model& m, util::uuid const& id)
{
    auto b = get_bucket(m, id);
    if (!b) {
        return b.error();
    }
    if (!*b) {
        return util::failure(error::no_such_bucket, "Bucket not found: " + id.to_hex());
    }
    auto empty = bucket_is_empty(m, id);
    if (!empty) {
        return empty.error();
    }
    if (!*empty) {
        return util::failure(error::bucket_not_empty, "Bucket not empty");
    }
    for (auto const& a : (*b)->params()->aliases.items()) {
        if (a.value) {
            if (auto r = unset_global_alias(m, id, a.key); !r && !r.error().is(util::condition::not_found)) {
                return r;
            }
        }
    }
    for (auto const& a : (*b)->params()->local_aliases.items()) {
        if (a.value) {
            (void)unset_local_alias(m, id, a.key.key_id, a.key.name);
        }
    }
    for (auto const& p : (*b)->authorized_keys()) {
        (void)set_bucket_key_permissions(m, id, p.key, bucket_key_perm::none());
    }
    return m.bucket_table().insert(bucket::deleted(id));
}

/** Deletes a key: its permissions and local aliases are removed from the buckets first.
    @tparam Model A @ref garage::model::basic_model.
    @param m      The model (its tables).
    @param key_id The access key id.
    @return Success; `error::no_such_key`; a storage error. */
template <class Model>
util::result<void> delete_key(Model& m, std::string const& key_id)
{
    auto k = get_key(m, key_id);
    if (!k) {
        return k.error();
    }
    if (!*k) {
        return util::failure(error::no_such_key, "Key not found: " + key_id);
    }
    for (auto const& p : (*k)->params()->authorized_buckets.items()) {
        (void)set_bucket_key_permissions(m, p.key, key_id, bucket_key_perm::none());
    }
    for (auto const& a : (*k)->params()->local_aliases.items()) {
        if (a.value) {
            (void)unset_local_alias(m, *a.value, key_id, a.key);
        }
    }
    return m.key_table().insert(access_key::deleted(key_id));
}

} // namespace garage::model
