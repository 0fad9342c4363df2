#pragma once
/** @file
    Streaming and one-shot message digests: BLAKE2b (Garage's `blake2sum`), SHA-256, MD5 (S3
    ETags) and SHA-1 (S3 checksums). The streaming hashers go through OpenSSL EVP; the
    one-shot `blake2sum` uses libb2 below 4 KiB (OpenSSL above) and `sha256sum` OpenSSL's low-level SHA-256,
   which skip EVP's per-call set-up (as costly as hashing a short key).

    OpenSSL's headers are kept out of this file: the digest context is an opaque pointer.
*/

#include <garage/util/bytes32.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

struct evp_md_ctx_st; // OpenSSL's EVP_MD_CTX

namespace garage::util {

/// A 16-byte MD5 digest.
using md5_digest = std::array<std::uint8_t, 16>;
/// A 20-byte SHA-1 digest.
using sha1_digest = std::array<std::uint8_t, 20>;

namespace detail {

/// The digests OpenSSL computes for us; each is fetched once per process.
enum class digest_id { blake2b512, sha256, md5, sha1 };

/** An EVP digest context: the untyped engine of @ref basic_hasher.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class evp_hasher {
public:
    explicit evp_hasher(digest_id id);
    evp_hasher(evp_hasher&& other) noexcept
        : ctx_(std::move(other.ctx_)), id_(other.id_), initialized_(std::exchange(other.initialized_, false))
    {
    }
    evp_hasher& operator=(evp_hasher&& other) noexcept
    {
        ctx_ = std::move(other.ctx_);
        id_ = other.id_;
        initialized_ = std::exchange(other.initialized_, false);
        return *this;
    }
    evp_hasher(evp_hasher const&) = delete;
    evp_hasher& operator=(evp_hasher const&) = delete;
    ~evp_hasher() = default;

    void update(void const* data, std::size_t size);
    /// Writes the first `size` bytes of the digest to `out` and makes the context fresh again.
    void finalize_to(std::uint8_t* out, std::size_t size);
    void reset();

private:
    struct ctx_deleter {
        void operator()(evp_md_ctx_st* ctx) const noexcept;
    };
    void ensure_initialized();

    std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx_;
    digest_id id_;
    bool initialized_ = false;
};

} // namespace detail

/// BLAKE2b-512 truncated to its first 32 bytes (Garage's `blake2sum`, block and Merkle hashes).
struct blake2b_algorithm {
    /// The type of the digest.
    using digest_type = hash32;
    /// Selects the OpenSSL digest (internal).
    static constexpr detail::digest_id id = detail::digest_id::blake2b512;
};
/// SHA-256 (SigV4 payload hashes, `x-amz-checksum-sha256`).
struct sha256_algorithm {
    /// The type of the digest.
    using digest_type = hash32;
    /// Selects the OpenSSL digest (internal).
    static constexpr detail::digest_id id = detail::digest_id::sha256;
};
/// MD5 (S3 ETags, `Content-MD5`).
struct md5_algorithm {
    /// The type of the digest.
    using digest_type = md5_digest;
    /// Selects the OpenSSL digest (internal).
    static constexpr detail::digest_id id = detail::digest_id::md5;
};
/// SHA-1 (`x-amz-checksum-sha1`).
struct sha1_algorithm {
    /// The type of the digest.
    using digest_type = sha1_digest;
    /// Selects the OpenSSL digest (internal).
    static constexpr detail::digest_id id = detail::digest_id::sha1;
};

/** A streaming hasher: feed bytes with `update`, take the digest with `finalize`.

    After `finalize()` (or `reset()`) the hasher starts a new, empty message, so one object can
    hash many messages. Movable, not copyable; a moved-from hasher hashes a new, empty message.
    OpenSSL failures (out of memory) abort the process.

    @tparam Algorithm One of @ref blake2b_algorithm, @ref sha256_algorithm, @ref md5_algorithm,
    @ref sha1_algorithm, which names the digest and its `digest_type`.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    util::blake2b_hasher h;
    h.update("hello ");
    h.update("world");
    util::hash32 digest = h.finalize(); // == util::blake2sum("hello world")
    @endcode
*/
template <class Algorithm>
class basic_hasher {
public:
    /// The value `finalize` returns.
    using digest_type = typename Algorithm::digest_type;

    /// A hasher of the empty message.
    basic_hasher() : impl_(Algorithm::id) {}

    /** Appends bytes to the message.
        @param data The bytes. */
    void update(std::string_view data) { impl_.update(data.data(), data.size()); }

    /** Finishes the message; the hasher then starts a new one.
        @return The digest of everything passed to `update` since construction, `reset` or
        `finalize`. */
    digest_type finalize()
    {
        digest_type out{};
        impl_.finalize_to(out.data(), out.size());
        return out;
    }

    /// Forgets the message fed so far.
    void reset() { impl_.reset(); }

private:
    detail::evp_hasher impl_;
};

/// Streaming BLAKE2b-512 truncated to 32 bytes.
using blake2b_hasher = basic_hasher<blake2b_algorithm>;
/// Streaming SHA-256.
using sha256_hasher = basic_hasher<sha256_algorithm>;
/// Streaming MD5.
using md5_hasher = basic_hasher<md5_algorithm>;
/// Streaming SHA-1.
using sha1_hasher = basic_hasher<sha1_algorithm>;

/** BLAKE2b-512 of `data` truncated to 32 bytes (Garage's `blake2sum`).

    libb2's one-shot BLAKE2b: no context to set up, no allocation.
    @param data The message.
    @return The first 32 bytes of its BLAKE2b-512 digest.
    @par Thread Safety
    Safe.
*/
hash32 blake2sum(std::string_view data);

/** SHA-256 of a message, with OpenSSL's low-level functions (a context on the stack). Thread-safe.
    @param data The message.
    @return Its digest. */
hash32 sha256sum(std::string_view data);

/** MD5 of a message. Thread-safe; reuses one context per thread.
    @param data The message.
    @return Its digest. */
md5_digest md5sum(std::string_view data);

/** SHA-1 of a message. Thread-safe; reuses one context per thread.
    @param data The message.
    @return Its digest. */
sha1_digest sha1sum(std::string_view data);

/** The bytes of a fixed-size digest as a view (for `to_hex`, `to_base64`, comparisons).
    @tparam N The digest's size in bytes.
    @param digest The digest.
    @return A view of its bytes, valid as long as `digest`. */
template <std::size_t N>
std::string_view digest_view(std::array<std::uint8_t, N> const& digest) noexcept
{
    return {reinterpret_cast<char const*>(digest.data()), N};
}

} // namespace garage::util
