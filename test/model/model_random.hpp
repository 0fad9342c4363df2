#pragma once
// Random values of the model's CRDT entries for the property tests of test/model/, drawn from
// small domains (see test/support/crdt_random.hpp) so that equal ids, timestamps and values
// are common. Entries whose merge normalises (deleted versions drop their blocks, objects drop
// versions older than the last complete one) are built through their constructors, so that
// every drawn value is one a merge could produce.

#include <garage/model/bucket.hpp>
#include <garage/model/counter.hpp>
#include <garage/model/key.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/permission.hpp>
#include <garage/model/version.hpp>

#include <test/support/crdt_random.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace garage::test {

/// A uuid from a pool of `n` (its first byte is the index).
inline util::uuid pool_uuid(std::uint64_t i)
{
    util::uuid u;
    u[0] = static_cast<std::uint8_t>(i + 1);
    return u;
}

/// A hash from a pool (its first byte is the index).
inline util::hash32 pool_hash(std::uint64_t i)
{
    util::hash32 h;
    h[0] = static_cast<std::uint8_t>(i + 1);
    return h;
}

template <>
struct random_crdt<model::bucket_key_perm> {
    static model::bucket_key_perm make(crdt_rng& rng)
    {
        return {random_timestamp(rng), random_value<bool>(rng), random_value<bool>(rng),
                random_value<bool>(rng)};
    }
};

template <>
struct random_crdt<model::bucket_quotas> {
    static model::bucket_quotas make(crdt_rng& rng)
    {
        model::bucket_quotas q;
        if (random_value<bool>(rng)) {
            q.max_size = random_between(rng, 1, 3) * 1000;
        }
        if (random_value<bool>(rng)) {
            q.max_objects = random_between(rng, 1, 3);
        }
        return q;
    }
};

template <>
struct random_crdt<model::website_config> {
    static model::website_config make(crdt_rng& rng)
    {
        model::website_config w;
        w.index_document = random_value<bool>(rng) ? "index.html" : "home.html";
        if (random_value<bool>(rng)) {
            w.error_document = "error.html";
        }
        if (random_between(rng, 0, 3) == 0) {
            w.redirect_all_requests_to = model::website_redirect_all{"example.com", "https"};
        }
        return w;
    }
};

template <>
struct random_crdt<std::vector<model::cors_rule>> {
    static std::vector<model::cors_rule> make(crdt_rng& rng)
    {
        std::vector<model::cors_rule> out;
        for (auto n = random_between(rng, 0, 2); n > 0; --n) {
            model::cors_rule r;
            r.allow_origins = {random_value<bool>(rng) ? "*" : "https://a.example"};
            r.allow_methods = {"GET"};
            out.push_back(r);
        }
        return out;
    }
};

template <>
struct random_crdt<std::vector<model::lifecycle_rule>> {
    static std::vector<model::lifecycle_rule> make(crdt_rng& rng)
    {
        std::vector<model::lifecycle_rule> out;
        for (auto n = random_between(rng, 0, 2); n > 0; --n) {
            model::lifecycle_rule r;
            r.filter.prefix = random_value<bool>(rng) ? "logs/" : "tmp/";
            if (random_value<bool>(rng)) {
                r.expiration = model::expire_after_days{random_between(rng, 1, 3)};
            } else {
                r.expiration = model::expire_at_date{"2030-01-01"};
            }
            out.push_back(r);
        }
        return out;
    }
};

template <>
struct random_crdt<model::local_alias_key> {
    static model::local_alias_key make(crdt_rng& rng)
    {
        return {"GK" + std::to_string(random_between(rng, 0, 2)),
                "n" + std::to_string(random_between(rng, 0, 3))};
    }
};

template <>
struct random_crdt<model::bucket_params> {
    static model::bucket_params make(crdt_rng& rng)
    {
        model::bucket_params p;
        p.creation_date = random_timestamp(rng);
        p.authorized_keys = random_value<decltype(p.authorized_keys)>(rng);
        p.aliases = random_value<decltype(p.aliases)>(rng);
        p.local_aliases = random_value<decltype(p.local_aliases)>(rng);
        p.website_config = random_value<decltype(p.website_config)>(rng);
        p.cors_config = random_value<decltype(p.cors_config)>(rng);
        p.lifecycle_config = random_value<decltype(p.lifecycle_config)>(rng);
        p.quotas = random_value<decltype(p.quotas)>(rng);
        return p;
    }
};

template <>
struct random_crdt<model::version_block_key> {
    static model::version_block_key make(crdt_rng& rng)
    {
        return {random_between(rng, 1, 3), random_between(rng, 0, 2) * 1024};
    }
};

template <>
struct random_crdt<model::version_block> {
    static model::version_block make(crdt_rng& rng)
    {
        return {pool_hash(random_between(rng, 0, 3)), random_between(rng, 1, 2) * 1024};
    }
};

