// libFuzzer target: SigV4 request parsing and verification (garage/api/common/sigv4.hpp).
//
// The input is a request head, one field per line: method, raw path, raw query, then
// `name:value` header lines. Every parser must return a result (never crash, never read out
// of bounds), and the oracles below must hold.

#include <garage/api/common/sigv4.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace garage::api;
namespace sigv4 = garage::api::sigv4;

void require(bool condition, char const* what)
{
    if (!condition) {
        std::fprintf(stderr, "oracle failed: %s\n", what);
        std::abort();
    }
}

std::vector<std::string_view> split_lines(std::string_view text)
{
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto const nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return lines;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    auto const lines = split_lines(input);
    if (lines.size() < 3) {
        return 0;
    }
    std::vector<header_field> headers;
    for (std::size_t i = 3; i < lines.size(); ++i) {
        auto const colon = lines[i].find(':');
        if (colon == std::string_view::npos) {
            headers.push_back({lines[i], {}});
        } else {
            headers.push_back({lines[i].substr(0, colon), lines[i].substr(colon + 1)});
        }
    }
    request_view const req{lines[0], lines[1], lines[2], headers};

    // Side parsers on raw pieces.
    for (auto const& h : headers) {
        if (auto d = sigv4::parse_amz_date(h.value); d) {
            require(sigv4::format_amz_date(*d) == h.value, "amz date round trip");
        }
        if (auto p = sigv4::parse_content_sha256(h.value); p) {
            require((p->mode == sigv4::payload_mode::sha256) == p->sha256.has_value(),
                    "sha256 iff hashed mode");
        }
    }
    auto const params = parse_query(req.raw_query);
    auto const canonical = sigv4::canonical_query(params);
    require(canonical.find_first_of(" \n") == std::string::npos, "canonical query has no blank");
    require(sigv4::uri_encode(req.raw_path, false).size() >= req.raw_path.size(), "encoding never shrinks");
    (void)sigv4::detect_auth_kind(req);

    for (auto const svc : {sigv4::service::s3, sigv4::service::k2v}) {
        auto auth = sigv4::parse_auth(req, {"us-east-1", svc});
        if (!auth) {
            require(!auth.error().message.empty(), "errors carry a message");
            continue;
        }
        require(!auth->access_key_id.empty(), "a key id");
        require(auth->string_to_sign.starts_with("AWS4-HMAC-SHA256\n"), "string to sign");
        require(std::is_sorted(auth->signed_headers.begin(), auth->signed_headers.end()),
                "sorted signed headers");
        require(auth->kind != sigv4::auth_kind::presigned || auth->expires.has_value(), "presigned expiry");
        auto const now = std::chrono::system_clock::time_point(auth->date) + std::chrono::seconds(1);
        auto const ok = sigv4::verify(*auth, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now);
        if (ok) {
            // A signature that verifies must be the one we compute.
            auto const key =
                sigv4::derive_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                          auth->amz_date.substr(0, 8), "us-east-1", to_string(svc));
            require(sigv4::compute_signature(key, auth->string_to_sign) == auth->request_signature,
                    "verified");
            require(ok->chunk_context().seed == auth->request_signature, "seed");
        }
    }
    return 0;
}
