// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 in favour of EVP, but skip its per-call
// dispatch: an HMAC of a short string costs four compression calls, less than an EVP set-up.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <garage/api/common/sigv4.hpp>

#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace garage::api::sigv4 {
namespace {

using util::failure;

constexpr char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        c = to_lower(c);
    }
    return out;
}

constexpr bool is_blank(char c) noexcept
{
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && is_blank(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_blank(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// RFC 7230 `tchar`: the characters of a header field name.
constexpr bool is_token_char(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

constexpr bool is_unreserved(unsigned char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

constexpr bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

/// The digits of `s` as a number; `s` must be all digits (checked by the caller).
unsigned digits_value(std::string_view s) noexcept
{
    unsigned v = 0;
    for (char c : s) {
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

/// The `X-Amz-*` parameter named `name` (case-insensitive); a repeated one is an error.
util::result<std::optional<std::string_view>> find_param(std::span<query_param const> params,
                                                         std::string_view name)
{
    std::optional<std::string_view> found;
    for (auto const& p : params) {
        if (iequals(p.key, name)) {
            if (found) {
                return failure(error::authorization_query_malformed,
                               "duplicate query parameter `" + p.key + "`");
            }
            found = p.value;
        }
    }
    return found;
}

/// The parts common to header and presigned authentication, before canonicalisation.
struct raw_auth {
    std::string_view credential;
    std::string_view signed_headers;
    std::string_view signature;
    std::string_view amz_date;
};

/** Checks credential, scope, signature syntax and signed headers; fills `out` except the
    canonical request and string to sign. */
util::result<void> parse_common(raw_auth const& raw, request_view const& req, service_scope const& expected,
                                error malformed, auth_request& out)
{
    auto date = parse_amz_date(raw.amz_date);
    if (!date) {
        return date.error();
    }
    out.amz_date = std::string(raw.amz_date);
    out.date = *date;

    auto const slash = raw.credential.find('/');
    if (slash == std::string_view::npos || slash == 0) {
        return failure(malformed, "credential is not `<access key id>/<scope>`");
    }
    out.access_key_id = std::string(raw.credential.substr(0, slash));
    std::string_view const scope = raw.credential.substr(slash + 1);
    std::string const svc = std::string(to_string(expected.svc));
    std::string const expected_scope = credential_scope(raw.amz_date.substr(0, 8), expected.region, svc);
    if (scope != expected_scope) {
        return failure(malformed, "Authorization header malformed, unexpected scope: " + std::string(scope));
    }
    out.scope = expected_scope;
    out.region = std::string(expected.region);
    out.svc = expected.svc;

    auto sig = util::hash32::from_hex(raw.signature);
    if (raw.signature.size() != 64 || !sig) {
        return failure(error::signature_does_not_match, "Invalid signature");
    }
    out.request_signature = *sig;

    // Signed header names: lower-cased and sorted, as Garage does.
    out.signed_headers.clear();
    std::string_view list = raw.signed_headers;
    while (true) {
        auto const semi = list.find(';');
        std::string_view const name = list.substr(0, semi);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
            return failure(malformed, "invalid header name in SignedHeaders: `" + std::string(name) + "`");
        }
        out.signed_headers.push_back(lowercase(name));
        if (semi == std::string_view::npos) {
            break;
        }
        list.remove_prefix(semi + 1);
    }
    std::sort(out.signed_headers.begin(), out.signed_headers.end());

    auto const is_signed = [&](std::string_view lname) {
        return std::binary_search(out.signed_headers.begin(), out.signed_headers.end(), lname);
    };
    if (!is_signed("host")) {
        return failure(error::unsigned_header, "Header `Host` should be signed");
    }
    for (auto const& h : req.headers) {
        if (istarts_with(h.name, "x-amz-")) {
            std::string const lname = lowercase(h.name);
            if (!is_signed(lname)) {
                return failure(error::unsigned_header, "Header `" + lname + "` should be signed");
            }
        }
    }
    return {};
}

/// Joins the signed header names with `;`.
std::string join_signed(std::vector<std::string> const& names)
{
    std::string out;
    for (auto const& n : names) {
        if (!out.empty()) {
            out.push_back(';');
        }
        out += n;
    }
    return out;
}

/// Builds the canonical request and the string to sign into `out`.
util::result<void> finish_canonical(request_view const& req, std::string_view query, std::string_view payload,
                                    auth_request& out)
{
    auto headers = canonical_headers(req.headers, out.signed_headers);
    if (!headers) {
        return headers.error();
    }
    out.canonical_request = canonical_request(req.method, canonical_uri(req.raw_path, out.svc), query,
                                              *headers, join_signed(out.signed_headers), payload);
    out.string_to_sign = string_to_sign(out.amz_date, out.scope, out.canonical_request);
    return {};
}

util::result<auth_request> parse_header_auth(request_view const& req, std::span<query_param const> params,
                                             service_scope const& expected)
{
    constexpr error malformed = error::authorization_header_malformed;
    std::string_view const value = trim(*find_header(req.headers, "authorization"));
    auto const space = value.find(' ');
    if (space == std::string_view::npos) {
        return failure(malformed, "Authorization field too short");
    }
    if (value.substr(0, space) != algorithm) {
        return failure(error::unsupported_algorithm, "Unsupported authorization method");
    }

    raw_auth raw;
    bool have_credential = false;
    bool have_signed = false;
    bool have_signature = false;
    std::string_view rest = value.substr(space + 1);
    while (!rest.empty()) {
        auto const comma = rest.find(',');
        std::string_view const part = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto const eq = part.find('=');
        if (eq == std::string_view::npos) {
            return failure(malformed, "Field without value in authorization header");
        }
        std::string_view const k = part.substr(0, eq);
        std::string_view const v = part.substr(eq + 1);
        auto const take = [&](bool& have, std::string_view& slot) -> bool {
            if (have) {
                return false;
            }
            have = true;
            slot = v;
            return true;
        };
        bool ok = true;
        if (k == "Credential") {
            ok = take(have_credential, raw.credential);
        } else if (k == "SignedHeaders") {
            ok = take(have_signed, raw.signed_headers);
        } else if (k == "Signature") {
            ok = take(have_signature, raw.signature);
        }
        if (!ok) {
            return failure(malformed, "repeated field `" + std::string(k) + "` in authorization header");
        }
    }
    if (!have_credential) {
        return failure(malformed, "Could not find Credential in Authorization field");
    }
    if (!have_signed) {
        return failure(malformed, "Could not find SignedHeaders in Authorization field");
    }
    if (!have_signature) {
        return failure(malformed, "Could not find Signature in Authorization field");
    }

    auto const content_sha256 = find_header(req.headers, "x-amz-content-sha256");
    if (!content_sha256) {
        return failure(error::missing_security_header, "Missing X-Amz-Content-Sha256 field");
    }
    auto const date = find_header(req.headers, "x-amz-date");
    if (!date) {
        return failure(error::missing_security_header, "Missing X-Amz-Date field");
    }
    raw.amz_date = trim(*date);

    auth_request out;
    out.kind = auth_kind::header;
    if (auto r = parse_common(raw, req, expected, malformed, out); !r) {
        return r.error();
    }
    std::string_view const payload_value = trim(*content_sha256);
    auto payload = parse_content_sha256(payload_value);
    if (!payload) {
        return payload.error();
    }
    out.payload = *payload;
    if (auto r = finish_canonical(req, canonical_query(params), payload_value, out); !r) {
        return r.error();
    }
    return out;
}

util::result<auth_request> parse_presigned_auth(request_view const& req, std::span<query_param const> params,
                                                service_scope const& expected)
{
    constexpr error malformed = error::authorization_query_malformed;
    auto const get = [&](std::string_view name) -> util::result<std::string_view> {
        auto found = find_param(params, name);
        if (!found) {
            return found.error();
        }
        if (!*found) {
            return failure(malformed, std::string(name) + " not found in query parameters");
        }
        return **found;
    };

    auto const algo = get("X-Amz-Algorithm");
    if (!algo) {
        return algo.error();
    }
    if (*algo != algorithm) {
        return failure(error::unsupported_algorithm, "Unsupported authorization method");
    }
    auto const credential = get("X-Amz-Credential");
    auto const signed_headers = get("X-Amz-SignedHeaders");
    auto const sig = get("X-Amz-Signature");
    auto const expires = get("X-Amz-Expires");
    auto const date = get("X-Amz-Date");
    for (auto const* r : {&credential, &signed_headers, &sig, &expires, &date}) {
        if (!*r) {
            return r->error();
        }
    }

    // Unsigned decimal; more than 10 digits cannot be within a week anyway.
    if (expires->empty() || expires->size() > 10 ||
        !std::all_of(expires->begin(), expires->end(), is_digit)) {
        return failure(error::invalid_expires, "X-Amz-Expires is not a number");
    }
    std::uint64_t seconds = 0;
    for (char c : *expires) {
        seconds = seconds * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (seconds > static_cast<std::uint64_t>(max_presigned_expiry.count())) {
        return failure(error::invalid_expires, "X-Amz-Expires may not exceed a week");
    }

    auth_request out;
    out.kind = auth_kind::presigned;
    out.expires = std::chrono::seconds(static_cast<std::int64_t>(seconds));
    raw_auth const raw{*credential, *signed_headers, *sig, *date};
    if (auto r = parse_common(raw, req, expected, malformed, out); !r) {
        return r.error();
    }
    out.payload = payload_hash{payload_mode::unsigned_payload, std::nullopt};

    // Query parameters that stand in for headers (AWS: a signed header and a parameter of the
    // same name must agree).
    for (auto const& p : params) {
        if (iequals(p.key, "X-Amz-Signature")) {
            continue;
        }
        std::string lname = lowercase(p.key);
        if (std::binary_search(out.signed_headers.begin(), out.signed_headers.end(), lname)) {
            if (auto const existing = find_header(req.headers, lname);
                existing && trim(*existing) != p.value) {
                return failure(error::conflicting_query_header,
                               "Conflicting values for `" + lname +
                                   "` in query parameters and request headers");
            }
        }
        if (lname.starts_with("x-amz-")) {
            out.header_overrides.push_back({std::move(lname), p.value});
        }
    }

    if (auto r = finish_canonical(req, canonical_query(params, "X-Amz-Signature"), unsigned_payload, out);
        !r) {
        return r.error();
    }
    return out;
}

util::result<verified_auth> verify_impl(auth_request const& auth, std::string_view secret_key,
                                        std::chrono::system_clock::time_point now, signing_key_cache* cache,
                                        verify_options const& options)
{
    auto const now_s = std::chrono::floor<std::chrono::seconds>(now);
    if (auth.kind == auth_kind::presigned) {
        auto const expires = auth.expires.value_or(std::chrono::seconds{0});
        if (now_s - auth.date > expires) {
            return failure(error::expired_presigned, "Request has expired");
        }
    } else if (now_s - auth.date > options.max_age) {
        return failure(error::request_time_too_skewed, "Date is too old");
    }
    if (options.max_future && auth.date - now_s > *options.max_future) {
        return failure(error::request_time_too_skewed, "Date is too far in the future");
    }

    std::string_view const short_date = std::string_view(auth.amz_date).substr(0, 8);
    std::string_view const svc = to_string(auth.svc);
    signing_key const key = cache != nullptr ? cache->get(secret_key, short_date, auth.region, svc)
                                             : derive_signing_key(secret_key, short_date, auth.region, svc);
    if (!signatures_equal(compute_signature(key, auth.string_to_sign), auth.request_signature)) {
        return failure(error::signature_does_not_match, "Invalid signature");
    }

    verified_auth out;
    out.access_key_id = auth.access_key_id;
    out.kind = auth.kind;
    out.payload = auth.payload;
    out.seed_signature = auth.request_signature;
    out.key = key;
    out.amz_date = auth.amz_date;
    out.scope = auth.scope;
    return out;
}

} // namespace

std::string_view to_string(service svc) noexcept
{
    switch (svc) {
    case service::s3:
        return "s3";
    case service::k2v:
        return "k2v";
    }
    return "s3";
}

auth_kind detect_auth_kind(request_view const& req)
{
    std::string_view q = req.raw_query;
    while (!q.empty()) {
        auto const amp = q.find('&');
        std::string_view const segment = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (iequals(percent_decode(segment.substr(0, segment.find('=')), true), "X-Amz-Algorithm")) {
            return auth_kind::presigned;
        }
    }
    return find_header(req.headers, "authorization") ? auth_kind::header : auth_kind::none;
}

util::result<payload_hash> parse_content_sha256(std::string_view value)
{
    if (value == unsigned_payload) {
        return payload_hash{payload_mode::unsigned_payload, std::nullopt};
    }
    if (value == streaming_signed_payload) {
        return payload_hash{payload_mode::streaming_signed, std::nullopt};
    }
    if (value == streaming_signed_payload_trailer) {
        return payload_hash{payload_mode::streaming_signed_trailer, std::nullopt};
    }
    if (value == streaming_unsigned_payload_trailer) {
        return payload_hash{payload_mode::streaming_unsigned_trailer, std::nullopt};
    }
    if (value == "STREAMING-UNSIGNED-PAYLOAD") {
        return failure(error::invalid_content_sha256,
                       "STREAMING-UNSIGNED-PAYLOAD without trailer is not a valid combination");
    }
    if (value.starts_with("STREAMING-")) {
        return failure(error::invalid_content_sha256, "invalid or unsupported x-amz-content-sha256");
    }
    auto hash = util::hash32::from_hex(value);
    if (value.size() != 64 || !hash) {
        return failure(error::invalid_content_sha256, "Invalid content sha256 hash");
    }
    return payload_hash{payload_mode::sha256, *hash};
}

util::result<std::chrono::sys_seconds> parse_amz_date(std::string_view text)
{
    auto const bad = [&] {
        return failure(error::invalid_date, "Invalid date: `" + std::string(text) + "`");
    };
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
        return bad();
    }
    for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
        if (!is_digit(text[i])) {
            return bad();
        }
    }
    using namespace std::chrono;
    year_month_day const ymd{year{static_cast<int>(digits_value(text.substr(0, 4)))},
                             month{digits_value(text.substr(4, 2))}, day{digits_value(text.substr(6, 2))}};
    unsigned const hh = digits_value(text.substr(9, 2));
    unsigned const mm = digits_value(text.substr(11, 2));
    unsigned const ss = digits_value(text.substr(13, 2));
    if (!ymd.ok() || hh > 23 || mm > 59 || ss > 59) {
        return bad();
    }
    return sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
}

std::string format_amz_date(std::chrono::sys_seconds t)
{
    using namespace std::chrono;
    auto const day = floor<days>(t);
    year_month_day const ymd{day};
    hh_mm_ss const hms{t - day};
    char buf[48];
    int const n =
        std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()));
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::string uri_encode(std::string_view text, bool encode_slash)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() + text.size() / 2);
    for (char const ch : text) {
        auto const c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
    return out;
}

std::string canonical_uri(std::string_view raw_path, service svc)
{
    if (raw_path.empty()) {
        return "/";
    }
    return svc == service::s3 ? std::string(raw_path) : uri_encode(raw_path, false);
}

std::string canonical_query(std::span<query_param const> params, std::string_view exclude)
{
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(params.size());
    for (auto const& p : params) {
        if (!exclude.empty() && iequals(p.key, exclude)) {
            continue;
        }
        encoded.emplace_back(uri_encode(p.key, true), uri_encode(p.value, true));
    }
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (auto const& [k, v] : encoded) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += k;
        out.push_back('=');
        out += v;
    }
    return out;
}

util::result<std::string> canonical_headers(std::span<header_field const> headers,
                                            std::span<std::string const> signed_names)
{
    std::string out;
    for (auto const& name : signed_names) {
        out += name;
        out.push_back(':');
        bool found = false;
        for (auto const& h : headers) {
            if (!iequals(h.name, name)) {
                continue;
            }
            if (found) {
                out.push_back(',');
            }
            found = true;
            // Trim, and collapse inner runs of blanks into one space.
            bool pending_space = false;
            for (char const c : trim(h.value)) {
                if (is_blank(c)) {
                    pending_space = true;
                    continue;
                }
                if (pending_space) {
                    out.push_back(' ');
                    pending_space = false;
                }
                out.push_back(c);
            }
        }
        if (!found) {
            return failure(error::missing_signed_header, "signed header `" + name + "` is not present");
        }
        out.push_back('\n');
    }
    return out;
}

std::string canonical_request(std::string_view method, std::string_view uri, std::string_view query,
                              std::string_view headers_block, std::string_view signed_headers,
                              std::string_view payload_hash)
{
    std::string out;
    out.reserve(method.size() + uri.size() + query.size() + headers_block.size() + signed_headers.size() +
                payload_hash.size() + 5);
    out += method;
    out.push_back('\n');
    out += uri;
    out.push_back('\n');
    out += query;
    out.push_back('\n');
    out += headers_block;
    out.push_back('\n');
    out += signed_headers;
    out.push_back('\n');
    out += payload_hash;
    return out;
}

std::string credential_scope(std::string_view short_date, std::string_view region, std::string_view svc)
{
    std::string out;
    out.reserve(short_date.size() + region.size() + svc.size() + 16);
    out += short_date;
    out.push_back('/');
    out += region;
    out.push_back('/');
    out += svc;
    out += "/aws4_request";
    return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical)
{
    std::string out;
    out.reserve(algorithm.size() + amz_date.size() + scope.size() + 67);
    out += algorithm;
    out.push_back('\n');
    out += amz_date;
    out.push_back('\n');
    out += scope;
    out.push_back('\n');
    out += util::sha256sum(canonical).to_hex();
    return out;
}

util::hash32 hmac_sha256(std::string_view key, std::string_view data)
{
    constexpr std::size_t block = 64;
    unsigned char k0[block] = {};
    if (key.size() > block) {
        util::hash32 const hk = util::sha256sum(key);
        std::memcpy(k0, hk.data(), hk.size());
    } else if (!key.empty()) {
        std::memcpy(k0, key.data(), key.size());
    }
    unsigned char pad[block];
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_CTX ctx;

    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k0[i] ^ 0x36;
    }
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, block);
    SHA256_Update(&ctx, data.data(), data.size());
    SHA256_Final(inner, &ctx);

    for (std::size_t i = 0; i < block; ++i) {
        pad[i] = k0[i] ^ 0x5c;
    }
    util::hash32 out;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, block);
    SHA256_Update(&ctx, inner, sizeof inner);
    SHA256_Final(out.data(), &ctx);

    OPENSSL_cleanse(k0, sizeof k0);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return out;
}

