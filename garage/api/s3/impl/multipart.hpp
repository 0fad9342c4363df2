#pragma once
// Multipart uploads: Create, UploadPart, Complete, Abort, ListParts, ListMultipartUploads
// (GARAGE-REFERENCE §1.10).

#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/detail/encryption.hpp>
#include <garage/api/s3/impl/get_object.hpp>
#include <garage/api/s3/impl/put_object.hpp>
#include <garage/api/s3/impl/quotas.hpp>
#include <garage/model/mpu.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/util/hasher.hpp>

#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace garage::api::s3::detail {

/// The smallest part but the last (S3's rule; Garage does not check it).
inline constexpr std::uint64_t min_part_size = 5 * 1024 * 1024;

/// The `uploadId` parameter as a uuid (NoSuchUpload if malformed).
template <class Ctx>
util::uuid upload_id_param(Ctx const& c)
{
    auto p = c.r.param("uploadId");
    if (!p) {
        fail(s3_error::invalid_argument("Missing uploadId"));
    }
    auto id = util::uuid::from_hex(*p);
    if (!id) {
        fail(s3_error::no_such_upload());
    }
    return *id;
}

/// The object version of upload `id`, if it is still uploading.
template <class Ctx>
net::awaitable<std::optional<model::object_version>> uploading_version(Ctx& c, util::uuid id)
{
    auto obj = co_await read_entry(c, c.model.object_table(), c.bucket_id, c.r.key);
    if (!obj) {
        co_return std::nullopt;
    }
    for (auto const& v : obj->versions()) {
        if (v.uuid == id && v.is_uploading(true)) {
            co_return v;
        }
    }
    co_return std::nullopt;
}

/** The live upload `id` of the context's bucket and key, or NoSuchUpload. The object version
    is checked too: the upload entry is deleted by a queued cascade, after the version. */
template <class Ctx>
net::awaitable<model::multipart_upload> get_upload(Ctx& c, util::uuid id)
{
    auto m = co_await read_entry(c, c.model.mpu_table(), id, table::empty_key{});
    if (!m || m->is_tombstone() || m->bucket_id != c.bucket_id || m->key != c.r.key) {
        fail(s3_error::no_such_upload());
    }
    auto const ov = co_await uploading_version(c, id); // named (GCC 12 and co_await temporaries)
    if (!ov) {
        fail(s3_error::no_such_upload());
    }
    co_return std::move(*m);
}

/// The latest finished upload of each part number.
inline std::map<std::uint64_t, std::pair<std::uint64_t, model::mpu_part>>
finished_parts(model::multipart_upload const& m)
{
    std::map<std::uint64_t, std::pair<std::uint64_t, model::mpu_part>> out;
    for (auto const& p : m.parts.items()) {
        if (p.value.etag && p.value.size) {
            out[p.key.part_number] = {p.key.timestamp, p.value};
        }
    }
    return out;
}

/// CreateMultipartUpload.
template <class Ctx>
net::awaitable<void> handle_create_multipart_upload(Ctx& c)
{
    (void)co_await read_small_body(c.ex, c.headers, c.auth);
    auto headers = metadata_headers(c.headers);
    auto const algo = value_or_fail(request_checksum_algorithm(c.headers));
    auto const sse = request_sse_c_key(c.headers, sse_c_headers::object);
    auto const id = util::gen_uuid();
    auto const ts = co_await next_timestamp(c, c.r.key);
    model::version_uploading up;
    up.multipart = true;
    if (algo) {
        up.checksum_algorithm = to_model(*algo);
    }
    // With SSE-C the sealed metadata also records the key: parts must open it with theirs.
    up.encryption =
        seal_meta(model::object_version_meta_inner{std::move(headers), std::nullopt}, key_ptr(sse));
    model::object_version pv1 = model::object_version{id, ts, up};
    co_await put_version(c, c.r.key, std::move(pv1));
    auto const created = model::multipart_upload::create(id, ts, c.bucket_id, c.r.key);
    auto create = [&c, &created] { check(c.model.mpu_table().insert(created)); };
    co_await write_replicated(c, create);

    xml_writer w("InitiateMultipartUploadResult");
    w.text("Bucket", c.r.bucket);
    w.text("Key", c.r.key);
    w.text("UploadId", hex(id));
    header_pairs extra;
    add_sse_c_headers(extra, key_ptr(sse));
    co_await send(c.ex, 200, w.str(), extra);
}

