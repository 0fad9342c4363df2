#pragma once
// GetObject and HeadObject: conditional requests, single ranges, response-* overrides,
// streamed blocks (GARAGE-REFERENCE §1.8).

#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/detail/encryption.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/table/schema.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace garage::api::s3::detail {

/// A block overlapping a GET's range, and which of its bytes to send.
struct block_piece {
    util::hash32 hash;      ///< the block
    std::uint64_t from = 0; ///< first byte to send
    std::uint64_t to = 0;   ///< one past the last
    bool last = false;      ///< whether it ends the body
    std::uint64_t size = 0; ///< the block's size (a small one is read without a thread hand-off)
};

/// Two blocks read together (the second empty when there is none).
using block_pair = std::pair<util::result<std::string>, util::result<std::string>>;

/** Reads (verifies, decompresses, opens) pieces `i` and `i + 1` (if any) in parallel on the
    blocking executor. @return Both, in order. */
template <class Ctx>
net::awaitable<block_pair> read_block_pair(Ctx& c, std::vector<block_piece> const& pieces, std::size_t i,
                                           sse_c_key const* key)
{
    using namespace net::experimental::awaitable_operators;
    block_pair out{std::string(), std::string()};
    if (i + 1 < pieces.size()) {
        // named, not a temporary in the co_await expression (GCC 12 destroys those twice)
        auto both = read_data_block(c, pieces[i].hash, key, pieces[i].size) &&
                    read_data_block(c, pieces[i + 1].hash, key, pieces[i + 1].size);
        auto res = co_await std::move(both);
        out.first = std::move(std::get<0>(res));
        out.second = std::move(std::get<1>(res));
    } else if (i < pieces.size()) {
        auto one = read_data_block(c, pieces[i].hash, key, pieces[i].size);
        out.first = co_await std::move(one);
    }
    co_return out;
}

/** Writes pieces `i` and `i + 1` (if any) from `pair` to the response.
    @return False as soon as a block could not be read or a write failed (the caller stops). */
template <class Ctx>
net::awaitable<bool> write_pair(Ctx& c, std::vector<block_piece> const& pieces, std::size_t i,
                                block_pair const& pair)
{
    for (std::size_t k = 0; k < 2 && i + k < pieces.size(); ++k) {
        auto const& bytes = k == 0 ? pair.first : pair.second;
        if (!bytes) {
            co_return false;
        }
        auto const& p = pieces[i + k];
        auto w = c.ex.write_body(std::string_view(*bytes).substr(p.from, p.to - p.from), p.last);
        if (!(co_await std::move(w))) {
            co_return false;
        }
    }
    co_return true;
}

/// A byte range `[start, end)`.
struct byte_range {
    std::uint64_t start = 0; ///< first byte
    std::uint64_t end = 0;   ///< one past the last byte
};

/** Parses a `Range` header against an object of `size` bytes.
    @return The range; nullopt to serve the whole object (absent, several ranges, not bytes).
    Throws 416 InvalidRange when unsatisfiable. */
