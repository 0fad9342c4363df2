// libFuzzer target: the aws-chunked body decoder (garage/api/common/aws_chunked.hpp).
//
// Input byte 0 picks the mode:
// - bit 7 clear: the rest is a raw body, decoded twice (all at once, and in pieces whose sizes
//   come from the body itself); both runs must agree exactly on payload and outcome.
// - bit 7 set: the rest describes chunks and a trailer that are encoded (and signed) as a client
//   would; the encoding must decode to the same payload, and a truncated or modified copy
//   (position from the input) must be refused, except where truncation is tolerated.

#include <garage/api/common/aws_chunked.hpp>
#include <garage/api/common/checksum.hpp>
#include <garage/util/hasher.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace garage;
using namespace garage::api;
namespace sigv4 = garage::api::sigv4;
using sigv4::payload_mode;

void require(bool condition, char const* what)
{
    if (!condition) {
        std::fprintf(stderr, "oracle failed: %s\n", what);
        std::abort();
    }
}

sigv4::chunk_signing_context const& context()
{
    static sigv4::chunk_signing_context const ctx{
        sigv4::derive_signing_key("secret", "20250101", "garage", "s3"), "20250101T120000Z",
        "20250101/garage/s3/aws4_request", util::sha256sum("seed")};
    return ctx;
}

payload_mode mode_of(std::uint8_t b)
{
    switch (b % 3) {
    case 0:
        return payload_mode::streaming_signed;
    case 1:
        return payload_mode::streaming_signed_trailer;
    default:
        return payload_mode::streaming_unsigned_trailer;
    }
}

std::optional<sigv4::chunk_signing_context> context_for(payload_mode m)
{
    return sigv4::has_chunk_signatures(m) ? std::optional(context()) : std::nullopt;
}

struct outcome {
    std::string payload;
    util::result<void> status;
    bool done = false;
};

outcome decode(payload_mode mode, std::string_view body, std::vector<std::size_t> const& pieces,
               aws_chunked_options const& options)
{
    aws_chunked_decoder dec(mode, context_for(mode), options);
    outcome out{{}, {}, false};
    std::size_t at = 0;
    std::size_t k = 0;
    while (at < body.size()) {
        std::size_t const n =
            pieces.empty() ? body.size() : std::max<std::size_t>(1, pieces[k++ % pieces.size()]);
        auto const r = dec.feed(body.substr(at, n), [&](std::string_view d) {
            require(d.data() >= body.data() && d.data() + d.size() <= body.data() + body.size(),
                    "payload is a view");
            out.payload += d;
        });
        at += n;
        if (!r) {
            out.status = r;
            require(dec.finish() == r, "errors are sticky");
            return out;
        }
    }
    out.status = dec.finish();
    out.done = dec.done();
    require(out.payload.size() == dec.decoded_length(), "decoded length");
    return out;
}

void raw_mode(std::uint8_t selector, std::string_view body)
{
    payload_mode const mode = mode_of(selector);
    aws_chunked_options options;
    options.max_line_length = (selector & 0x08) ? 100 : 1024;
    if (selector & 0x10) {
        options.decoded_content_length = body.size() / 2;
    }
    std::vector<std::size_t> pieces;
    for (std::size_t i = 0; i < body.size() && pieces.size() < 64; i += 7) {
        pieces.push_back(static_cast<unsigned char>(body[i]) % 17);
    }
    auto const whole = decode(mode, body, {}, options);
    auto const split = decode(mode, body, pieces, options);
    // Data is handed out before a chunk's signature can be checked (the caller publishes nothing
    // before the end): after an error the two runs may have handed out different amounts, but
    // both are prefixes of the same payload.
    if (whole.status && split.status) {
        require(whole.payload == split.payload, "same payload whatever the split");
    } else {
        auto const& shorter = whole.payload.size() <= split.payload.size() ? whole.payload : split.payload;
        auto const& longer = whole.payload.size() <= split.payload.size() ? split.payload : whole.payload;
        require(longer.starts_with(shorter), "one payload prefix of the other");
    }
    require(static_cast<bool>(whole.status) == static_cast<bool>(split.status), "same outcome");
    if (!whole.status) {
        require(whole.status.error().code == split.status.error().code, "same error");
    } else {
        require(whole.done && split.done, "success means done");
        require(whole.payload.size() <= body.size(), "payload within body");
    }
}