/** The SSE-C key of a request on upload `id` (`x-amz-server-side-encryption-customer-*`),
    checked against the upload's: throws 400 InvalidRequest when it is missing, superfluous or
    not the upload's key.
    @return The key, or nullopt for a plaintext upload. */
template <class Ctx>
net::awaitable<std::optional<sse_c_key>> upload_sse_c_key(Ctx& c, util::uuid id)
{
    auto key = request_sse_c_key(c.headers, sse_c_headers::object);
    auto ov = co_await uploading_version(c, id);
    if (!ov) {
        fail(s3_error::no_such_upload());
    }
    (void)open_meta(std::get<model::version_uploading>(ov->state).encryption, key_ptr(key));
    co_return key;
}

/// UploadPart: each upload of a part is its own version, keyed (part, time) in the upload.
template <class Ctx>
net::awaitable<void> handle_upload_part(Ctx& c)
{
    auto const pn = parse_u64(c.r.param("partNumber").value_or(""), "partNumber");
    auto const id = upload_id_param(c);
    auto m = co_await get_upload(c, id);
    auto const sse = co_await upload_sse_c_key(c, id);
    auto const algo = value_or_fail(request_checksum_algorithm(c.headers));
    body_reader rd(c.ex, c.headers, c.auth, true, algo);
    auto const pts = m.next_timestamp(pn);
    auto const pvid = util::gen_uuid();
    auto entry = model::multipart_upload::create(id, m.timestamp, c.bucket_id, c.r.key);
    entry.parts.put(model::mpu_part_key{pn, pts}, model::mpu_part{pvid, {}, {}, {}});
    {
        auto put_entry = [&c, &entry] { check(c.model.mpu_table().insert(entry)); };
        co_await write_replicated(c, put_entry);
    }

    std::string buf;
    model::version_backlink const backlink = model::mpu_backlink{id}; // not a temporary (GCC 12)
    auto w = co_await write_blocks(c, rd, buf, true, pvid, backlink, pn, key_ptr(sse));
    if (w.size == 0) {
        fail(s3_error::invalid_request("Bad request: Empty body"));
    }
    auto const etag = new_etag(*rd.sums().md5, key_ptr(sse));
    auto const sum = stored_checksum(rd, algo);
    entry.parts = {};
    entry.parts.put(model::mpu_part_key{pn, pts}, model::mpu_part{pvid, etag, sum, w.size});
    {
        auto put_entry = [&c, &entry] { check(c.model.mpu_table().insert(entry)); };
        co_await write_replicated(c, put_entry);
    }
    std::vector<std::pair<std::string, std::string>> extra{{"ETag", quote_etag(etag)}};
    add_checksum_header(extra, sum);
    add_sse_c_headers(extra, key_ptr(sse));
    co_await send(c.ex, 200, {}, extra, {});
}

