#pragma once
// DeleteObject and DeleteObjects (GARAGE-REFERENCE §1.12).

#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/put_object.hpp>
#include <garage/model/object.hpp>

#include <optional>
#include <string>

namespace garage::api::s3::detail {

/** Deletes `key` by adding a delete marker, if it has data.
    @return The marker's version id and the deleted version's, or nullopt if there was nothing. */
template <class Ctx>
net::awaitable<std::optional<std::pair<util::uuid, util::uuid>>> delete_object_key(Ctx& c, std::string key)
{
    auto obj = co_await read_entry(c, c.model.object_table(), c.bucket_id, key);
    model::object_version const* v = obj ? obj->last_complete() : nullptr;
    if (v == nullptr || !v->is_data()) {
        co_return std::nullopt;
    }
    auto const deleted = v->uuid;
    auto const vid = util::gen_uuid();
    auto const ts = std::max(obj->next_timestamp(), util::now_msec());
    model::object_version pv1 =
        model::object_version{vid, ts, model::version_complete{model::delete_marker{}}};
    co_await put_version(c, key, std::move(pv1));
    co_return std::pair{vid, deleted};
}

/// DeleteObject: 204 whether or not the key existed.
template <class Ctx>
net::awaitable<void> handle_delete_object(Ctx& c)
{
    auto r = co_await delete_object_key(c, c.r.key);
    std::vector<std::pair<std::string, std::string>> extra;
    if (r) {
        extra = header_pairs{{"x-amz-version-id", hex(r->first)}, {"x-amz-delete-marker", "true"}};
    }
    co_await send(c.ex, 204, {}, extra, {});
}

/// DeleteObjects: `<Delete><Object><Key/>[<VersionId/>]</Object>…[<Quiet/>]</Delete>`.
template <class Ctx>
net::awaitable<void> handle_delete_objects(Ctx& c)
{
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    pugi::xml_document doc;
    // Unlike parse_xml, keeps a text made only of whitespace (`<Key> </Key>` names the key " ").
    if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                         pugi::encoding_utf8)) {
        fail(s3_error::malformed_xml("Invalid delete XML query"));
    }
    auto root = doc.document_element();
    if (std::string_view(root.name()) != "Delete") {
        fail(s3_error::malformed_xml("Invalid delete XML query"));
    }
    bool quiet = false;
    std::vector<std::pair<std::string, std::optional<std::string>>> objects;
    for (auto n : root.children()) {
        if (n.type() != pugi::node_element) {
            continue;
        }
        std::string_view const nm = n.name();
        if (nm == "Quiet") {
            quiet = std::string_view(n.text().get()) == "true";
        } else if (nm == "Object") {
            auto k = n.child("Key");
            if (!k) {
                fail(s3_error::malformed_xml("Invalid delete XML query"));
            }
            std::optional<std::string> version;
            if (auto vi = n.child("VersionId")) {
                version = vi.text().get();
            }
            objects.emplace_back(k.text().get(), version);
        } else {
            fail(s3_error::malformed_xml("Invalid delete XML query"));
        }
    }
    if (objects.size() > 1000) {
        fail(s3_error::malformed_xml("Too many objects to delete (max 1000)"));
    }
    xml_writer w("DeleteResult");
    for (auto const& [key, version] : objects) {
        std::optional<std::pair<util::uuid, util::uuid>> r;
        try {
            r = co_await delete_object_key(c, key);
        } catch (s3_exception const& e) {
            auto er = w.child("Error");
            xml_writer::text(er, "Code", e.err.code);
            xml_writer::text(er, "Key", key);
            xml_writer::text(er, "Message", e.err.message);
            continue;
        }
        if (quiet) {
            continue;
        }
        auto d = w.child("Deleted");
        xml_writer::text(d, "Key", key);
        if (version) {
            xml_writer::text(d, "VersionId", *version);
        }
        if (r) {
            xml_writer::text(d, "DeleteMarker", "true");
            xml_writer::text(d, "DeleteMarkerVersionId", hex(r->first));
        }
    }
    co_await send(c.ex, 200, w.str());
}

} // namespace garage::api::s3::detail