std::string hex_size(std::size_t n)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return buf;
}

void structured_mode(std::uint8_t selector, std::string_view rest)
{
    payload_mode const mode = mode_of(selector);
    auto const ctx = context_for(mode);
    if (rest.size() < 4) {
        return;
    }
    // Two bytes of mutation position, one of mutation kind, then chunks: a length byte, data.
    std::size_t const where = static_cast<std::size_t>(static_cast<unsigned char>(rest[0])) << 8 |
                              static_cast<unsigned char>(rest[1]);
    std::uint8_t const how = static_cast<std::uint8_t>(rest[2]);
    rest.remove_prefix(3);
    std::vector<std::string_view> chunks;
    std::string payload;
    while (!rest.empty() && chunks.size() < 16) {
        std::size_t const n =
            std::min<std::size_t>(1 + static_cast<unsigned char>(rest[0]) % 64, rest.size() - 1);
        if (n == 0) {
            break;
        }
        chunks.push_back(rest.substr(1, n));
        payload += rest.substr(1, n);
        rest.remove_prefix(1 + n);
    }

    std::string body;
    sigv4::signature prev = ctx ? ctx->seed : sigv4::signature{};
    auto const header = [&](std::string_view data) {
        body += hex_size(data.size());
        if (ctx) {
            prev = chunk_signature(*ctx, prev, util::sha256sum(data));
            body += ";chunk-signature=" + prev.to_hex();
        }
        body += "\r\n";
    };
    for (auto const c : chunks) {
        header(c);
        body += c;
        body += "\r\n";
    }
    header("");
    if (sigv4::has_trailer(mode)) {
        std::string const value =
            checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(payload)).to_base64();
        body += "x-amz-checksum-crc32c:" + value + "\r\n";
        if (ctx) {
            body += "x-amz-trailer-signature:" +
                    trailer_signature(*ctx, prev, util::sha256sum("x-amz-checksum-crc32c:" + value + "\n"))
                        .to_hex() +
                    "\r\n";
        }
    }
    body += "\r\n";

    aws_chunked_options options;
    options.decoded_content_length = payload.size();
    auto const good = decode(mode, body, {how % 13u + 1}, options);
    require(static_cast<bool>(good.status), "a well-formed body decodes");
    require(good.payload == payload, "and gives back its payload");

    // Truncated: refused, except when only the closing empty line is missing.
    std::size_t const cut = where % body.size();
    auto const truncated = decode(mode, std::string_view(body).substr(0, cut), {}, options);
    require(static_cast<bool>(truncated.status) == (cut == body.size() - 2), "truncation detected");

    // One byte changed: in a signed mode, any change to a chunk or the trailer is refused.
    if (ctx && (how & 1)) {
        std::string modified = body;
        modified[cut] = static_cast<char>(modified[cut] ^ (1 + (how >> 1)));
        auto const changed = decode(mode, modified, {}, options);
        if (changed.status) {
            // Only a change that leaves the meaning unchanged may pass: the case of a letter in
            // a hex number (chunk size, signature) or in a trailer field name.
            char const a = body[cut];
            char const b = modified[cut];
            bool const case_swap = (a ^ b) == 0x20 && ((a | 0x20) >= 'a' && (a | 0x20) <= 'z');
            require(case_swap, "a modified signed body is refused");
            require(changed.payload == payload, "and decodes the same");
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    std::string_view const rest(reinterpret_cast<char const*>(data) + 1, size - 1);
    if (data[0] & 0x80) {
        structured_mode(data[0], rest);
    } else {
        raw_mode(data[0], rest);
    }
    return 0;
}