/// UploadPartCopy: a part made of a byte range of a stored object (`x-amz-copy-source-range`).
template <class Ctx>
net::awaitable<void> handle_upload_part_copy(Ctx& c)
{
    (void)co_await read_small_body(c.ex, c.headers, c.auth);
    auto const pn = parse_u64(c.r.param("partNumber").value_or(""), "partNumber");
    auto const id = upload_id_param(c);
    auto [src_bucket, src_key, src] = co_await copy_source(c);
    auto const& src_meta = *src.meta();
    check_copy_conditions(c.headers, src_meta, src.timestamp);
    auto const src_sse = request_sse_c_key(c.headers, sse_c_headers::copy_source);
    (void)open_meta(src_meta.encryption, key_ptr(src_sse));
    auto const& data = std::get<model::version_complete>(src.state).data;
    byte_range range{0, src_meta.size};
    if (auto r = c.header("x-amz-copy-source-range")) {
        // `bytes=first-last`, both given (no suffix or open ranges), inside the source.
        auto const spec = r->starts_with("bytes=") ? r->substr(6) : std::string_view{};
        auto const dash = spec.find('-');
        auto const num = [](std::string_view d) -> std::optional<std::uint64_t> {
            std::uint64_t v = 0;
            if (d.empty() || d.size() > 19 ||
                std::from_chars(d.data(), d.data() + d.size(), v).ptr != d.data() + d.size()) {
                return std::nullopt;
            }
            return v;
        };
        auto const first = dash == std::string_view::npos ? std::nullopt : num(spec.substr(0, dash));
        auto const last = dash == std::string_view::npos ? std::nullopt : num(spec.substr(dash + 1));
        if (!first || !last || *last < *first) {
            fail(s3_error::invalid_argument("Invalid x-amz-copy-source-range"));
        }
        if (*last >= src_meta.size) {
            throw s3_exception{s3_error{"InvalidRange", 416, "The requested range is not satisfiable"},
                               "bytes */" + std::to_string(src_meta.size)};
        }
        range = byte_range{*first, *last + 1};
    }
    std::vector<model::version_block> blocks;
    std::optional<std::string> inline_bytes;
    if (auto const* in = std::get_if<model::inline_data>(&data)) {
        // Beyond Garage (which refuses inline sources): the part is made of the inline bytes.
        inline_bytes = value_or_fail(open_data(in->bytes, key_ptr(src_sse)));
    } else {
        auto sv = co_await read_entry(c, c.model.version_table(), src.uuid, table::empty_key{});
        if (!sv || sv->is_tombstone()) {
            fail(s3_error::internal("conflict/inconsistency between object and version state"));
        }
        for (auto const& b : sv->blocks.items()) {
            blocks.push_back(b.value);
        }
    }
    auto m = co_await get_upload(c, id);
    auto const dst_sse = co_await upload_sse_c_key(c, id);
    auto const pts = m.next_timestamp(pn);
    auto const pvid = util::gen_uuid();
    auto entry = model::multipart_upload::create(id, m.timestamp, c.bucket_id, c.r.key);
    entry.parts.put(model::mpu_part_key{pn, pts}, model::mpu_part{pvid, {}, {}, {}});
    {
        auto put_entry = [&c, &entry] { check(c.model.mpu_table().insert(entry)); };
        co_await write_replicated(c, put_entry);
    }

    auto rd = inline_bytes
                  ? block_range_reader<Ctx>(c, std::move(*inline_bytes), range.start, range.end)
                  : block_range_reader<Ctx>(c, std::move(blocks), range.start, range.end, key_ptr(src_sse));
    std::string buf;
    model::version_backlink const backlink = model::mpu_backlink{id}; // not a temporary (GCC 12)
    auto w = co_await write_blocks(c, rd, buf, true, pvid, backlink, pn, key_ptr(dst_sse));
    auto const etag = new_etag(rd.md5(), key_ptr(dst_sse));
    entry.parts = {};
    entry.parts.put(model::mpu_part_key{pn, pts}, model::mpu_part{pvid, etag, {}, w.size});
    {
        auto put_entry = [&c, &entry] { check(c.model.mpu_table().insert(entry)); };
        co_await write_replicated(c, put_entry);
    }

    xml_writer x("CopyPartResult");
    x.text("LastModified", rfc3339(pts));
    x.text("ETag", quote_etag(etag));
    header_pairs vh{{"x-amz-copy-source-version-id", hex(src.uuid)}};
    add_sse_c_headers(vh, key_ptr(dst_sse));
    co_await send(c.ex, 200, x.str(), vh);
}

