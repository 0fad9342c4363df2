#pragma once
/** @file
    AWS Signature Version 4 (`AWS4-HMAC-SHA256`) request authentication, as Garage checks it:
    the `Authorization` header and presigned URLs (`X-Amz-*` query parameters).

    Authentication takes two steps, because the secret key is found from the access key id
    that the request names:
    @code
    auto auth = sigv4::parse_auth(view, {.region = "garage", .svc = sigv4::service::s3});
    if (!auth) return auth.error();                     // malformed, wrong scope, unsigned header
    auto secret = lookup_secret(auth->access_key_id);    // the caller's key table
    if (!secret) return failure(error::invalid_access_key_id, "No such key: " + auth->access_key_id);
    auto ok = sigv4::verify(*auth, *secret, std::chrono::system_clock::now(), cache);
    if (!ok) return ok.error();                          // stale date, expired URL, bad signature
    // ok->payload says how to read the body; ok->chunk_context() feeds an aws_chunked_decoder.
    @endcode

    Everything here is a pure function of its arguments except
    @ref garage::api::sigv4::signing_key_cache, a small
    thread-safe memo of derived signing keys.

    Garage's rules followed (GARAGE-REFERENCE §1.5): header auth needs `x-amz-date`
    (`YYYYMMDDTHHMMSSZ`, at most 24 h old, no check of dates in the future unless asked) and
    `x-amz-content-sha256`; `host` and every `x-amz-*` header must be signed; the scope must be
    `<date>/<region>/<service>/aws4_request`; for `s3` the raw path is the canonical URI (no
    double encoding, no normalisation), for `k2v` it is `uri_encode(path, false)`; presigned
    URLs expire at most a week after `X-Amz-Date` and are checked before an `Authorization`
    header. Where AWS's specification is stricter or clearer than Garage's code, AWS is
    followed: query parameters sort by encoded key then value, header values have inner runs of
    blanks collapsed, repeated headers join with `,`.
*/

#include <garage/api/common/error.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/** AWS Signature Version 4: @ref garage::api::sigv4::parse_auth reads and checks what a
    request's signature covers, @ref garage::api::sigv4::verify checks the signature with the
    secret key. The canonical-request, key-derivation and signing steps are exposed too: the
    signatures of `aws-chunked` chunks and of POST-policy uploads are built on them. Part of
    `//garage/api/common`.
*/
namespace garage::api::sigv4 {

/// The only signing algorithm accepted.
inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` of a body that is not hashed (and of every presigned request).
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` of an `aws-chunked` body with a signature per chunk.
inline constexpr std::string_view streaming_signed_payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// Signed chunks followed by a signed trailer.
inline constexpr std::string_view streaming_signed_payload_trailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// Unsigned chunks followed by an unsigned trailer.
inline constexpr std::string_view streaming_unsigned_payload_trailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// Hex SHA-256 of the empty string (part of every chunk's string to sign).
inline constexpr std::string_view empty_sha256_hex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The longest validity of a presigned URL (`X-Amz-Expires`): one week.
inline constexpr std::chrono::seconds max_presigned_expiry{7 * 24 * 3600};

/// A derived signing key (`kSigning` of the AWS documentation).
using signing_key = util::hash32;
/// A request, chunk or trailer signature (sent as 64 lower-case hex digits).
using signature = util::hash32;

/// The service named in the credential scope.
enum class service {
    s3,  ///< `s3`: the canonical URI is the raw path
    k2v, ///< `k2v`: the canonical URI is the raw path URI-encoded once more
};

/** The service's name in a credential scope.
    @param svc The service.
    @return `"s3"` or `"k2v"`. */
std::string_view to_string(service svc) noexcept;

/// What a server expects in the credential scope: its region and the service of the endpoint.
struct service_scope {
    std::string_view region; ///< `[s3_api] s3_region`, e.g. `"garage"`
    service svc;             ///< which API is being called
};

/// How a request claims to be authenticated.
enum class auth_kind {
    none,      ///< neither `X-Amz-Algorithm` in the query nor an `Authorization` header
    header,    ///< `Authorization: AWS4-HMAC-SHA256 ...`
    presigned, ///< `X-Amz-Algorithm=...` in the query (takes precedence over a header)
};

/** Which kind of authentication a request carries, without checking it.
    @param req The request head.
    @return `presigned` if the query has an `X-Amz-Algorithm` parameter (checked first, as
    Garage), else `header` if there is an `Authorization` header, else `none`. */
auth_kind detect_auth_kind(request_view const& req);

/// How the body is protected, from `x-amz-content-sha256`.
enum class payload_mode {
    sha256,                     ///< the header is the hex SHA-256 of the whole body
    unsigned_payload,           ///< `UNSIGNED-PAYLOAD` (and every presigned request)
    streaming_signed,           ///< `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
    streaming_signed_trailer,   ///< `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`
    streaming_unsigned_trailer, ///< `STREAMING-UNSIGNED-PAYLOAD-TRAILER`
};

/** Whether the body is `aws-chunked` (and must go through an `aws_chunked_decoder`).
    @param m The payload mode.
    @return True for the three streaming modes. */
constexpr bool is_streaming(payload_mode m) noexcept
{
    return m == payload_mode::streaming_signed || m == payload_mode::streaming_signed_trailer ||
           m == payload_mode::streaming_unsigned_trailer;
}
/** Whether each chunk carries a signature.
    @param m The payload mode.
    @return True for `streaming_signed` and `streaming_signed_trailer`. */
constexpr bool has_chunk_signatures(payload_mode m) noexcept
{
    return m == payload_mode::streaming_signed || m == payload_mode::streaming_signed_trailer;
}
/** Whether a trailer follows the final chunk.
    @param m The payload mode.
    @return True for `streaming_signed_trailer` and `streaming_unsigned_trailer`. */
constexpr bool has_trailer(payload_mode m) noexcept
{
    return m == payload_mode::streaming_signed_trailer || m == payload_mode::streaming_unsigned_trailer;
}

/// The body's protection: a mode and, for @ref payload_mode::sha256, the expected hash.
struct payload_hash {
    payload_mode mode = payload_mode::unsigned_payload; ///< how to read the body
    std::optional<util::hash32> sha256;                 ///< set iff `mode == payload_mode::sha256`

