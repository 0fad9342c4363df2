#pragma once
/** @file
    SSE-C inside the S3 handlers (GARAGE-REFERENCE §1.9): the keys a request names, sealing and
    opening an object's metadata and inline data, reading its blocks in clear, and a reader of
    a byte range of stored blocks (the source of a copy). */

#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/sse_c.hpp>
#include <garage/block/error.hpp>
#include <garage/model/object.hpp>
#include <garage/model/version.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/hasher.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::api::s3::detail {

/** The SSE-C key a request names (`which` headers), if any.
    @return The key or nullopt; throws the S3 error of malformed headers. */
inline std::optional<sse_c_key> request_sse_c_key(std::span<header_field const> headers, sse_c_headers which)
{
    auto r = parse_sse_c_headers(headers, which);
    if (!r) {
        fail(r.error());
    }
    return std::move(*r);
}

/// @return `k`'s address, or null when there is no key.
inline sse_c_key const* key_ptr(std::optional<sse_c_key> const& k) noexcept
{
    return k ? &*k : nullptr;
}

/** How to store metadata `inner`: in clear, or sealed with `key` (the data is then sealed
    too, not compressed before).
    @return The version's encryption. */
inline model::object_version_encryption seal_meta(model::object_version_meta_inner inner,
                                                  sse_c_key const* key)
{
    if (key == nullptr) {
        return model::encryption_plaintext{std::move(inner)};
    }
    return model::encryption_sse_c{key->encrypt(util::encode(inner)), false};
}

/** Opens stored metadata with the key a request gave. Throws 400 InvalidRequest when an
    encrypted object is read without a key, a plaintext object with one, or the key is not
    the object's.
    @return The headers and checksum in clear. */
inline model::object_version_meta_inner open_meta(model::object_version_encryption const& enc,
                                                  sse_c_key const* key)
{
    if (auto const* pt = std::get_if<model::encryption_plaintext>(&enc)) {
        if (key != nullptr) {
            fail(s3_error::invalid_request("Bad request: Trying to decrypt a plaintext object"));
        }
        return pt->inner;
    }
    if (key == nullptr) {
        fail(s3_error::invalid_request("Bad request: Object is encrypted"));
    }
    auto plain = key->decrypt(std::get<model::encryption_sse_c>(enc).inner);
    if (!plain) {
        fail(s3_error::invalid_request(
            "Bad request: Invalid encryption key, could not decrypt object metadata"));
    }
    auto inner = util::decode<model::object_version_meta_inner>(*plain);
    if (!inner) {
        fail(s3_error::internal("Could not decode object metadata: " + inner.error().message));
    }
    return std::move(*inner);
}

/** An object's version metadata, its headers and checksum sealed with `key` if not null.
    @return The metadata to store. */
inline model::object_version_meta make_meta(std::uint64_t size, std::string etag, model::header_list headers,
                                            std::optional<model::checksum_value> checksum,
                                            sse_c_key const* key)
{
    return model::object_version_meta{
        size, std::move(etag),
        seal_meta(model::object_version_meta_inner{std::move(headers), std::move(checksum)}, key)};
}

/// @return The stored form of inline data: `plain`, or sealed with `key`.
inline std::string seal_data(std::string plain, sse_c_key const* key)
{
    return key == nullptr ? std::move(plain) : key->encrypt(plain);
}

/** @param stored Inline data or a block as stored. @param key The object's key (already
    checked against its metadata), or null.
    @return The data in clear; `block::error::corrupt_block` if a sealed copy does not open. */
inline util::result<std::string> open_data(std::string stored, sse_c_key const* key)
{
    if (key == nullptr) {
        return stored;
    }
    auto plain = key->decrypt(stored);
    if (!plain) {
        return util::failure(block::error::corrupt_block, "encrypted object data does not authenticate");
    }
    return std::move(*plain);
}

/// @return A new object's ETag: the hex MD5 of its data, or random bytes for SSE-C.
inline std::string new_etag(util::md5_digest const& md5, sse_c_key const* key)
{
    return key == nullptr ? util::to_hex(util::digest_view(md5)) : sse_c_random_etag();
}

