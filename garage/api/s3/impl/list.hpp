#pragma once
// ListObjects (v1, v2) and ListObjectVersions (GARAGE-REFERENCE §1.13).

#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/model/object.hpp>
#include <garage/util/encoding.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace garage::api::s3::detail {

/// One page of a listing.
struct list_page {
    std::vector<std::pair<std::string, model::object_version>> keys; ///< objects, in key order
    std::vector<std::string> prefixes;                               ///< common prefixes, in order
    bool truncated = false;                                          ///< more follow
    std::string last;            ///< the last key or common prefix returned
    bool last_is_prefix = false; ///< whether `last` is a common prefix
};

/** Lists the objects of the context's bucket with data whose key starts with `prefix`, from
    `start` (inclusive or not), rolling keys with `delimiter` after the prefix into common
    prefixes, at most `max` entries (keys plus prefixes). */
template <class Ctx>
net::awaitable<list_page> list_objects_page(Ctx& c, std::string prefix, std::string delimiter,
                                            std::string start, bool inclusive, std::size_t max)
{
    list_page page;
    if (start < prefix) {
        start = prefix;
        inclusive = true;
    }
    std::size_t count = 0;
    std::string const skip_past = "\xff";
    for (;;) {
        std::size_t const batch_size = max + 2;
        auto batch = co_await read_range(c, c.model.object_table(), c.bucket_id, start,
                                         model::object_filter::is_data(), batch_size);
        bool refetch = false;
        std::size_t fresh = 0; // entries past `start`
        for (auto const& o : batch) {
            auto const& key = o.key();
            if (!inclusive && key == start) {
                continue;
            }
            ++fresh;
            if (!key.starts_with(prefix)) {
                co_return page;
            }
            auto const* v = o.last_complete();
            if (v == nullptr || !v->is_data()) {
                start = key;
                inclusive = false;
                continue;
            }
            if (!delimiter.empty()) {
                auto pos = key.find(delimiter, prefix.size());
                if (pos != std::string::npos) {
                    auto cp = key.substr(0, pos + delimiter.size());
                    if (!(!inclusive && cp == start)) {
                        if (count == max) {
                            page.truncated = true;
                            co_return page;
                        }
                        page.prefixes.push_back(cp);
                        page.last = cp;
                        page.last_is_prefix = true;
                        ++count;
                    }
                    start = cp + skip_past;
                    inclusive = true;
                    refetch = true;
                    break;
                }
            }
            if (count == max) {
                page.truncated = true;
                co_return page;
            }
            page.keys.emplace_back(key, *v);
            page.last = key;
            page.last_is_prefix = false;
            ++count;
            start = key;
            inclusive = false;
        }
        // A range read across the cluster may answer fewer entries than asked while more
        // follow (only what every node answering covered): the end is a batch with nothing new.
        if (!refetch && batch.size() < batch_size && (c.cluster == nullptr || fresh == 0)) {
            co_return page;
        }
        if (batch.empty()) {
            co_return page;
        }
    }
}

/// `max-keys`-like parameter clamped to `lowest`..1000 (default 1000).
template <class Ctx>
std::size_t max_param(Ctx const& c, std::string_view name, std::uint64_t lowest = 1)
{
    auto p = c.r.param(name);
    if (!p) {
        return 1000;
    }
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(parse_u64(*p, name), lowest, 1000));
}

/// Encodes a listed string for `encoding-type=url`.
inline std::string enc(std::string_view s, bool url)
{
    return url ? sigv4::uri_encode(s, false) : std::string(s);
}

/// The `<Owner>` of listed items: Garage has no object owners, so the requesting key (as GetBucketAcl).
struct list_owner {
    std::string id;           ///< the access key id
    std::string display_name; ///< the key's name
};

/// Appends a `<Contents>` or `<Version>` item, with an `<Owner>` if `owner` is given.
inline void write_item(pugi::xml_node node, std::string const& key, model::object_version const& v, bool url,
                       list_owner const* owner = nullptr)
{
    auto const& meta = *v.meta();
    xml_writer::text(node, "Key", enc(key, url));
    xml_writer::text(node, "LastModified", rfc3339(v.timestamp));
    xml_writer::text(node, "ETag", quote_etag(meta.etag));
    xml_writer::text(node, "Size", std::to_string(meta.size));
    xml_writer::text(node, "StorageClass", "STANDARD");
    if (owner != nullptr) {
        auto o = node.append_child("Owner");
        xml_writer::text(o, "ID", owner->id);
        xml_writer::text(o, "DisplayName", owner->display_name);
    }
}