/// CompleteMultipartUpload: checks part order, ETags and sizes, then assembles the version.
template <class Ctx>
net::awaitable<void> handle_complete_multipart_upload(Ctx& c)
{
    auto const id = upload_id_param(c);
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    pugi::xml_document doc;
    if (!parse_xml(doc, body) ||
        std::string_view(doc.document_element().name()) != "CompleteMultipartUpload") {
        fail(s3_error::malformed_xml("Invalid CompleteMultipartUpload XML"));
    }
    std::vector<std::pair<std::uint64_t, std::string>> listed;
    for (auto p : doc.document_element().children("Part")) {
        auto pn = p.child("PartNumber");
        auto et = p.child("ETag");
        if (!pn || !et) {
            fail(s3_error::malformed_xml("Invalid CompleteMultipartUpload XML"));
        }
        listed.emplace_back(parse_u64(pn.text().get(), "PartNumber"), unquote(et.text().get()));
    }
    if (listed.empty()) {
        fail(s3_error{"EntityTooSmall", 400, "No parts"});
    }
    for (std::size_t i = 1; i < listed.size(); ++i) {
        if (listed[i].first <= listed[i - 1].first) {
            fail(s3_error{"InvalidPartOrder", 400, "Part numbers must be strictly increasing"});
        }
    }
    auto m = co_await get_upload(c, id);
    auto ov = co_await uploading_version(c, id);
    if (!ov) {
        fail(s3_error::no_such_upload());
    }
    // SSE-C headers are optional here; a key given must be the upload's.
    auto const sse = request_sse_c_key(c.headers, sse_c_headers::object);
    if (sse) {
        (void)open_meta(std::get<model::version_uploading>(ov->state).encryption, key_ptr(sse));
    }
    auto parts = finished_parts(m);
    std::vector<model::mpu_part> chosen;
    for (std::size_t i = 0; i < listed.size(); ++i) {
        auto it = parts.find(listed[i].first);
        if (it == parts.end() || *it->second.second.etag != listed[i].second) {
            fail(s3_error{"InvalidPart", 400,
                          "Part " + std::to_string(listed[i].first) + " not found or ETag mismatch"});
        }
        if (i + 1 < listed.size() && *it->second.second.size < min_part_size) {
            fail(s3_error{"EntityTooSmall", 400,
                          "Part " + std::to_string(listed[i].first) + " is smaller than 5 MiB"});
        }
        chosen.push_back(it->second.second);
    }

    auto final_version = model::version::create(id, model::object_backlink{c.bucket_id, c.r.key});
    std::string md5s;
    std::uint64_t size = 0;
    std::optional<util::hash32> first;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        auto pv = co_await read_entry(c, c.model.version_table(), chosen[i].version, table::empty_key{});
        if (!pv || pv->is_tombstone()) {
            fail(s3_error{"InvalidPart", 400, "Part " + std::to_string(listed[i].first) + " is gone"});
        }
        for (auto const& b : pv->blocks.items()) {
            final_version.blocks.put(model::version_block_key{i + 1, b.key.offset}, b.value);
            if (!first) {
                first = b.value.hash;
            }
        }
        auto raw = util::from_hex(*chosen[i].etag);
        md5s += raw ? *raw : std::string{};
        size += *chosen[i].size;
    }
    co_await check_quotas_or_abort(c, c.r.key, size, id, ov->timestamp);
    auto refs = [&c, &final_version, &id] {
        check(c.model.version_table().insert(final_version));
        for (auto const& b : final_version.blocks.items()) {
            check(c.model.block_ref_table().insert(model::block_ref::live(b.value.hash, id)));
        }
    };
    co_await write_replicated(c, refs);
    auto const etag =
        util::to_hex(util::digest_view(util::md5sum(md5s))) + "-" + std::to_string(chosen.size());
    model::header_list headers;
    auto const& up = std::get<model::version_uploading>(ov->state);
    if (auto const* pt = std::get_if<model::encryption_plaintext>(&up.encryption)) {
        headers = pt->inner.headers;
    }
    auto meta = make_meta(size, etag, std::move(headers), std::nullopt);
    if (std::holds_alternative<model::encryption_sse_c>(up.encryption)) {
        meta.encryption = up.encryption; // sealed at creation; the key is optional here
    }
    model::object_version pv2 = model::object_version{
        id, ov->timestamp, model::version_complete{model::first_block{std::move(meta), *first}}};
    co_await put_version(c, c.r.key, std::move(pv2));

    xml_writer w("CompleteMultipartUploadResult");
    w.text("Location", c.settings.root_domain.empty()
                           ? "/" + c.r.bucket + "/" + c.r.key
                           : "https://" + c.r.bucket + "." + c.settings.root_domain + "/" + c.r.key);
    w.text("Bucket", c.r.bucket);
    w.text("Key", c.r.key);
    w.text("ETag", quote_etag(etag));
    header_pairs vh{{"x-amz-version-id", hex(id)}};
    add_sse_c_headers(vh, key_ptr(sse));
    co_await send(c.ex, 200, w.str(), vh);
}

/// AbortMultipartUpload: the version becomes aborted (the hooks delete the upload and parts).
template <class Ctx>
net::awaitable<void> handle_abort_multipart_upload(Ctx& c)
{
    auto const id = upload_id_param(c);
    (void)co_await get_upload(c, id);
    auto ov = co_await uploading_version(c, id);
    if (!ov) {
        fail(s3_error::no_such_upload());
    }
    model::object_version pv3 = model::object_version{id, ov->timestamp, model::version_aborted{}};
    co_await put_version(c, c.r.key, std::move(pv3));
    co_await send(c.ex, 204, {}, {}, {});
}

