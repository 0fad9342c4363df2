#pragma once
/** @file
    S3 object checksums: CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256 (`x-amz-checksum-*`) and MD5
    (`Content-MD5`, the ETag), streaming and several at once.

    CRC32 and CRC32C come from ISA-L (`crc32_gzip_refl`: reflected 0xEDB88320; `crc32_iscsi`:
    reflected Castagnoli 0x82F63B78), CRC64NVME is computed here (ISA-L 2.30 lacks it), the
    digests come from @ref garage/util/hasher.hpp. Checksum values travel as base64 of their
    big-endian bytes.

    Garage 1.2 supports CRC32, CRC32C, SHA1 and SHA256; CRC64NVME (the default of recent AWS
    SDKs) is supported here too.
*/

#include <garage/api/common/error.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>
#include <garage/util/hasher.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace garage::api {

/// The checksum algorithms of `x-amz-checksum-algorithm`.
enum class checksum_algorithm {
    crc32,     ///< CRC-32 (IEEE 802.3, as zlib/gzip), 4 bytes
    crc32c,    ///< CRC-32C (Castagnoli, as iSCSI), 4 bytes
    crc64nvme, ///< CRC-64/NVME, 8 bytes
    sha1,      ///< SHA-1, 20 bytes
    sha256,    ///< SHA-256, 32 bytes
};

/// Every algorithm, in declaration order.
inline constexpr std::array<checksum_algorithm, 5> all_checksum_algorithms{
    checksum_algorithm::crc32, checksum_algorithm::crc32c, checksum_algorithm::crc64nvme,
    checksum_algorithm::sha1, checksum_algorithm::sha256};

/** The S3 name of an algorithm, as in `x-amz-checksum-algorithm` and XML bodies.
    @param algo The algorithm.
    @return `"CRC32"`, `"CRC32C"`, `"CRC64NVME"`, `"SHA1"` or `"SHA256"`. */
std::string_view to_string(checksum_algorithm algo) noexcept;

/** The header (or trailer field) that carries a value of an algorithm.
    @param algo The algorithm.
    @return The lower-case name: `"x-amz-checksum-crc32"`, `"x-amz-checksum-crc32c"`, ... */
std::string_view checksum_header_name(checksum_algorithm algo) noexcept;

/** The size of a value of an algorithm.
    @param algo The algorithm.
    @return Its size in bytes: 4 (CRC32, CRC32C), 8 (CRC64NVME), 20 (SHA-1) or 32 (SHA-256). */
std::size_t checksum_size(checksum_algorithm algo) noexcept;

/** Parses an S3 algorithm name (case-insensitive), the inverse of @ref to_string.
    @param name The name, e.g. `CRC32C` or `sha256`.
    @return The algorithm, or `error::invalid_checksum_algorithm` for an unknown name. */
util::result<checksum_algorithm> parse_checksum_algorithm(std::string_view name);

/** A checksum value: an algorithm and its big-endian bytes.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (read only).
*/
class checksum_value {
public:
    /// A CRC32 of zero (a placeholder; real values come from the factories).
    checksum_value() = default;

    /** A value from its raw bytes.
        @param algo The algorithm.
        @param raw  The big-endian bytes; exactly `checksum_size(algo)` of them.
        @return The value, or `error::invalid_checksum_value` if `raw` has the wrong size. */
    static util::result<checksum_value> from_bytes(checksum_algorithm algo, std::string_view raw);

    /** A value from the base64 text of a header or trailer.
        @param algo The algorithm (the one the header's name gives).
        @param text The base64 text.
        @return The value, or `error::invalid_checksum_value` if `text` is not base64 of
        exactly the algorithm's size. */
    static util::result<checksum_value> from_base64(checksum_algorithm algo, std::string_view text);

    /** A value from a computed CRC.
        @param algo `crc32`, `crc32c` or `crc64nvme`.
        @param crc  The CRC; CRC32 and CRC32C use its low 32 bits.
        @return The value, its bytes the CRC in big-endian order. */
    static checksum_value from_crc(checksum_algorithm algo, std::uint64_t crc) noexcept;

    /// @return The algorithm.
    checksum_algorithm algorithm() const noexcept { return algorithm_; }
    /// @return The raw big-endian bytes (4, 8, 20 or 32 of them), a view into this object.
    std::string_view bytes() const noexcept
    {
        return {reinterpret_cast<char const*>(bytes_.data()), checksum_size(algorithm_)};
    }
    /// @return Base64 of the bytes, as in `x-amz-checksum-*` headers and XML bodies.
    std::string to_base64() const;