    /// Same mode and same hash (memberwise).
    friend bool operator==(payload_hash const&, payload_hash const&) = default;
};

/** Parses an `x-amz-content-sha256` value.
    @param value The header value: `UNSIGNED-PAYLOAD`, one of the three `STREAMING-*` modes,
                 or the hex SHA-256 of the body.
    @return The mode (and, for a hash, its value); `error::invalid_content_sha256` for
    `STREAMING-UNSIGNED-PAYLOAD` without a trailer, any other `STREAMING-*` value, or a value
    that is not 64 hex digits. */
util::result<payload_hash> parse_content_sha256(std::string_view value);

/** Parses an `x-amz-date` or `X-Amz-Date` value.
    @param text The date, `YYYYMMDDTHHMMSSZ` (UTC).
    @return The time, or `error::invalid_date` if malformed or out of range (e.g. month 13). */
util::result<std::chrono::sys_seconds> parse_amz_date(std::string_view text);

/** Formats a time as `x-amz-date` wants it (the inverse of @ref parse_amz_date).
    @param t The time (UTC).
    @return `YYYYMMDDTHHMMSSZ`, e.g. `20130524T000000Z`. */
std::string format_amz_date(std::chrono::sys_seconds t);

/** URI-encodes text as SigV4 wants.

    The unreserved characters (ASCII letters and digits, `-`, `_`, `.` and `~`) stay, every
    other byte becomes `%%XX` in upper-case hex.
    @param text         The bytes to encode.
    @param encode_slash Whether `/` is encoded too (query parameters) or kept (paths).
    @return The encoded text. */
std::string uri_encode(std::string_view text, bool encode_slash);

/** The canonical URI of a request.
    @param raw_path The request's path, still percent-encoded.
    @param svc      The service, which decides whether the path is encoded once more.
    @return `raw_path` itself for `s3`, `uri_encode(raw_path, false)` for `k2v`; `/` when the
    path is empty. */
std::string canonical_uri(std::string_view raw_path, service svc);

/** The canonical query string: each (decoded) parameter URI-encoded (`/` too), `key=value`
    (`key=` when the value is empty), sorted by encoded key then encoded value, joined by `&`.
    @param params  The decoded query parameters (from @ref garage::api::parse_query).
    @param exclude A parameter name left out (case-insensitive; e.g. `X-Amz-Signature` for a
                   presigned URL); empty: none.
    @return The canonical query string (empty when there is no parameter). */
std::string canonical_query(std::span<query_param const> params, std::string_view exclude = {});

/** The canonical headers block: one `name:value\n` line per signed header name, where value
    is every field of that name joined by `,`, each trimmed and with inner runs of blanks
    collapsed to one space.
    @param headers      The request's header fields.
    @param signed_names The signed header names: lower-case, sorted.
    @return The block, or `error::missing_signed_header` when a signed header is absent. */
util::result<std::string> canonical_headers(std::span<header_field const> headers,
                                            std::span<std::string const> signed_names);

/** Joins the parts of a canonical request with `\n`:
    `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH` (HEADERS ends with its own `\n`).
    @param method         The HTTP method, as received.
    @param uri            From @ref canonical_uri.
    @param query          From @ref canonical_query.
    @param headers_block  From @ref canonical_headers.
    @param signed_headers The signed header names joined by `;`.
    @param payload_hash   The `x-amz-content-sha256` value (`UNSIGNED-PAYLOAD` when presigned).
    @return The canonical request. */
std::string canonical_request(std::string_view method, std::string_view uri, std::string_view query,
                              std::string_view headers_block, std::string_view signed_headers,
                              std::string_view payload_hash);

/** Builds a credential scope.
    @param short_date The date, `YYYYMMDD` (the first 8 characters of `x-amz-date`).
    @param region     The region, e.g. `garage`.
    @param svc        The service name, `s3` or `k2v`.
    @return `<short_date>/<region>/<svc>/aws4_request`. */
std::string credential_scope(std::string_view short_date, std::string_view region, std::string_view svc);

/** Builds the string to sign of a request.
    @param amz_date          The request date, `YYYYMMDDTHHMMSSZ`.
    @param scope             The credential scope (@ref credential_scope).
    @param canonical_request The canonical request (@ref canonical_request).
    @return `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>`. */
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

/** HMAC-SHA256 (RFC 2104).
    @param key  The key, of any length (hashed first when longer than 64 bytes).
    @param data The message.
    @return The 32-byte MAC. */
util::hash32 hmac_sha256(std::string_view key, std::string_view data);

/** Derives a signing key by the HMAC chain `"AWS4"+secret` → date → region → service →
    `"aws4_request"` (four HMACs; @ref signing_key_cache memoises it).
    @param secret_key The secret access key.
    @param short_date The scope's date, `YYYYMMDD`.
    @param region     The scope's region.
    @param svc        The scope's service name, `s3` or `k2v`.
    @return The signing key (`kSigning`). */
signing_key derive_signing_key(std::string_view secret_key, std::string_view short_date,
                               std::string_view region, std::string_view svc);

/** Signs a string to sign.
    @param key            The derived signing key.
    @param string_to_sign From @ref string_to_sign (or a chunk's or trailer's).
    @return HMAC-SHA256 of `string_to_sign` under `key`. */
signature compute_signature(signing_key const& key, std::string_view string_to_sign);

/** Compares two signatures in time independent of where they differ (no timing oracle).
    @param a One signature.
    @param b The other.
    @return True when they are equal. */
bool signatures_equal(util::hash32 const& a, util::hash32 const& b) noexcept;

/** A small memo of derived signing keys, keyed by (secret, date, region, service).

    A client signs every request of a day with the same key; deriving it costs four HMACs.
    Entries are identified by a SHA-256 of their inputs, so the cache holds no secret key; the
    least recently used entry is evicted when full.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (a mutex guards the entries).
*/
class signing_key_cache {
public:
    /** An empty cache.
        @param capacity The most keys held; 0 is taken as 1. */
    explicit signing_key_cache(std::size_t capacity = 64);
    signing_key_cache(signing_key_cache const&) = delete;
    signing_key_cache& operator=(signing_key_cache const&) = delete;

