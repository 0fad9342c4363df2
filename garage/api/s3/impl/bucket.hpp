#pragma once
// Bucket handlers: ListBuckets, CreateBucket, DeleteBucket, GetBucketLocation,
// GetBucketVersioning, GetBucketAcl (GARAGE-REFERENCE §1.14).

#include <garage/api/s3/detail/common.hpp>
#include <garage/model/bucket_alias.hpp>
#include <garage/model/error.hpp>
#include <garage/model/helper.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace garage::api::s3::detail {

/// ListBuckets: the buckets the key has any permission on, by every name it sees them under.
template <class Ctx>
net::awaitable<void> handle_list_buckets(Ctx& c)
{
    std::vector<std::pair<std::string, std::uint64_t>> names;
    auto const* kp = c.key.params();
    for (auto const& ab : kp->authorized_buckets.items()) {
        if (!ab.value.is_any()) {
            continue;
        }
        auto b = value_or_fail(model::get_bucket(c.model, ab.key));
        if (!b) {
            continue;
        }
        auto const* bp = b->params();
        for (auto const& a : bp->aliases.items()) {
            if (!a.value) {
                continue;
            }
            auto target = value_or_fail(model::resolve_global_alias(c.model, a.key));
            if (target && *target == ab.key) {
                names.emplace_back(a.key, bp->creation_date);
            }
        }
        for (auto const& la : kp->local_aliases.items()) {
            if (la.value && *la.value == ab.key) {
                names.emplace_back(la.key, bp->creation_date);
            }
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end(),
                            [](auto const& a, auto const& b) { return a.first == b.first; }),
                names.end());

    // S3's optional paging (Garage lists everything): prefix, max-buckets (1..10000) and
    // continuation-token (the last name of the previous page).
    auto const prefix = c.r.param("prefix");
    auto const token = c.r.param("continuation-token");
    std::size_t max = names.size();
    if (auto m = c.r.param("max-buckets")) {
        auto const v = parse_u64(*m, "max-buckets");
        if (v < 1 || v > 10000) {
            fail(s3_error::invalid_argument("max-buckets must be between 1 and 10000"));
        }
        max = static_cast<std::size_t>(v);
    }
    std::erase_if(names, [&](auto const& n) {
        return (prefix && !n.first.starts_with(*prefix)) || (token && !token->empty() && n.first <= *token);
    });
    bool const truncated = names.size() > max;
    if (truncated) {
        names.resize(max);
    }

    xml_writer w("ListAllMyBucketsResult");
    auto owner = w.child("Owner");
    xml_writer::text(owner, "DisplayName", kp->name.get());
    xml_writer::text(owner, "ID", c.key.key_id);
    auto buckets = w.child("Buckets");
    for (auto const& [n, date] : names) {
        auto b = buckets.append_child("Bucket");
        xml_writer::text(b, "Name", n);
        xml_writer::text(b, "CreationDate", rfc3339(date));
    }
    if (truncated) {
        w.text("ContinuationToken", names.back().first);
    }
    if (prefix) {
        w.text("Prefix", *prefix);
    }
    co_await send(c.ex, 200, w.str());
}

