#pragma once
// Object write handlers: PutObject and CopyObject (GARAGE-REFERENCE §1.7, §1.11), and the
// block writer shared with UploadPart.

#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/detail/encryption.hpp>
#include <garage/api/s3/impl/quotas.hpp>
#include <garage/api/s3/sse_c.hpp>
#include <garage/block/block.hpp>
#include <garage/model/block_ref.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/util/hasher.hpp>
#include <garage/util/time.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <charconv>
#include <string>
#include <tuple>

namespace garage::api::s3::detail {

/// What @ref write_blocks stored.
struct written_data {
    std::uint64_t size = 0;  ///< bytes written
    util::hash32 first_hash; ///< the first block's hash
};

/** Stores one block of object data: as is, or for SSE-C sealed with `enc` and then stored
    plain (sealed bytes do not compress; they may exceed `block_size` by the seal overhead).
    @return The block's hash, over the stored bytes. */
template <class Ctx>
util::hash32 store_block_data(Ctx& c, std::string_view data, sse_c_key const* enc)
{
    if (enc == nullptr) {
        auto const h = util::blake2sum(data);
        check(c.blocks.write_block(h, data));
        return h;
    }
    auto sealed = enc->encrypt(data);
    auto const h = util::blake2sum(sealed);
    // hashed just above: stored as is (write_raw_block would hash the sealed bytes again)
    check(c.blocks.write_encoded(h, block::data_block::plain(std::move(sealed))));
    return h;
}

/// A block hashed and encoded, not yet stored.
struct prepared_block {
    util::hash32 hash;      ///< BLAKE2b of the stored plain (or sealed) bytes
    block::data_block data; ///< as it will be stored
};

/// Hashes and encodes `data` (sealed first under SSE-C, then stored plain) without storing it.
template <class Ctx>
prepared_block prepare_block(Ctx& c, std::string_view data, sse_c_key const* enc)
{
    if (enc == nullptr) {
        return {util::blake2sum(data), c.blocks.encode(data)};
    }
    auto sealed = enc->encrypt(data);
    auto const h = util::blake2sum(sealed);
    return {h, block::data_block::plain(std::move(sealed))};
}

/** Reads into `out` until it holds `bs` bytes (a block or a chunk) or the body ends, first
    taking a lease on `bs` bytes of the RAM budget (if any) into `lease`.
    @return Whether the body may go on. */
template <class Reader>
net::awaitable<bool> fill_block(Reader& rd, std::string& out, bool more, std::size_t bs,
                                http::byte_budget* budget, http::byte_budget::lease& lease)
{
    if (budget != nullptr && more) {
        lease = co_await budget->acquire(bs);
    }
    while (more && out.size() < bs) {
        more = co_await rd.read(out);
    }
    co_return more;
}

/** Stores `blk` (block `offset` of part `part_number` of version `vid`) on the blocking
    executor: writes the block, adds it to the version entry and references it; then ends
    `lease` (the block's bytes no longer count against the RAM budget).
    @return The block's hash. */
template <class Ctx>
net::awaitable<util::hash32> store_block(Ctx& c, std::string_view blk, util::uuid const& vid,
                                         model::version_backlink const& backlink, std::uint64_t part_number,
                                         std::uint64_t offset, sse_c_key const* enc,
                                         http::byte_budget::lease& lease)
{
    auto store = [&c, blk, &vid, &backlink, offset, part_number, enc] {
        auto const h = store_block_data(c, blk, enc);
        auto v = model::version::create(vid, backlink);
        v.blocks.put(model::version_block_key{part_number, offset}, model::version_block{h, blk.size()});
        check(c.model.version_table().insert(v));
        check(c.model.block_ref_table().insert(model::block_ref::live(h, vid)));
        return h;
    };
    auto const h = co_await offload_replicated(c, store);
    lease.release();
    co_return h;
}

/** Stores `data` (at most two blocks of `bs` bytes, from `offset`) with @ref store_block, both
    blocks at once on the blocking executor; then ends `lease`.
    @return The first block's hash. */
template <class Ctx>
net::awaitable<util::hash32> store_chunk(Ctx& c, std::string_view data, std::size_t bs, util::uuid const& vid,
                                         model::version_backlink const& backlink, std::uint64_t part_number,
                                         std::uint64_t offset, sse_c_key const* enc,
                                         http::byte_budget::lease& lease)
{
    using namespace net::experimental::awaitable_operators;
    if (data.size() <= bs) {
        co_return co_await store_block(c, data, vid, backlink, part_number, offset, enc, lease);
    }
    http::byte_budget::lease none1; // the chunk's lease covers both halves
    http::byte_budget::lease none2;
    auto both = store_block(c, data.substr(0, bs), vid, backlink, part_number, offset, enc, none1) &&
                store_block(c, data.substr(bs), vid, backlink, part_number, offset + bs, enc, none2);
    auto const hashes = co_await std::move(both);
    lease.release();
    co_return std::get<0>(hashes);
}

/** Reads the rest of a body and stores it as blocks of `block_size` under version `vid`
    (part `part_number`): each block is written, added to the version entry and referenced.
    Pipelined: the body is cut into chunks of two blocks; the next chunk is read from the body
    while the two blocks of the previous one are hashed, compressed and written on the blocking
    executor (so a single upload keeps every core busy); each chunk buffered holds a lease on
    the context's RAM budget (at most two chunks per upload).
    @tparam Reader Has `awaitable<bool> read(std::string&)` (a @ref body_reader or a copy source).
    @param buf  Body bytes already read (consumed). @param more Whether the body may go on.
    @param enc  The SSE-C key to seal each block with, or null. */
template <class Ctx, class Reader>
net::awaitable<written_data> write_blocks(Ctx& c, Reader& rd, std::string& buf, bool more,
                                          util::uuid const& vid, model::version_backlink const& backlink,
                                          std::uint64_t part_number, sse_c_key const* enc = nullptr)
{
    using namespace net::experimental::awaitable_operators;
    written_data res;
    auto const bs = static_cast<std::size_t>(c.settings.block_size);
    auto const chunk = 2 * bs;
    http::byte_budget::lease cur; // for the chunk in `buf`
    http::byte_budget::lease nxt; // for the chunk in `next`
    more = co_await fill_block(rd, buf, more, chunk, c.ram_budget, cur);
    if (buf.empty()) {
        // no block: create the version entry alone (otherwise the first block's insert does)
        auto create = [&c, &vid, &backlink] {
            check(c.model.version_table().insert(model::version::create(vid, backlink)));
        };
        co_await offload_replicated(c, create);
    }
    std::string next;
    while (!buf.empty()) {
        auto const n = std::min(chunk, buf.size());
        auto const offset = res.size;
        next.assign(buf, n); // bytes read past this chunk start the next one
        std::string_view const data(buf.data(), n);
        util::hash32 h;
        if (more) {
            auto both = store_chunk(c, data, bs, vid, backlink, part_number, offset, enc, cur) &&
                        fill_block(rd, next, more, chunk, c.ram_budget, nxt);
            std::tie(h, more) = co_await std::move(both);
        } else {
            h = co_await store_chunk(c, data, bs, vid, backlink, part_number, offset, enc, cur);
        }
        if (res.size == 0) {
            res.first_hash = h;
        }
        res.size += n;
        buf.swap(next); // the stored block's buffer is reused for the one after
        cur = std::move(nxt);
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
net::awaitable<std::uint64_t> next_timestamp(Ctx& c, std::string key)
{
    auto existing = co_await read_entry(c, c.model.object_table(), c.bucket_id, std::move(key));
    co_return existing ? std::max(existing->next_timestamp(), util::now_msec()) : util::now_msec();
}

/// The size the client announced for the body (decoded for aws-chunked bodies), if any.
template <class Ctx>
std::optional<std::uint64_t> announced_body_size(Ctx const& c)
{
    auto const h = c.header(sigv4::is_streaming(c.auth.payload.mode) ? "x-amz-decoded-content-length"
                                                                     : "content-length");
    std::uint64_t n = 0;
    if (!h || h->empty() ||
        std::from_chars(h->data(), h->data() + h->size(), n).ptr != h->data() + h->size()) {
        return std::nullopt;
    }
    return n;
}

/// Inserts a one-version object entry.
template <class Ctx>
net::awaitable<void> put_version(Ctx& c, std::string key, model::object_version v)
{
    model::object const obj(c.bucket_id, std::move(key), {std::move(v)});
    auto write = [&c, &obj] { check(c.model.object_table().insert(obj)); };
    co_await write_replicated(c, write);
}

/// PutObject: inline below 3072 bytes, else blocks; uploading → complete, aborted on failure.
template <class Ctx>
net::awaitable<void> handle_put_object(Ctx& c)
{
    auto headers = metadata_headers(c.headers);
    auto const algo = value_or_fail(request_checksum_algorithm(c.headers));
    auto const sse = request_sse_c_key(c.headers, sse_c_headers::object);
    auto const* const key = key_ptr(sse);
    body_reader rd(c.ex, c.headers, c.auth, true, algo);
    std::string buf;
    bool more = true;
    while (more && buf.size() < inline_threshold) {
        more = co_await rd.read(buf);
    }
    auto const vid = util::gen_uuid();
    auto const ts = co_await next_timestamp(c, c.r.key);
    std::vector<std::pair<std::string, std::string>> extra;

    if (!more && buf.size() < inline_threshold) {
        check_quotas(c, c.r.key, buf.size());
        auto const etag = new_etag(*rd.sums().md5, key);
        auto const sum = stored_checksum(rd, algo);
        auto meta = make_meta(buf.size(), etag, std::move(headers), sum, key);
        model::object const obj(
            c.bucket_id, c.r.key,
            {model::object_version{vid, ts,
                                   model::version_complete{model::inline_data{
                                       std::move(meta), seal_data(std::move(buf), key)}}}});
        auto writes = [&c, &obj](auto& tx) { return c.model.object_table().insert_in(tx, obj); };
        co_await commit_writes(c, writes);
        extra = {{"ETag", quote_etag(etag)}, {"x-amz-version-id", hex(vid)}};
        add_checksum_header(extra, sum);
        add_sse_c_headers(extra, key);
        co_await send(c.ex, 200, {}, extra, {});
        co_return;
    }

    // named, not a temporary in the co_await expression (GCC 12 destroys those twice)
    model::version_backlink const backlink = model::object_backlink{c.bucket_id, c.r.key};

    // A body of one block (its announced size says so): read it all, then store the block and
    // commit the version, its block reference and the complete object in one transaction —
    // no `uploading` state to publish first, one LMDB commit instead of four.
    auto const bs = c.settings.block_size;
    if (auto const announced = announced_body_size(c); more && announced && *announced <= bs) {
        http::byte_budget::lease lease;
        if (c.ram_budget != nullptr) {
            lease = co_await c.ram_budget->acquire(bs);
        }
        while (more && buf.size() <= bs) {
            more = co_await rd.read(buf);
        }
    }
    if (!more && buf.size() <= bs) {
        check_quotas(c, c.r.key, buf.size());
        auto const etag = new_etag(*rd.sums().md5, key);
        auto const sum = stored_checksum(rd, algo);
        auto meta = make_meta(buf.size(), etag, std::move(headers), sum, key);
        // Hash and encode a small body here (microseconds), a larger one on the blocking
        // executor, where a block too large for the metadata DB is also written to its file.
        prepared_block blk;
        bool small = false;
        util::write_capture file_block; // a block written to its file, sent with the metadata
        auto prepare = [&c, &buf, &blk, &small, key, &file_block, capture = capturing(c)] {
            blk = prepare_block(c, buf, key);
            small = c.blocks.is_small(blk.data);
            if (!small && capture) {
                util::write_capture_scope scope(file_block);
                check(c.blocks.write_encoded(blk.hash, blk.data));
            } else if (!small) {
                check(c.blocks.write_encoded(blk.hash, blk.data));
            }
        };
        if (buf.size() <= 16 * 1024) {
            prepare();
        } else {
            co_await offload(c.blocking, prepare);
        }
        auto const& h = blk.hash;
        auto v = model::version::create(vid, backlink);
        v.blocks.put(model::version_block_key{1, 0}, model::version_block{h, buf.size()});
        model::object const obj(
            c.bucket_id, c.r.key,
            {model::object_version{vid, ts,
                                   model::version_complete{model::first_block{std::move(meta), h}}}});
        auto const ref = model::block_ref::live(h, vid);
        // A small block is stored in the same transaction as its metadata (batched with
        // concurrent requests' writes): one commit, no file.
        auto writes = [&c, &blk, small, &v, &ref, &obj](auto& tx) -> util::result<void> {
            if (small) {
                if (auto r = c.blocks.write_small_in(tx, blk.hash, blk.data); !r) {
                    return r;
                }
            }
            if (auto r = c.model.version_table().insert_in(tx, v); !r) {
                return r;
            }
            if (auto r = c.model.block_ref_table().insert_in(tx, ref); !r) {
                return r;
            }
            return c.model.object_table().insert_in(tx, obj);
        };
        if (file_block.empty()) {
            co_await commit_writes(c, writes);
        } else {
            // the block to its other nodes while the metadata is committed and sent
            using namespace net::experimental::awaitable_operators;
            auto send_block = replicate(c, std::move(file_block));
            auto commit = commit_writes(c, writes);
            auto both = std::move(send_block) && std::move(commit);
            co_await std::move(both);
        }
        extra = {{"ETag", quote_etag(etag)}, {"x-amz-version-id", hex(vid)}};
        add_checksum_header(extra, sum);
        add_sse_c_headers(extra, key);
        co_await send(c.ex, 200, {}, extra, {});
        co_return;
    }

    model::version_uploading up;
    up.multipart = false;
    if (algo) {
        up.checksum_algorithm = to_model(*algo);
    }
    up.encryption = seal_meta(model::object_version_meta_inner{headers, std::nullopt}, key);
    model::object_version pv1 = model::object_version{vid, ts, up};
    co_await put_version(c, c.r.key, std::move(pv1));
    written_data w;
    std::optional<s3_exception> failure;
    try {
        w = co_await write_blocks(c, rd, buf, more, vid, backlink, 1, key);
        check_quotas(c, c.r.key, w.size);
    } catch (s3_exception& e) {
        failure = std::move(e);
    }
    if (failure) {
        model::object_version pv2 = model::object_version{vid, ts, model::version_aborted{}};
        co_await put_version(c, c.r.key, std::move(pv2));
        throw std::move(*failure);
    }
    auto const etag = new_etag(*rd.sums().md5, key);
    auto const sum = stored_checksum(rd, algo);
    auto meta = make_meta(w.size, etag, std::move(headers), sum, key);
    model::object_version pv3 = model::object_version{
        vid, ts, model::version_complete{model::first_block{std::move(meta), w.first_hash}}};
    co_await put_version(c, c.r.key, std::move(pv3));
    extra = {{"ETag", quote_etag(etag)}, {"x-amz-version-id", hex(vid)}};
    add_checksum_header(extra, sum);
    add_sse_c_headers(extra, key);
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
net::awaitable<std::tuple<util::uuid, std::string, model::object_version>> copy_source(Ctx& c)
{
    // `bucket/key?versionId=…`: split before decoding (an encoded `%3F` belongs to the key).
    std::string_view raw = *c.header("x-amz-copy-source");
    std::optional<std::string> version_id;
    if (auto q = raw.find('?'); q != std::string_view::npos) {
        auto const query = api::parse_query(raw.substr(q + 1));
        for (auto const& p : query) {
            if (p.key == "versionId") {
                version_id = p.value;
            }
        }
        raw = raw.substr(0, q);
    }
    auto decoded = percent_decode(raw);
    if (!decoded) {
        fail(s3_error::invalid_argument("Invalid x-amz-copy-source"));
    }
    std::string_view s = *decoded;
    while (s.starts_with('/')) {
        s.remove_prefix(1);
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
    auto obj = co_await read_entry(c, c.model.object_table(), *id, key);
    model::object_version const* v = obj ? obj->last_complete() : nullptr;
    if (version_id && *version_id != "null" && obj) {
        // A version named by its id (no versioning: it must still be kept, e.g. the current one).
        v = nullptr;
        for (auto const& cand : obj->versions()) {
            if (hex(cand.uuid) == *version_id && cand.is_complete()) {
                v = &cand;
            }
        }
        if (v == nullptr) {
            fail(s3_error{"NoSuchVersion", 404, "The specified version does not exist."});
        }
    }
    if (v == nullptr || !v->is_data()) {
        fail(s3_error::no_such_key());
    }
    co_return std::tuple<util::uuid, std::string, model::object_version>{*id, std::move(key), *v};
}

/// CopyObject: metadata-only copy (blocks shared), headers per `x-amz-metadata-directive`.
template <class Ctx>
net::awaitable<void> handle_copy_object(Ctx& c)
{
    (void)co_await read_small_body(c.ex, c.headers, c.auth);
    auto [src_bucket, src_key, src] = co_await copy_source(c);
    auto const& src_meta = *src.meta();
    check_copy_conditions(c.headers, src_meta, src.timestamp);
    auto const src_sse = request_sse_c_key(c.headers, sse_c_headers::copy_source);
    auto const dst_sse = request_sse_c_key(c.headers, sse_c_headers::object);
    auto const* const src_enc = key_ptr(src_sse);
    auto const* const dst_enc = key_ptr(dst_sse);
    auto src_inner = open_meta(src_meta.encryption, src_enc);

    model::header_list headers;
    auto directive = c.header("x-amz-metadata-directive").value_or("COPY");
    if (directive == "REPLACE") {
        headers = metadata_headers(c.headers);
    } else if (directive == "COPY") {
        for (auto const& p : src_inner.headers) {
            if (p.first != "x-amz-website-redirect-location") {
                headers.push_back(p);
            }
        }
        if (auto w = c.header("x-amz-website-redirect-location")) {
            headers.emplace_back("x-amz-website-redirect-location", std::string(*w));
        }
    } else {
        fail(s3_error::invalid_argument("Invalid x-amz-metadata-directive"));
    }
    auto const sum = src_inner.checksum;
    // The same encryption on both sides: the stored data is shared (metadata-only copy);
    // otherwise it is read in clear and written again, sealed with the destination's key.
    bool const same_encryption = src_sse == dst_sse;
    auto etag = src_meta.etag;
    check_quotas(c, c.r.key, src_meta.size);

    auto const vid = util::gen_uuid();
    auto const ts = co_await next_timestamp(c, c.r.key);
    auto const& data = std::get<model::version_complete>(src.state).data;
    if (auto const* in = std::get_if<model::inline_data>(&data)) {
        auto bytes = in->bytes;
        if (!same_encryption) {
            auto plain = value_or_fail(open_data(std::move(bytes), src_enc));
            etag = new_etag(util::md5sum(plain), dst_enc);
            bytes = seal_data(std::move(plain), dst_enc);
        }
        auto meta = make_meta(src_meta.size, etag, std::move(headers), sum, dst_enc);
        model::object_version pv4 = model::object_version{
            vid, ts, model::version_complete{model::inline_data{std::move(meta), std::move(bytes)}}};
        co_await put_version(c, c.r.key, std::move(pv4));
    } else if (!same_encryption) {
        auto sv = co_await read_entry(c, c.model.version_table(), src.uuid, table::empty_key{});
        if (!sv || sv->is_tombstone()) {
            fail(s3_error::internal("conflict/inconsistency between object and version state"));
        }
        std::vector<model::version_block> blocks;
        for (auto const& b : sv->blocks.items()) {
            blocks.push_back(b.value);
        }
        model::version_uploading up;
        up.encryption = seal_meta(model::object_version_meta_inner{headers, std::nullopt}, dst_enc);
        model::object_version pv5 = model::object_version{vid, ts, up};
        co_await put_version(c, c.r.key, std::move(pv5));
        block_range_reader<Ctx> rd(c, std::move(blocks), 0, src_meta.size, src_enc);
        std::string buf;
        written_data w;
        std::optional<s3_exception> failure;
        model::version_backlink const backlink = model::object_backlink{c.bucket_id, c.r.key}; // (GCC 12)
        try {
            w = co_await write_blocks(c, rd, buf, true, vid, backlink, 1, dst_enc);
        } catch (s3_exception& e) {
            failure = std::move(e);
        }
        if (failure) {
            model::object_version pv6 = model::object_version{vid, ts, model::version_aborted{}};
            co_await put_version(c, c.r.key, std::move(pv6));
            throw std::move(*failure);
        }
        etag = new_etag(rd.md5(), dst_enc);
        auto meta = make_meta(w.size, etag, std::move(headers), sum, dst_enc);
        model::object_version pv7 = model::object_version{
            vid, ts, model::version_complete{model::first_block{std::move(meta), w.first_hash}}};
        co_await put_version(c, c.r.key, std::move(pv7));
    } else {
        auto meta = make_meta(src_meta.size, etag, std::move(headers), sum, dst_enc);
        auto const& fb = std::get<model::first_block>(data);
        auto sv = co_await read_entry(c, c.model.version_table(), src.uuid, table::empty_key{});
        if (!sv || sv->is_tombstone()) {
            fail(s3_error::internal("conflict/inconsistency between object and version state"));
        }
        model::version_uploading up;
        up.encryption = meta.encryption;
        model::object_version pv8 = model::object_version{vid, ts, up};
        co_await put_version(c, c.r.key, std::move(pv8));
        auto nv = model::version::create(vid, model::object_backlink{c.bucket_id, c.r.key});
        for (auto const& b : sv->blocks.items()) {
            nv.blocks.put(b.key, b.value);
        }
        auto refs = [&c, &nv, &sv, &vid] {
            check(c.model.version_table().insert(nv));
            for (auto const& b : sv->blocks.items()) {
                check(c.model.block_ref_table().insert(model::block_ref::live(b.value.hash, vid)));
            }
        };
        co_await write_replicated(c, refs);
        model::object_version pv9 =
            model::object_version{vid, ts, model::version_complete{model::first_block{meta, fb.hash}}};
        co_await put_version(c, c.r.key, std::move(pv9));
    }
    xml_writer w("CopyObjectResult");
    w.text("LastModified", rfc3339(ts));
    w.text("ETag", quote_etag(etag));
    header_pairs vh{{"x-amz-version-id", hex(vid)}, {"x-amz-copy-source-version-id", hex(src.uuid)}};
    add_sse_c_headers(vh, dst_enc);
    co_await send(c.ex, 200, w.str(), vh);
}

} // namespace garage::api::s3::detail