    /** The signing key for these inputs, as @ref derive_signing_key, derived and remembered
        on a miss (evicting the least recently used key when full).
        @param secret_key The secret access key.
        @param short_date The scope's date, `YYYYMMDD`.
        @param region     The scope's region.
        @param svc        The scope's service name.
        @return The signing key. */
    signing_key get(std::string_view secret_key, std::string_view short_date, std::string_view region,
                    std::string_view svc);

    /// @return The number of lookups answered from the cache so far.
    std::uint64_t hits() const;
    /// @return The number of lookups that derived a key so far.
    std::uint64_t misses() const;
    /// @return The number of keys currently held (at most the capacity).
    std::size_t size() const;

private:
    struct entry {
        util::hash32 id;
        signing_key key;
        std::uint64_t last_used;
    };
    mutable std::mutex mutex_;
    std::vector<entry> entries_;
    std::size_t capacity_;
    std::uint64_t tick_ = 0;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

/** A parsed, not yet verified, SigV4 request: what the secret key is needed for.

    Produced by @ref garage::api::sigv4::parse_auth; the string to sign is already built, so
    @ref garage::api::sigv4::verify needs only the secret key and the time.
*/
struct auth_request {
    auth_kind kind = auth_kind::header;          ///< header or presigned
    std::string access_key_id;                   ///< the key id of the credential
    std::string amz_date;                        ///< `YYYYMMDDTHHMMSSZ` as sent
    std::chrono::sys_seconds date{};             ///< `amz_date` parsed
    std::string region;                          ///< the scope's region (equals the expected one)
    service svc = service::s3;                   ///< the scope's service
    std::string scope;                           ///< `<date>/<region>/<service>/aws4_request`
    std::vector<std::string> signed_headers;     ///< lower-case, sorted
    signature request_signature{};               ///< the signature sent by the client
    payload_hash payload;                        ///< from `x-amz-content-sha256` (unsigned if presigned)
    std::optional<std::chrono::seconds> expires; ///< `X-Amz-Expires` of a presigned URL
    std::string canonical_request;               ///< for logs when a signature does not match
    std::string string_to_sign;                  ///< what the signature signs
    /** Presigned only: the `x-amz-*` query parameters (lower-case name, decoded value) that
        stand in for headers; the HTTP layer sets them as request headers after verification. */
    std::vector<query_param> header_overrides;
};

/** Parses and checks everything about a request's signature that needs no secret key.

    Checks: the algorithm; the syntax of the `Authorization` header or of the `X-Amz-*`
    parameters; `x-amz-date` (header auth) and its format; `x-amz-content-sha256` (header
    auth); `X-Amz-Expires` ≤ a week (presigned); that the credential scope is
    `<date of x-amz-date>/<region>/<service>/aws4_request` for `expected`; that `host` and every
    `x-amz-*` header are signed and every signed header is present; that no presigned parameter
    contradicts a signed header. Then builds the canonical request and the string to sign.

    @param req The request head.
    @param expected The server's region and the endpoint's service.
    @return The parsed request, or: `anonymous_access` (no signature at all),
    `unsupported_algorithm`, `authorization_header_malformed` (also for a wrong scope),
    `authorization_query_malformed`, `missing_security_header`, `invalid_date`,
    `invalid_expires`, `invalid_content_sha256`, `unsigned_header`, `missing_signed_header`,
    `conflicting_query_header`, `signature_does_not_match` (signature not 64 hex digits).
*/
util::result<auth_request> parse_auth(request_view const& req, service_scope const& expected);

/// Freshness rules of @ref garage::api::sigv4::verify.
struct verify_options {
    /// Header auth: the oldest accepted `x-amz-date` (Garage: 24 h).
    std::chrono::seconds max_age{24 * 3600};
    /// How far in the future a date may be; unset (Garage's rule) means no limit.
    std::optional<std::chrono::seconds> max_future{};
};

/// What the decoder of an `aws-chunked` body needs to check chunk signatures.
struct chunk_signing_context {
    signing_key key;      ///< the request's signing key
    std::string amz_date; ///< `YYYYMMDDTHHMMSSZ` of the request
    std::string scope;    ///< the request's credential scope
    signature seed;       ///< the request's own signature: the previous signature of chunk 1
};

/// A request whose signature has been checked.
struct verified_auth {
    std::string access_key_id;          ///< who signed
    auth_kind kind = auth_kind::header; ///< header or presigned
    payload_hash payload;               ///< how to read and check the body
    signature seed_signature{};         ///< the request signature (seed of a chunk chain)
    signing_key key{};                  ///< the derived signing key
    std::string amz_date;               ///< `YYYYMMDDTHHMMSSZ`
    std::string scope;                  ///< credential scope

