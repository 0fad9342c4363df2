#pragma once
// Object write handlers: PutObject and CopyObject (GARAGE-REFERENCE §1.7, §1.11), and the
// block writer shared with UploadPart.

#include <garage/api/s3/detail/common.hpp>
#include <garage/model/block_ref.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/util/hasher.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <string>

namespace garage::api::s3::detail {

/// What @ref write_blocks stored.
struct written_data {
    std::uint64_t size = 0;  ///< bytes written
    util::hash32 first_hash; ///< the first block's hash
};

/** Reads the rest of a body and stores it as blocks of `block_size` under version `vid`
    (part `part_number`): each block is written, added to the version entry and referenced.
    @tparam Reader Has `awaitable<bool> read(std::string&)` (a @ref body_reader or a copy source).
    @param buf  Body bytes already read (consumed). @param more Whether the body may go on. */
template <class Ctx, class Reader>
net::awaitable<written_data> write_blocks(Ctx& c, Reader& rd, std::string& buf, bool more,
                                          util::uuid const& vid, model::version_backlink const& backlink,
                                          std::uint64_t part_number)
{
    written_data res;
    auto const bs = static_cast<std::size_t>(c.settings.block_size);
    check(c.model.version_table().insert(model::version::create(vid, backlink)));
    for (;;) {
        while (more && buf.size() < bs) {
            more = co_await rd.read(buf);
        }
        if (buf.empty()) {
            break;
        }
        auto const n = std::min(bs, buf.size());
        auto const offset = res.size;
        auto store = [&c, &buf, &vid, &backlink, n, offset, part_number] {
            std::string_view const blk(buf.data(), n);
            auto const h = util::blake2sum(blk);
            check(c.blocks.write_block(h, blk));
            auto v = model::version::create(vid, backlink);
            v.blocks.put(model::version_block_key{part_number, offset}, model::version_block{h, n});
            check(c.model.version_table().insert(v));
            check(c.model.block_ref_table().insert(model::block_ref::live(h, vid)));
            return h;
        };
        auto const h = co_await offload(c.blocking, store);
        if (res.size == 0) {
            res.first_hash = h;
        }
        res.size += n;
        buf.erase(0, n);
    }
    co_return res;
}

/// The checksum to store: the algorithm requested, or the one the client sent.
inline std::optional<model::checksum_value> stored_checksum(body_reader const& rd,
                                                            std::optional<checksum_algorithm> algo)
{
    if (!algo && rd.client_checksum()) {
        algo = rd.client_checksum()->algorithm();
    }
    if (!algo) {
        return std::nullopt;
    }
    if (auto v = rd.sums().get(*algo)) {
        return to_model(*v);
    }
    return std::nullopt;
}

/// The response headers echoing a stored checksum.
inline void add_checksum_header(std::vector<std::pair<std::string, std::string>>& out,
                                std::optional<model::checksum_value> const& v)
{
    if (v) {
        auto cv = from_model(*v);
        out.emplace_back(std::string(checksum_header_name(cv.algorithm())), cv.to_base64());
    }
}

/// The timestamp of a new version of `key`.
template <class Ctx>
std::uint64_t next_timestamp(Ctx& c, std::string const& key)
{
    auto existing = value_or_fail(c.model.object_table().get(c.bucket_id, key));
    return existing ? std::max(existing->next_timestamp(), util::now_msec()) : util::now_msec();
}

/// Inserts a one-version object entry.
template <class Ctx>
void put_version(Ctx& c, std::string const& key, model::object_version v)
{
    check(c.model.object_table().insert(model::object(c.bucket_id, key, {std::move(v)})));
}

/// PutObject: inline below 3072 bytes, else blocks; uploading → complete, aborted on failure.
template <class Ctx>
net::awaitable<void> handle_put_object(Ctx& c)
{
    auto headers = metadata_headers(c.headers);
    auto const algo = value_or_fail(request_checksum_algorithm(c.headers));
    body_reader rd(c.ex, c.headers, c.auth, true, algo);
    std::string buf;
    bool more = true;
    while (more && buf.size() < inline_threshold) {
        more = co_await rd.read(buf);
    }
    auto const vid = util::gen_uuid();
    auto const ts = next_timestamp(c, c.r.key);
    std::vector<std::pair<std::string, std::string>> extra;

    if (!more && buf.size() < inline_threshold) {
        auto const etag = util::to_hex(util::digest_view(*rd.sums().md5));
        auto const sum = stored_checksum(rd, algo);
        auto meta = make_meta(buf.size(), etag, std::move(headers), sum);
        put_version(
            c, c.r.key,
            model::object_version{
                vid, ts, model::version_complete{model::inline_data{std::move(meta), std::move(buf)}}});
        extra = {{"ETag", quote_etag(etag)}, {"x-amz-version-id", hex(vid)}};
        add_checksum_header(extra, sum);
        co_await send(c.ex, 200, {}, extra, {});
        co_return;
    }

    model::version_uploading up;
    up.multipart = false;
    if (algo) {
        up.checksum_algorithm = to_model(*algo);
    }
    up.encryption = model::encryption_plaintext{model::object_version_meta_inner{headers, std::nullopt}};
    put_version(c, c.r.key, model::object_version{vid, ts, up});
    written_data w;
    std::optional<s3_exception> failure;
    // named, not a temporary in the co_await expression (GCC 12 destroys those twice)
    model::version_backlink const backlink = model::object_backlink{c.bucket_id, c.r.key};
    try {
        w = co_await write_blocks(c, rd, buf, more, vid, backlink, 1);
    } catch (s3_exception& e) {
        failure = std::move(e);
    }
    if (failure) {
        put_version(c, c.r.key, model::object_version{vid, ts, model::version_aborted{}});
        throw std::move(*failure);
    }
    auto const etag = util::to_hex(util::digest_view(*rd.sums().md5));
    auto const sum = stored_checksum(rd, algo);
    auto meta = make_meta(w.size, etag, std::move(headers), sum);
    put_version(c, c.r.key,
                model::object_version{
                    vid, ts, model::version_complete{model::first_block{std::move(meta), w.first_hash}}});
    extra = {{"ETag", quote_etag(etag)}, {"x-amz-version-id", hex(vid)}};
    add_checksum_header(extra, sum);
    co_await send(c.ex, 200, {}, extra, {});
}

/** Checks `x-amz-copy-source-if-*` (any failure → 412). */
inline void check_copy_conditions(std::span<header_field const> headers,
                                  model::object_version_meta const& meta, std::uint64_t timestamp)
{
    auto pf = [] {
        fail(s3_error{"PreconditionFailed", 412,
                      "At least one of the preconditions you specified did not hold"});
    };
    auto matches = [&](std::string_view list) {
        std::string_view rest = list;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            auto item = rest.substr(0, comma);
            while (!item.empty() && item.front() == ' ') {
                item.remove_prefix(1);
            }
            while (!item.empty() && item.back() == ' ') {
                item.remove_suffix(1);
            }
            if (item == "*" || unquote(item) == meta.etag) {
                return true;
            }
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        return false;
    };
    auto const secs = timestamp / 1000 * 1000;
    if (auto v = find_header(headers, "x-amz-copy-source-if-match"); v && !matches(*v)) {
        pf();
    }
    if (auto v = find_header(headers, "x-amz-copy-source-if-none-match"); v && matches(*v)) {
        pf();
    }
    if (auto v = find_header(headers, "x-amz-copy-source-if-modified-since")) {
        if (auto t = parse_http_date(*v); t && secs <= *t) {
            pf();
        }
    }
    if (auto v = find_header(headers, "x-amz-copy-source-if-unmodified-since")) {
        if (auto t = parse_http_date(*v); t && secs > *t) {
            pf();
        }
    }
}

/// Resolves `x-amz-copy-source` to (bucket id, key, its current version), checking Read on it.
template <class Ctx>
std::tuple<util::uuid, std::string, model::object_version> copy_source(Ctx& c)
{
    auto src = *c.header("x-amz-copy-source");
    auto decoded = percent_decode(src);
    if (!decoded) {
        fail(s3_error::invalid_argument("Invalid x-amz-copy-source"));
    }
    std::string_view s = *decoded;
    while (s.starts_with('/')) {
        s.remove_prefix(1);
    }
    if (auto q = s.find('?'); q != std::string_view::npos) {
        s = s.substr(0, q); // versionId is ignored (no versioning)
    }
    auto slash = s.find('/');
    if (slash == std::string_view::npos || slash + 1 == s.size()) {
        fail(s3_error::invalid_argument("Invalid x-amz-copy-source"));
    }
    std::string const bucket(s.substr(0, slash));
    std::string key(s.substr(slash + 1));
    auto id = value_or_fail(model::resolve_bucket(c.model, bucket, &c.key));
    if (!id || !value_or_fail(model::get_bucket(c.model, *id))) {
        fail(s3_error::no_such_bucket(bucket));
    }
    if (!c.key.allow_read(*id)) {
        fail(s3_error::access_denied("Reading from bucket " + bucket + " not allowed for this key"));
    }
    auto obj = value_or_fail(c.model.object_table().get(*id, key));
    model::object_version const* v = obj ? obj->last_complete() : nullptr;
    if (v == nullptr || !v->is_data()) {
        fail(s3_error::no_such_key());
    }
    return {*id, std::move(key), *v};
}

/// CopyObject: metadata-only copy (blocks shared), headers per `x-amz-metadata-directive`.
template <class Ctx>
net::awaitable<void> handle_copy_object(Ctx& c)
{
    (void)co_await read_small_body(c.ex, c.headers, c.auth);
    auto [src_bucket, src_key, src] = copy_source(c);
    auto const& src_meta = *src.meta();
    check_copy_conditions(c.headers, src_meta, src.timestamp);

    model::header_list headers;
    auto directive = c.header("x-amz-metadata-directive").value_or("COPY");
    if (directive == "REPLACE") {
        headers = metadata_headers(c.headers);
    } else if (directive == "COPY") {
        if (auto const* h = src_meta.headers()) {
            for (auto const& p : *h) {
                if (p.first != "x-amz-website-redirect-location") {
                    headers.push_back(p);
                }
            }
        }
        if (auto w = c.header("x-amz-website-redirect-location")) {
            headers.emplace_back("x-amz-website-redirect-location", std::string(*w));
        }
    } else {
        fail(s3_error::invalid_argument("Invalid x-amz-metadata-directive"));
    }
    std::optional<model::checksum_value> sum;
    if (auto const* cs = src_meta.checksum()) {
        sum = *cs;
    }
    auto meta = make_meta(src_meta.size, src_meta.etag, std::move(headers), sum);

    auto const vid = util::gen_uuid();
    auto const ts = next_timestamp(c, c.r.key);
    auto const& data = std::get<model::version_complete>(src.state).data;
    if (auto const* in = std::get_if<model::inline_data>(&data)) {
        put_version(
            c, c.r.key,
            model::object_version{vid, ts, model::version_complete{model::inline_data{meta, in->bytes}}});
    } else {
        auto const& fb = std::get<model::first_block>(data);
        auto sv = value_or_fail(c.model.version_table().get(src.uuid, table::empty_key{}));
        if (!sv || sv->is_tombstone()) {
            fail(s3_error::internal("conflict/inconsistency between object and version state"));
        }
        model::version_uploading up;
        up.encryption = model::encryption_plaintext{};
        put_version(c, c.r.key, model::object_version{vid, ts, up});
        auto nv = model::version::create(vid, model::object_backlink{c.bucket_id, c.r.key});
        for (auto const& b : sv->blocks.items()) {
            nv.blocks.put(b.key, b.value);
        }
        check(c.model.version_table().insert(nv));
        for (auto const& b : sv->blocks.items()) {
            check(c.model.block_ref_table().insert(model::block_ref::live(b.value.hash, vid)));
        }
        put_version(
            c, c.r.key,
            model::object_version{vid, ts, model::version_complete{model::first_block{meta, fb.hash}}});
    }
    xml_writer w("CopyObjectResult");
    w.text("LastModified", rfc3339(ts));
    w.text("ETag", quote_etag(src_meta.etag));
    header_pairs const vh{{"x-amz-version-id", hex(vid)}, {"x-amz-copy-source-version-id", hex(src.uuid)}};
    co_await send(c.ex, 200, w.str(), vh);
}

} // namespace garage::api::s3::detail