    /// Same algorithm and same bytes.
    friend bool operator==(checksum_value const& a, checksum_value const& b) noexcept
    {
        return a.algorithm_ == b.algorithm_ && a.bytes() == b.bytes();
    }

private:
    checksum_algorithm algorithm_ = checksum_algorithm::crc32;
    std::array<std::uint8_t, 32> bytes_{};
};

/** Streaming CRC-32 (reflected 0xEDB88320, init and final XOR all ones; ISA-L).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class crc32_hasher {
public:
    /** Appends bytes to the checksummed stream.
        @param data The bytes (any length, possibly empty). */
    void update(std::string_view data) noexcept;
    /// @return The CRC of everything appended since construction or @ref reset (does not reset).
    std::uint32_t value() const noexcept { return crc_; }
    /// Starts again.
    void reset() noexcept { crc_ = 0; }

private:
    std::uint32_t crc_ = 0;
};

/** Streaming CRC-32C (reflected 0x82F63B78; ISA-L `crc32_iscsi`).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class crc32c_hasher {
public:
    /** Appends bytes to the checksummed stream.
        @param data The bytes (any length, possibly empty). */
    void update(std::string_view data) noexcept;
    /// @return The CRC of everything appended since construction or @ref reset (does not reset).
    std::uint32_t value() const noexcept { return ~state_; }
    /// Starts again.
    void reset() noexcept { state_ = 0xFFFFFFFFu; }

private:
    std::uint32_t state_ = 0xFFFFFFFFu;
};

/** Streaming CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5, init and final XOR all ones).

    Check value: `"123456789"` → 0xAE8B14860A799888.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class crc64nvme_hasher {
public:
    /** Appends bytes to the checksummed stream.
        @param data The bytes (any length, possibly empty). */
    void update(std::string_view data) noexcept;
    /// @return The CRC of everything appended since construction or @ref reset (does not reset).
    std::uint64_t value() const noexcept { return ~state_; }
    /// Starts again.
    void reset() noexcept { state_ = ~std::uint64_t{0}; }

private:
    std::uint64_t state_ = ~std::uint64_t{0};
};

/** One-shot CRC-32, as @ref crc32_hasher.
    @param data The bytes.
    @return Their CRC-32 (of `"123456789"`: 0xCBF43926). */
std::uint32_t crc32(std::string_view data) noexcept;
/** One-shot CRC-32C, as @ref crc32c_hasher.
    @param data The bytes.
    @return Their CRC-32C (of `"123456789"`: 0xE3069283). */
std::uint32_t crc32c(std::string_view data) noexcept;
/** One-shot CRC-64/NVME, as @ref crc64nvme_hasher.
    @param data The bytes.
    @return Their CRC-64/NVME (of `"123456789"`: 0xAE8B14860A799888). */
std::uint64_t crc64nvme(std::string_view data) noexcept;

/// The results of a @ref checksummer; only the checksums it was asked for are set.
struct checksums {
    std::optional<util::md5_digest> md5;     ///< MD5 (ETag, `Content-MD5`)
    std::optional<checksum_value> crc32;     ///< CRC32
    std::optional<checksum_value> crc32c;    ///< CRC32C
    std::optional<checksum_value> crc64nvme; ///< CRC64NVME
    std::optional<checksum_value> sha1;      ///< SHA-1
    std::optional<checksum_value> sha256;    ///< SHA-256

    /** The value of one of the `x-amz-checksum-*` algorithms.
        @param algo The algorithm.
        @return Its value, or `nullopt` if it was not computed. */
    std::optional<checksum_value> get(checksum_algorithm algo) const;
};

/** Computes several checksums over one stream of bytes.

    @par Example
    @code
    api::checksummer c;
    c.add_md5().add(api::checksum_algorithm::crc32c);
    for (auto piece : body) c.update(piece);
    api::checksums sums = c.finalize();
    @endcode

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class checksummer {
public:
    /// Computes nothing until told.
    checksummer() = default;

    /** Also computes `algo` (idempotent). Add algorithms before the first @ref update.
        @param algo The algorithm.
        @return `*this`, for chaining. */
    checksummer& add(checksum_algorithm algo);
    /** Also computes `algo` if set; does nothing for `nullopt`.
        @param algo The algorithm, if any.
        @return `*this`, for chaining. */
    checksummer& add(std::optional<checksum_algorithm> algo) { return algo ? add(*algo) : *this; }
    /// Also computes MD5. @return `*this`.
    checksummer& add_md5();
    /** Whether an algorithm is being computed.
        @param algo The algorithm.
        @return True when `algo` has been added. */
    bool has(checksum_algorithm algo) const noexcept;
    /// @return True when MD5 is being computed (@ref add_md5 was called).
    bool has_md5() const noexcept { return md5_.has_value(); }

    /** Feeds bytes to every enabled checksum.
        @param data The next bytes of the stream. */
    void update(std::string_view data);

    /** Ends the stream; the checksummer then starts a new one, with the same algorithms.
        @return The checksums of everything fed since construction or the last `finalize`. */
    checksums finalize();