    /// @return The context an `aws_chunked_decoder` needs for signed chunks (this request's
    /// signing key, date, scope, and signature as the seed).
    chunk_signing_context chunk_context() const { return {key, amz_date, scope, seed_signature}; }
};

/** Checks the date and the signature of a parsed request.

    Header auth: `now - date` must not exceed `options.max_age` (else
    `request_time_too_skewed`). Presigned: `now - date` must not exceed `X-Amz-Expires` (else
    `expired_presigned`). Both: with `options.max_future`, `date - now` must not exceed it.
    Then the signature must equal HMAC(signing key, string to sign), compared in constant time
    (else `signature_does_not_match`).

    @param auth From @ref garage::api::sigv4::parse_auth.
    @param secret_key The secret of `auth.access_key_id`.
    @param now The current time.
    @param options Freshness rules.
    @return What the caller needs to read the body (the key id, the payload mode, and the
    signing context of a chunked body), or `expired_presigned`, `request_time_too_skewed`,
    `signature_does_not_match`.
*/
util::result<verified_auth> verify(auth_request const& auth, std::string_view secret_key,
                                   std::chrono::system_clock::time_point now,
                                   verify_options const& options = {});

/** As the other `verify`, deriving the signing key through a cache (most requests of a
    client reuse one key per day).
    @param auth       From @ref garage::api::sigv4::parse_auth.
    @param secret_key The secret of `auth.access_key_id`.
    @param now        The current time.
    @param cache      The cache of signing keys, shared between requests.
    @param options    Freshness rules.
    @return As the other `verify`. */
util::result<verified_auth> verify(auth_request const& auth, std::string_view secret_key,
                                   std::chrono::system_clock::time_point now, signing_key_cache& cache,
                                   verify_options const& options = {});

} // namespace garage::api::sigv4