/// Adds the response headers echoing `key` (algorithm and key MD5), if any.
inline void add_sse_c_headers(std::vector<std::pair<std::string, std::string>>& out, sse_c_key const* key)
{
    if (key != nullptr) {
        for (auto& h : sse_c_response_headers(*key)) {
            out.push_back(std::move(h));
        }
    }
}

/** Reads block `hash` of an object and opens it with `key` (on the blocking executor, unless its
    `size` says it is a small block kept in the metadata DB: then inline).
    @return The block's data in clear; errors of the block store, or `corrupt_block`. */
template <class Ctx>
net::awaitable<util::result<std::string>> read_data_block(Ctx& c, util::hash32 hash, sse_c_key const* key,
                                                          std::uint64_t size = UINT64_MAX)
{
    bool missing = false; // the local read failed (not the opening)
    auto read = [&c, hash, key, &missing]() -> util::result<std::string> {
        auto bytes = c.blocks.read_block(hash);
        if (!bytes) {
            missing = true;
            return bytes;
        }
        return open_data(std::move(*bytes), key);
    };
    util::result<std::string> got = util::failure(util::error::io_error, "unread");
    if (size <= c.blocks.options().small_block_max_size) {
        // kept in the metadata DB: a memory-mapped read and a hash of a few KiB, cheaper than
        // the two thread hand-offs of the blocking executor
        got = read();
    } else {
        got = co_await offload(c.blocking, read);
    }
    if (!got && missing && c.cluster != nullptr && c.cluster->fetches_blocks()) {
        // not here (or a bad copy here, set aside by the block store): from another node
        auto remote = co_await c.cluster->get_block(hash);
        if (!remote) {
            co_return remote;
        }
        co_return open_data(std::move(*remote), key);
    }
    co_return got;
}

/** Reads a byte range of a stored (block) object version in clear, as a body for
    @ref write_blocks, computing its MD5.

    @tparam Ctx The handler context. */
template <class Ctx>
class block_range_reader {
public:
    /** @param c The context. @param blocks The source's blocks in order.
        @param start First byte. @param end One past the last byte.
        @param key The source's SSE-C key, or null; it must outlive the reader. */
    block_range_reader(Ctx& c, std::vector<model::version_block> blocks, std::uint64_t start,
                       std::uint64_t end, sse_c_key const* key)
        : c_(c), blocks_(std::move(blocks)), start_(start), end_(end), key_(key)
    {
    }

    /** A reader over an inline object's content (already in clear), for the same range.
        @param c The context. @param bytes The content. @param start First byte.
        @param end One past the last byte. */
    block_range_reader(Ctx& c, std::string bytes, std::uint64_t start, std::uint64_t end)
        : c_(c), start_(start), end_(end), key_(nullptr), inline_(std::move(bytes))
    {
    }

    /// Appends the next block's bytes within the range. @return false at the end.
    net::awaitable<bool> read(std::string& out)
    {
        if (inline_) {
            std::string_view const piece = std::string_view(*inline_).substr(start_, end_ - start_);
            md5_.update(piece);
            out.append(piece);
            inline_.reset();
            co_return false;
        }
        while (next_ < blocks_.size()) {
            auto const b = blocks_[next_++];
            auto const bstart = pos_;
            auto const bend = pos_ + b.size;
            pos_ = bend;
            if (bend <= start_ || bstart >= end_) {
                continue;
            }
            auto bytes = co_await read_data_block(c_, b.hash, key_);
            if (!bytes) {
                fail(bytes.error());
            }
            auto const from = std::max(start_, bstart) - bstart;
            auto const to = std::min(end_, bend) - bstart;
            std::string_view piece = std::string_view(*bytes).substr(from, to - from);
            md5_.update(piece);
            out.append(piece);
            co_return true;
        }
        co_return false;
    }

    /// The MD5 of what was read (once at the end).
    util::md5_digest md5() { return md5_.finalize(); }

private:
    Ctx& c_;
    std::vector<model::version_block> blocks_;
    std::uint64_t start_;
    std::uint64_t end_;
    sse_c_key const* key_;
    std::optional<std::string> inline_; // an inline source's content, until read
    std::size_t next_ = 0;
    std::uint64_t pos_ = 0;
    util::md5_hasher md5_;
};

} // namespace garage::api::s3::detail