private:
    std::optional<util::md5_hasher> md5_;
    std::optional<crc32_hasher> crc32_;
    std::optional<crc32c_hasher> crc32c_;
    std::optional<crc64nvme_hasher> crc64nvme_;
    std::optional<util::sha1_hasher> sha1_;
    std::optional<util::sha256_hasher> sha256_;
};

/// What a request says its body's checksums are.
struct expected_checksums {
    std::optional<util::md5_digest> md5; ///< from `Content-MD5`
    std::optional<util::hash32> sha256;  ///< from `x-amz-content-sha256` (a hex hash)
    std::optional<checksum_value> extra; ///< from one `x-amz-checksum-*` header (or the trailer)
};

/** A checksummer computing what @ref verify_checksums needs to check `expected`: MD5 if
    `expected.md5` is set, SHA-256 if `expected.sha256` is, the algorithm of `expected.extra`.
    @param expected The checksums the request announced.
    @param with_md5 Also compute MD5 even if `expected` has none (for the ETag).
    @return A checksummer with those algorithms enabled, ready to be fed the body. */
checksummer make_checksummer(expected_checksums const& expected, bool with_md5);

/** Checks computed checksums against expected ones: MD5, then SHA-256, then the extra checksum.
    @param computed The result of a checksummer's `finalize()` over the body.
    @param expected What the request announced; unset members are not checked.
    @return Nothing if every expected value matches; `error::invalid_digest` naming the first
    mismatch (or an expected value that was not computed). */
util::result<void> verify_checksums(checksums const& computed, expected_checksums const& expected);

/** Parses a `Content-MD5` value (base64 of 16 bytes; surrounding `"` tolerated).
    @param value The header value.
    @return The digest, or `error::invalid_digest` if malformed. */
util::result<util::md5_digest> parse_content_md5(std::string_view value);

/** Reads `x-amz-checksum-algorithm` (the algorithm a client asks the object to be stored with).
    @param headers The request's header fields.
    @return The algorithm, `nullopt` if the header is absent, or
    `error::invalid_checksum_algorithm` if it names an unknown algorithm. */
util::result<std::optional<checksum_algorithm>>
request_checksum_algorithm(std::span<header_field const> headers);

/** Reads `x-amz-sdk-checksum-algorithm` (sent by SDKs beside a trailer).
    @param headers The request's header fields.
    @return The algorithm, `nullopt` if the header is absent, or
    `error::invalid_checksum_algorithm` if it names an unknown algorithm. */
util::result<std::optional<checksum_algorithm>>
request_sdk_checksum_algorithm(std::span<header_field const> headers);

/** The algorithm announced by `x-amz-trailer` (`x-amz-checksum-crc32`, ...).
    @param headers The request's header fields.
    @return The algorithm, `nullopt` if the header is absent, or
    `error::invalid_checksum_algorithm` if it names anything but an `x-amz-checksum-*` field. */
util::result<std::optional<checksum_algorithm>>
request_trailer_checksum_algorithm(std::span<header_field const> headers);

/** The value of the one `x-amz-checksum-<algo>` header, if any.
    @param headers The request's header fields.
    @return The value, `nullopt` if there is no such header, `error::multiple_checksums` if
    several are given, or `error::invalid_checksum_value` if the value is malformed. */
util::result<std::optional<checksum_value>> request_checksum_value(std::span<header_field const> headers);

/** A checksum from a trailer or header field (`x-amz-checksum-crc32c: sOO8/Q==`).
    @param name  The field name (case-insensitive), which gives the algorithm.
    @param value The base64 value.
    @return The value; `error::invalid_checksum_algorithm` if the name is not an
    `x-amz-checksum-*` name, `error::invalid_checksum_value` if the value is malformed. */
util::result<checksum_value> checksum_from_field(std::string_view name, std::string_view value);

} // namespace garage::api