signing_key derive_signing_key(std::string_view secret_key, std::string_view short_date,
                               std::string_view region, std::string_view svc)
{
    std::string k = "AWS4";
    k += secret_key;
    util::hash32 const k_date = hmac_sha256(k, short_date);
    OPENSSL_cleanse(k.data(), k.size());
    util::hash32 const k_region = hmac_sha256(k_date.view(), region);
    util::hash32 const k_service = hmac_sha256(k_region.view(), svc);
    return hmac_sha256(k_service.view(), "aws4_request");
}

signature compute_signature(signing_key const& key, std::string_view sts)
{
    return hmac_sha256(key.view(), sts);
}

bool signatures_equal(util::hash32 const& a, util::hash32 const& b) noexcept
{
    return CRYPTO_memcmp(a.data(), b.data(), util::hash32::size()) == 0;
}

signing_key_cache::signing_key_cache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1))
{
    entries_.reserve(capacity_);
}

signing_key signing_key_cache::get(std::string_view secret_key, std::string_view short_date,
                                   std::string_view region, std::string_view svc)
{
    // Identify the inputs by a hash of their length-prefixed concatenation: no secret is kept.
    std::string id_input;
    id_input.reserve(secret_key.size() + short_date.size() + region.size() + svc.size() + 16);
    for (std::string_view part : {secret_key, short_date, region, svc}) {
        auto const n = static_cast<std::uint32_t>(part.size());
        id_input.push_back(static_cast<char>(n >> 24));
        id_input.push_back(static_cast<char>(n >> 16));
        id_input.push_back(static_cast<char>(n >> 8));
        id_input.push_back(static_cast<char>(n));
        id_input += part;
    }
    util::hash32 const id = util::sha256sum(id_input);
    OPENSSL_cleanse(id_input.data(), id_input.size());

    {
        std::lock_guard lock(mutex_);
        for (auto& e : entries_) {
            if (e.id == id) {
                e.last_used = ++tick_;
                ++hits_;
                return e.key;
            }
        }
        ++misses_;
    }
    signing_key const key = derive_signing_key(secret_key, short_date, region, svc);
    std::lock_guard lock(mutex_);
    for (auto const& e : entries_) {
        if (e.id == id) {
            return key; // another thread derived it meanwhile
        }
    }
    if (entries_.size() < capacity_) {
        entries_.push_back({id, key, ++tick_});
    } else {
        auto oldest = std::min_element(entries_.begin(), entries_.end(), [](entry const& a, entry const& b) {
            return a.last_used < b.last_used;
        });
        *oldest = {id, key, ++tick_};
    }
    return key;
}