template <>
struct random_crdt<model::version> {
    static model::version make(crdt_rng& rng)
    {
        auto const id = pool_uuid(0);
        model::version_backlink const link =
            random_between(rng, 0, 3) == 0
                ? model::version_backlink(model::mpu_backlink{pool_uuid(1)})
                : model::version_backlink(model::object_backlink{pool_uuid(2), "k"});
        auto v = model::version::create(id, link);
        v.blocks = random_value<decltype(v.blocks)>(rng);
        if (random_between(rng, 0, 3) == 0) {
            crdt::merge(v, model::version::tombstone(id, link)); // normalised: no block left
        }
        return v;
    }
};

template <>
struct random_crdt<model::mpu_part_key> {
    static model::mpu_part_key make(crdt_rng& rng)
    {
        return {random_between(rng, 1, 3), random_timestamp(rng)};
    }
};

template <>
struct random_crdt<model::mpu_part> {
    static model::mpu_part make(crdt_rng& rng)
    {
        model::mpu_part p;
        p.version = pool_uuid(random_between(rng, 0, 1));
        if (random_value<bool>(rng)) {
            p.etag = random_value<bool>(rng) ? "aa" : "bb";
        }
        if (random_value<bool>(rng)) {
            p.size = random_between(rng, 1, 3);
        }
        if (random_between(rng, 0, 2) == 0) {
            p.checksum = model::checksum_value{model::checksum_algorithm::crc32,
                                               random_value<bool>(rng) ? "abcd" : "abce"};
        }
        return p;
    }
};

template <>
struct random_crdt<model::multipart_upload> {
    static model::multipart_upload make(crdt_rng& rng)
    {
        auto u = model::multipart_upload::create(pool_uuid(0), 7, pool_uuid(1), "key");
        u.parts = random_value<decltype(u.parts)>(rng);
        if (random_between(rng, 0, 3) == 0) {
            crdt::merge(u, model::multipart_upload::tombstone(pool_uuid(0), 7, pool_uuid(1), "key"));
        }
        return u;
    }
};

template <>
struct random_crdt<model::node_count> {
    static model::node_count make(crdt_rng& rng)
    {
        return {random_timestamp(rng), static_cast<std::int64_t>(random_between(rng, 0, 3))};
    }
};

template <class Def>
struct random_crdt<model::counter_entry<Def>> {
    static model::counter_entry<Def> make(crdt_rng& rng)
    {
        model::counter_entry<Def> e;
        for (auto n = random_between(rng, 0, 3); n > 0; --n) {
            typename model::counter_entry<Def>::node_values nodes;
            for (auto k = random_between(rng, 0, 3); k > 0; --k) {
                util::node_id node;
                node[0] = static_cast<std::uint8_t>(random_between(rng, 0, 2));
                nodes.put(node, random_value<model::node_count>(rng));
            }
            e.values.put("c" + std::to_string(random_between(rng, 0, 2)), nodes);
        }
        return e;
    }
};

/** Object versions drawn from a fixed universe of five: version `i` has a fixed id and
    timestamp (versions 1 and 2 share a timestamp, so the id breaks the tie) and a fixed fate:
    even versions may complete, odd ones may be aborted, never both — the histories Garage
    produces, on which the object merge is a CRDT. */
struct object_universe {
    static constexpr std::uint64_t size = 5;
    static constexpr std::uint64_t timestamps[size] = {10, 20, 20, 30, 40};

    static model::object_version_data random_data(crdt_rng& rng, std::uint64_t i)
    {
        model::object_version_meta meta;
        meta.size = 100 * (i + 1);
        meta.etag = random_value<bool>(rng) ? "e1" : "e2";
        meta.encryption = model::encryption_plaintext{{{{"content-type", "text/plain"}}, std::nullopt}};
        switch (random_between(rng, 0, 2)) {
        case 0:
            return model::delete_marker{};
        case 1:
            return model::inline_data{meta, "data"};
        default:
            return model::first_block{meta, pool_hash(i)};
        }
    }

    static model::object_version random_version(crdt_rng& rng, std::uint64_t i)
    {
        model::object_version v{pool_uuid(i), timestamps[i], model::version_uploading{}};
        if (random_value<bool>(rng)) {
            auto& u = std::get<model::version_uploading>(v.state);
            u.multipart = i == 3;
            return v;
        }
        if (i % 2 == 0) {
            v.state = model::version_complete{random_data(rng, i)};
        } else {
            v.state = model::version_aborted{};
        }
        return v;
    }
};

template <>
struct random_crdt<model::object> {
    static model::object make(crdt_rng& rng)
    {
        std::vector<model::object_version> versions;
        for (std::uint64_t i = 0; i < object_universe::size; ++i) {
            if (random_between(rng, 0, 2) == 0) {
                versions.push_back(object_universe::random_version(rng, i));
            }
        }
        return model::object(pool_uuid(9), "photos/cat.jpg", std::move(versions));
    }
};

} // namespace garage::test