/// ListObjects (v1) and ListObjectsV2.
template <class Ctx>
net::awaitable<void> handle_list_objects(Ctx& c, bool v2)
{
    std::string const prefix(c.r.param("prefix").value_or(""));
    std::string const delimiter(c.r.param("delimiter").value_or(""));
    auto const max = max_param(c, "max-keys", 0); // max-keys=0: an empty, untruncated listing
    bool url = false;
    if (auto e = c.r.param("encoding-type")) {
        if (*e != "url") {
            fail(s3_error::invalid_argument("Invalid encoding-type"));
        }
        url = true;
    }
    std::string start;
    bool inclusive = true;
    if (v2) {
        if (auto t = c.r.param("continuation-token"); t && !t->empty()) { // empty: from the start
            if (t->front() != '[' && t->front() != ']') {
                fail(s3_error::invalid_argument("Invalid continuation token"));
            }
            auto k = util::from_base64(t->substr(1));
            if (!k) {
                fail(s3_error::invalid_argument("Invalid continuation token"));
            }
            start = *k;
            inclusive = t->front() == '[';
        } else if (auto sa = c.r.param("start-after")) {
            start = *sa;
            inclusive = false;
        }
    } else if (auto m = c.r.param("marker")) {
        start = *m;
        inclusive = false;
    }
    list_page page;
    if (max != 0) {
        page = co_await list_objects_page(c, prefix, delimiter, start, inclusive, max);
    }
    // v1 lists owners always, v2 with fetch-owner=true (S3; Garage never does).
    std::optional<list_owner> owner;
    if (!v2 || c.r.param("fetch-owner") == std::optional<std::string_view>("true")) {
        owner = list_owner{c.key.key_id, std::string(c.key.params()->name.get())};
    }

    xml_writer w("ListBucketResult");
    w.text("Name", c.r.bucket);
    // v1 leaves Prefix unencoded (S3, and what SDKs decode: boto3 sends encoding-type=url on v1
    // and decodes Marker, NextMarker, Delimiter and keys, not Prefix); Garage encodes it.
    w.text("Prefix", v2 ? enc(prefix, url) : prefix);
    if (v2) {
        if (auto sa = c.r.param("start-after")) {
            w.text("StartAfter", enc(*sa, url));
        }
        if (auto t = c.r.param("continuation-token")) {
            w.text("ContinuationToken", *t);
        }
        if (page.truncated) {
            w.text("NextContinuationToken", page.last_is_prefix ? "[" + util::to_base64(page.last + "\xff")
                                                                : "]" + util::to_base64(page.last));
        }
        w.text("KeyCount", std::to_string(page.keys.size() + page.prefixes.size()));
    } else {
        w.text("Marker", enc(c.r.param("marker").value_or(""), url));
        if (page.truncated) {
            w.text("NextMarker", enc(page.last, url));
        }
    }
    w.text("MaxKeys", std::to_string(max));
    if (!delimiter.empty()) {
        w.text("Delimiter", enc(delimiter, url));
    }
    w.text("IsTruncated", page.truncated ? "true" : "false");
    if (url) {
        w.text("EncodingType", "url");
    }
    for (auto const& [key, v] : page.keys) {
        write_item(w.child("Contents"), key, v, url, owner ? &*owner : nullptr);
    }
    for (auto const& p : page.prefixes) {
        xml_writer::text(w.child("CommonPrefixes"), "Prefix", enc(p, url));
    }
    co_await send(c.ex, 200, w.str());
}

/// ListObjectVersions on an unversioned bucket: each current object once, `VersionId` null.
template <class Ctx>
net::awaitable<void> handle_list_object_versions(Ctx& c)
{
    std::string const prefix(c.r.param("prefix").value_or(""));
    std::string const delimiter(c.r.param("delimiter").value_or(""));
    auto const max = max_param(c, "max-keys");
    bool const url = c.r.param("encoding-type") == std::optional<std::string_view>("url");
    std::string const marker(c.r.param("key-marker").value_or(""));
    auto page = co_await list_objects_page(c, prefix, delimiter, marker, marker.empty(), max);
    list_owner const owner{c.key.key_id, std::string(c.key.params()->name.get())};

    xml_writer w("ListVersionsResult");
    w.text("Name", c.r.bucket);
    w.text("Prefix", enc(prefix, url));
    w.text("KeyMarker", enc(marker, url));
    w.text("VersionIdMarker", std::string(c.r.param("version-id-marker").value_or("")));
    if (page.truncated) {
        w.text("NextKeyMarker", enc(page.last, url));
        w.text("NextVersionIdMarker", "null");
    }
    w.text("MaxKeys", std::to_string(max));
    if (!delimiter.empty()) {
        w.text("Delimiter", enc(delimiter, url));
    }
    w.text("IsTruncated", page.truncated ? "true" : "false");
    if (url) {
        w.text("EncodingType", "url");
    }
    for (auto const& [key, v] : page.keys) {
        auto node = w.child("Version");
        write_item(node, key, v, url, &owner);
        // S3 puts VersionId and IsLatest after Key; order inside an item is not significant to clients
        xml_writer::text(node, "VersionId", "null");
        xml_writer::text(node, "IsLatest", "true");
    }
    for (auto const& p : page.prefixes) {
        xml_writer::text(w.child("CommonPrefixes"), "Prefix", enc(p, url));
    }
    co_await send(c.ex, 200, w.str());
}

} // namespace garage::api::s3::detail