/// CreateBucket: idempotent for a key with rights, else creates bucket, global alias and grant.
template <class Ctx>
net::awaitable<void> handle_create_bucket(Ctx& c)
{
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    if (!body.empty()) {
        pugi::xml_document doc;
        if (!parse_xml(doc, body)) {
            fail(s3_error::malformed_xml("Invalid XML in CreateBucketConfiguration"));
        }
        auto root = doc.document_element();
        if (std::string_view(root.name()) != "CreateBucketConfiguration") {
            fail(s3_error::malformed_xml("Expected CreateBucketConfiguration"));
        }
        auto lc = root.child("LocationConstraint");
        if (lc && std::string_view(lc.text().get()) != c.settings.region) {
            fail(s3_error{"InvalidLocationConstraint", 400,
                          "Cannot satisfy location constraint `" + std::string(lc.text().get()) +
                              "`: buckets can only be created in region `" + c.settings.region + "`"});
        }
    }
    auto const& name = c.r.bucket;
    auto existing = value_or_fail(model::resolve_bucket(c.model, name, &c.key));
    if (existing && value_or_fail(model::get_bucket(c.model, *existing))) {
        auto p = c.key.bucket_permissions(*existing);
        if (p.allow_write || p.allow_owner) {
            header_pairs const loc{{"Location", "/" + name}};
            co_await send(c.ex, 200, {}, loc, {});
            co_return;
        }
        fail(s3_error{"BucketAlreadyExists", 409, "Bucket already exists: " + name});
    }
    if (!model::is_valid_bucket_name(name)) {
        fail(s3_error{"InvalidBucketName", 400, "Invalid bucket name: " + name});
    }
    if (!c.key.params()->allow_create_bucket.get()) {
        fail(s3_error::access_denied("Access key " + c.key.key_id + " is not allowed to create buckets"));
    }
    auto create = [&c, &name] {
        auto id = model::create_bucket(c.model, name);
        if (!id) {
            if (id.error().code == model::error::bucket_already_exists) {
                fail(s3_error{"BucketAlreadyExists", 409, "Bucket already exists: " + name});
            }
            fail(id.error());
        }
        check(model::set_bucket_key_permissions(c.model, *id, c.key.key_id, model::bucket_key_perm::all()));
    };
    co_await write_replicated(c, create);
    header_pairs const loc{{"Location", "/" + name}};
    co_await send(c.ex, 200, {}, loc, {});
}

/// DeleteBucket: 409 BucketNotEmpty unless empty.
template <class Ctx>
net::awaitable<void> handle_delete_bucket(Ctx& c)
{
    if (c.cluster != nullptr) {
        // the bucket's objects may be stored on other nodes: ask a read quorum
        for (auto const f : {model::object_filter::is_data(), model::object_filter::is_uploading()}) {
            auto objs = co_await read_range(c, c.model.object_table(), c.bucket_id, std::nullopt, f, 1);
            if (!objs.empty()) {
                fail(s3_error{"BucketNotEmpty", 409, "Bucket not empty"});
            }
        }
    }
    auto remove = [&c] {
        auto r = model::delete_bucket(c.model, c.bucket_id);
        if (!r) {
            if (r.error().code == model::error::bucket_not_empty) {
                fail(s3_error{"BucketNotEmpty", 409, "Bucket not empty"});
            }
            fail(r.error());
        }
    };
    co_await write_replicated(c, remove);
    co_await send(c.ex, 204, {}, {}, {});
}

/// GetBucketLocation: the configured region.
template <class Ctx>
net::awaitable<void> handle_get_bucket_location(Ctx& c)
{
    xml_writer w("LocationConstraint");
    w.root().text().set(c.settings.region.c_str());
    co_await send(c.ex, 200, w.str());
}

/// GetBucketVersioning: versioning is never enabled (an empty configuration).
template <class Ctx>
net::awaitable<void> handle_get_bucket_versioning(Ctx& c)
{
    xml_writer w("VersioningConfiguration");
    co_await send(c.ex, 200, w.str());
}

/// GetBucketAcl: a synthetic policy giving the caller FULL_CONTROL.
template <class Ctx>
net::awaitable<void> handle_get_bucket_acl(Ctx& c)
{
    xml_writer w("AccessControlPolicy");
    auto owner = w.child("Owner");
    xml_writer::text(owner, "ID", c.key.key_id);
    xml_writer::text(owner, "DisplayName", c.key.params()->name.get());
    auto grant = w.child("AccessControlList").append_child("Grant");
    auto grantee = grant.append_child("Grantee");
    grantee.append_attribute("xmlns:xsi") = "http://www.w3.org/2001/XMLSchema-instance";
    grantee.append_attribute("xsi:type") = "CanonicalUser";
    xml_writer::text(grantee, "ID", c.key.key_id);
    xml_writer::text(grantee, "DisplayName", c.key.params()->name.get());
    xml_writer::text(grant, "Permission", "FULL_CONTROL");
    co_await send(c.ex, 200, w.str());
}

} // namespace garage::api::s3::detail