std::uint64_t signing_key_cache::hits() const
{
    std::lock_guard lock(mutex_);
    return hits_;
}

std::uint64_t signing_key_cache::misses() const
{
    std::lock_guard lock(mutex_);
    return misses_;
}

std::size_t signing_key_cache::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

util::result<auth_request> parse_auth(request_view const& req, service_scope const& expected)
{
    std::vector<query_param> const params = parse_query(req.raw_query);
    bool const presigned = std::any_of(
        params.begin(), params.end(), [](query_param const& p) { return iequals(p.key, "X-Amz-Algorithm"); });
    if (presigned) {
        return parse_presigned_auth(req, params, expected);
    }
    if (find_header(req.headers, "authorization")) {
        return parse_header_auth(req, params, expected);
    }
    return failure(error::anonymous_access, "Garage does not support anonymous access yet");
}

util::result<verified_auth> verify(auth_request const& auth, std::string_view secret_key,
                                   std::chrono::system_clock::time_point now, verify_options const& options)
{
    return verify_impl(auth, secret_key, now, nullptr, options);
}

util::result<verified_auth> verify(auth_request const& auth, std::string_view secret_key,
                                   std::chrono::system_clock::time_point now, signing_key_cache& cache,
                                   verify_options const& options)
{
    return verify_impl(auth, secret_key, now, &cache, options);
}

} // namespace garage::api::sigv4
