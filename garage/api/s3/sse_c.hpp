#pragma once
/** @file
    SSE-C, server-side encryption with customer-provided keys (GARAGE-REFERENCE §1.9): the
    request headers, the customer key, and the AES-256-GCM sealing of object metadata, inline
    data and data blocks.

    A sealed buffer is `nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`: 28 bytes more
    than the plaintext. Every call to @ref garage::api::s3::sse_c_key::encrypt draws a new
    nonce, so sealing the same bytes twice gives different results. Nothing about the key is
    stored with the object: a wrong key is detected when the metadata fails to open.
*/

#include <garage/api/common/request_view.hpp>
#include <garage/api/s3/error.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::api::s3 {

/// The only SSE-C algorithm (`x-amz-server-side-encryption-customer-algorithm`).
inline constexpr std::string_view sse_c_algorithm = "AES256";

/// Which set of SSE-C request headers to read.
enum class sse_c_headers {
    object,      ///< `x-amz-server-side-encryption-customer-*`: the object written or read
    copy_source, ///< `x-amz-copy-source-server-side-encryption-customer-*`: a copy's source
};

/** A value or the S3 error to answer (SSE-C failures are client errors).
    @tparam T The value type. Use `has_value()`, `*r` and `error()`. */
template <class T>
using sse_c_result = boost::system::result<T, s3_error>;

/** A customer's AES-256 key and its MD5, able to seal and open buffers with AES-256-GCM.

    The key bytes are wiped when the object is destroyed.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (every member function is const and uses
    its own cipher context).

    @par Example
    @code
    auto key = api::s3::sse_c_key::from_bytes(raw32).value();
    std::string sealed = key.encrypt("hello");           // 5 + 28 bytes
    std::optional<std::string> back = key.decrypt(sealed); // "hello"; nullopt if tampered
    @endcode */
class sse_c_key {
public:
    static constexpr std::size_t key_size = 32;                    ///< AES-256
    static constexpr std::size_t nonce_size = 12;                  ///< GCM's 96-bit nonce
    static constexpr std::size_t tag_size = 16;                    ///< GCM's tag
    static constexpr std::size_t overhead = nonce_size + tag_size; ///< sealed size − plain size

    /** @param key The raw key.
        @return The key; nullopt unless `key` has exactly @ref key_size bytes. */
    static std::optional<sse_c_key> from_bytes(std::string_view key);

    /** Copies the key and its MD5 (the copy wipes its own bytes when destroyed).
        @param other The key to copy. */
    sse_c_key(sse_c_key const& other) = default;
    /** Replaces this key and its MD5 by those of `other`.
        @param other The key to copy.
        @return `*this`. */
    sse_c_key& operator=(sse_c_key const& other) = default;
    /// Wipes the key bytes.
    ~sse_c_key();

    /// @return The raw key bytes.
    std::string_view bytes() const noexcept
    {
        return {reinterpret_cast<char const*>(key_.data()), key_.size()};
    }
    /// @return The raw MD5 of the key (16 bytes).
    std::string_view key_md5() const noexcept
    {
        return {reinterpret_cast<char const*>(md5_.data()), md5_.size()};
    }
    /// @return The base64 MD5 of the key, as echoed in `…-customer-key-MD5`.
    std::string key_md5_base64() const;

    /** Seals `plain` with a fresh random nonce.
        @param plain The bytes to encrypt.
        @return `nonce ‖ ciphertext ‖ tag`, `plain.size() + overhead` bytes. */
    std::string encrypt(std::string_view plain) const;

    /** Opens a buffer sealed by @ref encrypt with this key.
        @param sealed `nonce ‖ ciphertext ‖ tag`.
        @return The plaintext; nullopt when `sealed` is too short, was sealed with another key,
                or was modified (the tag does not verify). */
    std::optional<std::string> decrypt(std::string_view sealed) const;

    /// Equal when the keys are equal (compared in constant time).
    friend bool operator==(sse_c_key const& a, sse_c_key const& b) noexcept;

private:
    sse_c_key() = default;

    std::array<unsigned char, key_size> key_{};
    std::array<unsigned char, 16> md5_{};
};

/** Reads the SSE-C headers of a request.
    @param headers The request headers.
    @param which   The object's headers or the copy source's.
    @return nullopt when none of the three headers is present; the key when all three are
            valid; else the error to answer: `InvalidEncryptionAlgorithmError` for an algorithm
            other than `AES256`, `InvalidRequest` when one header is missing, the key is not
            base64 of 32 bytes, the MD5 is not base64 or does not match the key. */
sse_c_result<std::optional<sse_c_key>> parse_sse_c_headers(std::span<header_field const> headers,
                                                           sse_c_headers which);

/** The response headers that echo an SSE-C key: the algorithm and the key's MD5.
    @param key The key used.
    @return The two (name, value) pairs. */
std::vector<std::pair<std::string, std::string>> sse_c_response_headers(sse_c_key const& key);

/** @return The ETag of a new SSE-C object: 16 random bytes in hex (the MD5 of the plaintext
            would tell something about it). */
std::string sse_c_random_etag();

} // namespace garage::api::s3