inline std::optional<byte_range> parse_range(std::optional<std::string_view> header, std::uint64_t size)
{
    if (!header) {
        return std::nullopt;
    }
    std::string_view h = *header;
    if (!h.starts_with("bytes=") || h.find(',') != std::string_view::npos) {
        return std::nullopt;
    }
    h.remove_prefix(6);
    auto dash = h.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    auto num = [](std::string_view s) -> std::optional<std::uint64_t> {
        if (s.empty() || s.size() > 19) {
            return std::nullopt;
        }
        std::uint64_t v = 0;
        for (char ch : s) {
            if (ch < '0' || ch > '9') {
                return std::nullopt;
            }
            v = v * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        return v;
    };
    auto first = h.substr(0, dash);
    auto last = h.substr(dash + 1);
    auto unsatisfiable = [&] {
        throw s3_exception{s3_error{"InvalidRange", 416, "The requested range is not satisfiable"},
                           "bytes */" + std::to_string(size)};
    };
    if (first.empty()) {
        auto n = num(last);
        if (!n) {
            return std::nullopt;
        }
        if (*n == 0) {
            unsatisfiable();
        }
        return byte_range{size - std::min(*n, size), size};
    }
    auto a = num(first);
    if (!a) {
        return std::nullopt;
    }
    std::uint64_t end = size;
    if (!last.empty()) {
        auto b = num(last);
        if (!b || *b < *a) {
            return std::nullopt;
        }
        end = std::min(*b + 1, size);
    }
    if (*a >= size) {
        unsatisfiable();
    }
    return byte_range{*a, end};
}

/// Whether an ETag list (`If-Match` style) contains `etag` or `*`.
inline bool etag_list_matches(std::string_view list, std::string_view etag)
{
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (item.starts_with("W/")) {
            item.remove_prefix(2);
        }
        if (item == "*" || unquote(item) == etag) {
            return true;
        }
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return false;
}

/** Evaluates the conditional headers (RFC 7232 §6).
    @return 0 to go on, 304 or 412. */
template <class Ctx>
unsigned check_conditions(Ctx const& c, std::string_view etag, std::uint64_t timestamp)
{
    auto const secs = timestamp / 1000 * 1000;
    if (auto v = c.header("if-match")) {
        if (!etag_list_matches(*v, etag)) {
            return 412;
        }
    } else if (auto v = c.header("if-unmodified-since")) {
        if (auto t = parse_http_date(*v); t && secs > *t) {
            return 412;
        }
    }
    if (auto v = c.header("if-none-match")) {
        if (etag_list_matches(*v, etag)) {
            return 304;
        }
    } else if (auto v = c.header("if-modified-since")) {
        if (auto t = parse_http_date(*v); t && secs <= *t) {
            return 304;
        }
    }
    return 0;
}

/// GetObject / HeadObject.
template <class Ctx>
net::awaitable<void> handle_get_object(Ctx& c, bool head)
{
    namespace bh = boost::beast::http;
    auto obj = co_await read_entry(c, c.model.object_table(), c.bucket_id, c.r.key);
    model::object_version const* v = obj ? obj->last_complete() : nullptr;
    if (v == nullptr || !v->is_data()) {
        fail(s3_error::no_such_key());
    }
    auto const& meta = *v->meta();

    http::response_header h;
    h.version(11);
    h.set("ETag", quote_etag(meta.etag));
    h.set("Last-Modified", http_date(v->timestamp));
    h.set("x-amz-version-id", hex(v->uuid));
    if (auto cond = check_conditions(c, meta.etag, v->timestamp)) {
        if (cond == 412) {
            fail(s3_error{"PreconditionFailed", 412,
                          "At least one of the preconditions you specified did not hold"});
        }
        h.result(bh::status::not_modified);
        (void)co_await c.ex.write_header(std::move(h));
        (void)co_await c.ex.write_body({}, true);
        co_return;
    }

    // SSE-C: the key must open the metadata (after the conditions, as Garage does).
    auto const sse = request_sse_c_key(c.headers, sse_c_headers::object);
    auto const* const key = key_ptr(sse);
    auto const inner = open_meta(meta.encryption, key);
    for (auto const& [name, value] : key ? sse_c_response_headers(*key) : header_pairs{}) {
        h.set(name, value);
    }

    if (c.r.param("partNumber") && c.header("range")) {
        fail(s3_error::invalid_request("Bad request: Cannot specify both partNumber and Range header"));
    }
    auto const& data = std::get<model::version_complete>(v->state).data;
    // Blocks in (part, offset) order; their positions in the object are cumulative.
    std::vector<model::version_block> blocks;
    std::vector<std::uint64_t> block_parts;
    // The first block, read before the version when it may be the whole object.
    std::optional<std::string> first_bytes;
    auto const* const fb = std::get_if<model::first_block>(&data);
    bool const part_number = c.r.param("partNumber").has_value();
    if (fb != nullptr && !head && !part_number && meta.size <= c.settings.block_size) {
        // Blocks are never empty, so a first block as long as the object is its only block:
        // then the version entry is not needed (a GET of a one-block object is one quorum read,
        // the object's, and usually a local block read). Otherwise the version says the rest.
        auto read_first = read_data_block(c, fb->hash, key, meta.size);
        auto got = co_await std::move(read_first);
        if (got && got->size() == meta.size) {
            blocks.push_back(model::version_block{fb->hash, meta.size});
            block_parts.push_back(1);
            first_bytes = std::move(*got);
        }
    }
    // A HEAD needs the blocks only to count the parts of `partNumber`.
    if (fb != nullptr && !first_bytes && (!head || part_number)) {
        auto ver = co_await read_entry(c, c.model.version_table(), v->uuid, table::empty_key{});
        if (!ver || ver->is_tombstone()) {
            fail(s3_error::internal("conflict/inconsistency between object and version state"));
        }
        for (auto const& b : ver->blocks.items()) {
            blocks.push_back(b.value);
            block_parts.push_back(b.key.part_number);
        }
    }
    auto range = parse_range(c.header("range"), meta.size);
    if (auto pn = c.r.param("partNumber")) {
        auto const n = parse_u64(*pn, "partNumber");
        std::uint64_t parts = 1;
        if (blocks.empty()) {
            if (n != 1) {
                fail(s3_error{"InvalidPart", 400, "Part not found"});
            }
            range = byte_range{0, meta.size};
        } else {
            std::optional<byte_range> part;
            std::uint64_t pos = 0;
            parts = 0;
            for (std::size_t i = 0; i < blocks.size(); ++i) {
                if (i == 0 || block_parts[i] != block_parts[i - 1]) {
                    ++parts;
                }
                if (parts == n) {
                    if (!part) {
                        part = byte_range{pos, pos};
                    }
                    part->end = pos + blocks[i].size;
                }
                pos += blocks[i].size;
            }
            if (!part) {
                fail(s3_error{"InvalidPart", 400, "Part not found"});
            }
            range = part;
        }
        h.set("x-amz-mp-parts-count", std::to_string(parts));
    }

    if (auto const* hs = &inner.headers; !hs->empty()) {
        for (std::size_t i = 0; i < hs->size(); ++i) {
            auto const& [name, value] = (*hs)[i];
            bool seen = false;
            for (std::size_t j = 0; j < i; ++j) {
                seen = seen || (*hs)[j].first == name;
            }
            if (seen) {
                continue;
            }
            std::string joined = value;
            for (std::size_t j = i + 1; j < hs->size(); ++j) {
                if ((*hs)[j].first == name) {
                    joined += "," + (*hs)[j].second;
                }
            }
            h.set(name, joined);
        }
    }
    if (!range) {
        static constexpr std::pair<std::string_view, std::string_view> overrides[] = {
            {"response-cache-control", "Cache-Control"},
            {"response-content-disposition", "Content-Disposition"},
            {"response-content-encoding", "Content-Encoding"},
            {"response-content-language", "Content-Language"},
            {"response-content-type", "Content-Type"},
            {"response-expires", "Expires"}};
        for (auto const& [param, header] : overrides) {
            if (auto val = c.r.param(param)) {
                h.set(header, *val);
            }
        }
        if (c.header("x-amz-checksum-mode") == std::optional<std::string_view>("ENABLED")) {
            if (auto const& cs = inner.checksum) {
                auto cv = from_model(*cs);
                h.set(checksum_header_name(cv.algorithm()), cv.to_base64());
            }
        }
    }
    h.set("Accept-Ranges", "bytes");
    byte_range const r = range.value_or(byte_range{0, meta.size});
    if (range) {
        h.result(bh::status::partial_content);
        h.set("Content-Range", "bytes " + std::to_string(r.start) + "-" + std::to_string(r.end - 1) + "/" +
                                   std::to_string(meta.size));
    } else {
        h.result(bh::status::ok);
    }
    h.set(bh::field::content_length, std::to_string(r.end - r.start));

    if (head) {
        (void)co_await c.ex.write_header(std::move(h));
        (void)co_await c.ex.write_body({}, true);
        co_return;
    }
    if (auto const* in = std::get_if<model::inline_data>(&data)) {
        auto const bytes = value_or_fail(open_data(in->bytes, key));
        (void)co_await c.ex.write_header(std::move(h));
        (void)co_await c.ex.write_body(std::string_view(bytes).substr(r.start, r.end - r.start), true);
        co_return;
    }
    if (!(co_await c.ex.write_header(std::move(h)))) {
        co_return;
    }
    // The blocks overlapping the range, and which bytes of each to send.
    std::vector<block_piece> pieces;
    std::uint64_t pos = 0;
    for (auto const& b : blocks) {
        auto const bstart = pos;
        auto const bend = pos + b.size;
        pos = bend;
        if (bend <= r.start || bstart >= r.end) {
            continue;
        }
        pieces.push_back({b.hash, std::max(r.start, bstart) - bstart, std::min(r.end, bend) - bstart,
                          bend >= r.end, b.size});
        if (pieces.back().last) {
            break;
        }
    }
    // Pipelined two blocks at a time: while blocks i and i+1 are written to the socket, blocks
    // i+2 and i+3 are read, verified, decompressed and opened on the blocking executor, in
    // parallel (hash verification is the bottleneck of a large GET; the pool has 2 threads).
    using namespace net::experimental::awaitable_operators;
    auto const n = pieces.size();
    block_pair cur;
    if (n == 1 && first_bytes) {
        cur.first = std::move(*first_bytes); // the object's only block, read above
    } else if (n > 0) {
        auto first = read_block_pair(c, pieces, 0, key);
        cur = co_await std::move(first);
    }
    for (std::size_t i = 0; i < n; i += 2) {
        bool ok = true;
        if (i + 2 < n) {
            auto both = write_pair(c, pieces, i, cur) && read_block_pair(c, pieces, i + 2, key);
            auto res = co_await std::move(both);
            ok = std::get<0>(res);
            cur = std::move(std::get<1>(res));
        } else {
            auto last = write_pair(c, pieces, i, cur);
            ok = co_await std::move(last);
        }
        if (!ok) {
            co_return; // a failed block or write: the connection closes, the body is truncated
        }
    }
    if (pieces.empty() || !pieces.back().last) {
        (void)co_await c.ex.write_body({}, true);
    }
}

} // namespace garage::api::s3::detail