/// ListParts.
template <class Ctx>
net::awaitable<void> handle_list_parts(Ctx& c)
{
    auto const id = upload_id_param(c);
    auto m = co_await get_upload(c, id);
    auto const max = max_param(c, "max-parts");
    std::uint64_t marker = 0;
    if (auto p = c.r.param("part-number-marker")) {
        marker = std::min<std::uint64_t>(parse_u64(*p, "part-number-marker"), 10000);
    }
    auto parts = finished_parts(m);
    xml_writer w("ListPartsResult");
    w.text("Bucket", c.r.bucket);
    w.text("Key", c.r.key);
    w.text("UploadId", hex(id));
    w.text("PartNumberMarker", std::to_string(marker));
    std::vector<pugi::xml_node> nodes;
    std::size_t n = 0;
    bool truncated = false;
    std::uint64_t last = 0;
    std::vector<std::pair<std::uint64_t, std::pair<std::uint64_t, model::mpu_part>>> selected;
    for (auto const& [pn, p] : parts) {
        if (pn <= marker) {
            continue;
        }
        if (n == max) {
            truncated = true;
            break;
        }
        selected.emplace_back(pn, p);
        last = pn;
        ++n;
    }
    if (truncated) {
        w.text("NextPartNumberMarker", std::to_string(last));
    }
    w.text("MaxParts", std::to_string(max));
    w.text("IsTruncated", truncated ? "true" : "false");
    w.text("StorageClass", "STANDARD");
    for (auto const& [pn, p] : selected) {
        auto node = w.child("Part");
        xml_writer::text(node, "PartNumber", std::to_string(pn));
        xml_writer::text(node, "LastModified", rfc3339(p.first));
        xml_writer::text(node, "ETag", quote_etag(*p.second.etag));
        xml_writer::text(node, "Size", std::to_string(*p.second.size));
    }
    co_await send(c.ex, 200, w.str());
}

/// ListMultipartUploads (prefix and key-marker; no delimiter grouping).
template <class Ctx>
net::awaitable<void> handle_list_multipart_uploads(Ctx& c)
{
    std::string const prefix(c.r.param("prefix").value_or(""));
    std::string const key_marker(c.r.param("key-marker").value_or(""));
    auto const max = max_param(c, "max-uploads");
    std::string start = std::max(prefix, key_marker);
    auto objs = co_await read_range(c, c.model.object_table(), c.bucket_id, start,
                                    model::object_filter::is_uploading(true), 100000);
    xml_writer w("ListMultipartUploadsResult");
    w.text("Bucket", c.r.bucket);
    w.text("KeyMarker", key_marker);
    w.text("UploadIdMarker", std::string(c.r.param("upload-id-marker").value_or("")));
    w.text("Prefix", prefix);
    w.text("MaxUploads", std::to_string(max));
    std::vector<std::tuple<std::string, util::uuid, std::uint64_t>> uploads;
    bool truncated = false;
    for (auto const& o : objs) {
        if (!o.key().starts_with(prefix)) {
            break;
        }
        if (!key_marker.empty() && o.key() <= key_marker) {
            continue;
        }
        for (auto const& v : o.versions()) {
            if (v.is_uploading(true)) {
                if (uploads.size() == max) {
                    truncated = true;
                    break;
                }
                uploads.emplace_back(o.key(), v.uuid, v.timestamp);
            }
        }
        if (truncated) {
            break;
        }
    }
    if (truncated) {
        w.text("NextKeyMarker", std::get<0>(uploads.back()));
        w.text("NextUploadIdMarker", hex(std::get<1>(uploads.back())));
    }
    w.text("IsTruncated", truncated ? "true" : "false");
    for (auto const& [key, id, ts] : uploads) {
        auto node = w.child("Upload");
        xml_writer::text(node, "Key", key);
        xml_writer::text(node, "UploadId", hex(id));
        xml_writer::text(node, "Initiated", rfc3339(ts));
        xml_writer::text(node, "StorageClass", "STANDARD");
    }
    co_await send(c.ex, 200, w.str());
}

} // namespace garage::api::s3::detail
