// Test that header file is self-contained.
#include <garage/api/common/aws_chunked.hpp>

#include <garage/api/common/checksum.hpp>
#include <garage/util/hasher.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {
using namespace garage;
using namespace garage::api;
namespace sigv4 = garage::api::sigv4;
using sigv4::payload_mode;

// The AWS S3 documentation's chunked-upload examples: 64 KiB + 1 KiB of 'a'.
constexpr std::string_view doc_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

sigv4::chunk_signing_context doc_context(std::string_view seed_hex)
{
    return {sigv4::derive_signing_key(doc_secret, "20130524", "us-east-1", "s3"), "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request", *util::hash32::from_hex(seed_hex)};
}

std::string doc_chunked_body()
{
    return "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
           std::string(65536, 'a') +
           "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
           std::string(1024, 'a') +
           "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
}

/// Encodes `chunks` (then the final chunk) as a client would; signs when `ctx` is set.
std::string encode(std::optional<sigv4::chunk_signing_context> const& ctx,
                   std::vector<std::string> const& chunks,
                   std::vector<std::pair<std::string, std::string>> const& trailers = {},
                   bool blank_before_trailer = false)
{
    std::string out;
    sigv4::signature prev = ctx ? ctx->seed : sigv4::signature{};
    auto const header = [&](std::string_view data) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx", data.size());
        out += size;
        if (ctx) {
            prev = chunk_signature(*ctx, prev, util::sha256sum(data));
            out += ";chunk-signature=" + prev.to_hex();
        }
        out += "\r\n";
    };
    for (auto const& c : chunks) {
        header(c);
        out += c;
        out += "\r\n";
    }
    header("");
    if (trailers.empty()) {
        out += "\r\n";
        return out;
    }
    if (blank_before_trailer) {
        out += "\r\n";
    }
    std::string canonical;
    for (auto const& [n, v] : trailers) {
        out += n + ":" + v + "\r\n";
        canonical += n + ":" + v + "\n";
    }
    if (ctx) {
        out +=
            "x-amz-trailer-signature:" + trailer_signature(*ctx, prev, util::sha256sum(canonical)).to_hex() +
            "\r\n";
    }
    out += "\r\n";
    return out;
}

struct decoded {
    std::string payload;
    util::result<void> status;
};

/// Feeds `body` in pieces of `piece` bytes (0: all at once), then finishes.
decoded run(aws_chunked_decoder& dec, std::string_view body, std::size_t piece = 0)
{
    decoded out{{}, {}};
    if (piece == 0) {
        piece = body.size() + 1;
    }
    for (std::size_t i = 0; i < body.size(); i += piece) {
        auto r = dec.feed(body.substr(i, piece), [&](std::string_view data) { out.payload += data; });
        if (!r) {
            out.status = r;
            return out;
        }
    }
    out.status = dec.finish();
    return out;
}

decoded run(payload_mode mode, std::optional<sigv4::chunk_signing_context> ctx, std::string_view body,
            std::size_t piece = 0, aws_chunked_options options = {})
{
    aws_chunked_decoder dec(mode, std::move(ctx), std::move(options));
    return run(dec, body, piece);
}

/// Splits an encoded body into its chunk records (the last one runs to the end).
std::vector<std::string> records(std::string const& body)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < body.size()) {
        auto const eol = body.find("\r\n", i);
        auto const size = std::stoul(body.substr(i, body.find_first_of(";\r", i) - i), nullptr, 16);
        std::size_t const end = size == 0 ? body.size() : eol + 2 + size + 2;
        out.push_back(body.substr(i, end - i));
        i = end;
    }
    return out;
}

bool fails_with(util::result<void> const& r, error e)
{
    return !r && r.error().code == make_error_code(e);
}

sigv4::chunk_signing_context test_context()
{
    return {sigv4::derive_signing_key("secret", "20250101", "garage", "s3"), "20250101T120000Z",
            "20250101/garage/s3/aws4_request", util::sha256sum("seed")};
}

// ------------------------------------------------------------------------------------------

TEST_CASE("chunk_signature reproduces the signatures of the AWS chunked-upload example", "[api][aws_chunked]")
{
    auto const ctx = doc_context("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    auto const s1 = chunk_signature(ctx, ctx.seed, util::sha256sum(std::string(65536, 'a')));
    CHECK(s1.to_hex() == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
    auto const s2 = chunk_signature(ctx, s1, util::sha256sum(std::string(1024, 'a')));
    CHECK(s2.to_hex() == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
    auto const s3 = chunk_signature(ctx, s2, util::sha256sum(""));
    CHECK(s3.to_hex() == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}

TEST_CASE("the AWS chunked-upload example decodes, whatever the piece size", "[api][aws_chunked]")
{
    auto const ctx = doc_context("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    std::string const body = doc_chunked_body();
    REQUIRE(body.size() == 66824); // the example's Content-Length
    for (std::size_t piece : {0, 1, 2, 3, 89, 1000, 4096, 65536}) {
        INFO("piece " << piece);
        aws_chunked_decoder dec(payload_mode::streaming_signed, ctx, {.decoded_content_length = 66560});
        auto const out = run(dec, body, piece);
        REQUIRE(out.status);
        CHECK(out.payload == std::string(66560, 'a'));
        CHECK(dec.done());
        CHECK(dec.decoded_length() == 66560);
        CHECK(dec.trailers().empty());
    }
}

TEST_CASE("payload bytes are views of the input, not copies", "[api][aws_chunked]")
{
    auto const ctx = doc_context("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    std::string const body = doc_chunked_body();
    aws_chunked_decoder dec(payload_mode::streaming_signed, ctx);
    std::string_view input = body;
    std::size_t runs = 0;
    while (!input.empty()) {
        auto step = dec.decode(input);
        REQUIRE(step);
        REQUIRE(step->consumed > 0);
        if (!step->payload.empty()) {
            ++runs;
            CHECK(step->payload.data() >= input.data());
            CHECK(step->payload.data() + step->payload.size() <= input.data() + step->consumed);
        }
        input.remove_prefix(step->consumed);
    }
    CHECK(runs == 2);
    CHECK(dec.finish());
}

TEST_CASE("the AWS trailing-header example decodes and its trailer signature checks", "[api][aws_chunked]")
{
    auto const ctx = doc_context("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    // The chunk signatures the documentation lists.
    auto const s1 = chunk_signature(ctx, ctx.seed, util::sha256sum(std::string(65536, 'a')));
    CHECK(s1.to_hex() == "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2");
    auto const s2 = chunk_signature(ctx, s1, util::sha256sum(std::string(1024, 'a')));
    CHECK(s2.to_hex() == "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7");
    auto const s3 = chunk_signature(ctx, s2, util::sha256sum(""));
    CHECK(s3.to_hex() == "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992");
    auto const ts = trailer_signature(ctx, s3, util::sha256sum("x-amz-checksum-crc32c:sOO8/Q==\n"));
    CHECK(ts.to_hex() == "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");

    std::string const chunks =
        "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
        std::string(65536, 'a') +
        "\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
        std::string(1024, 'a') +
        "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n";
    std::string const trailer =
        "x-amz-checksum-crc32c:sOO8/Q==\r\n"
        "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
        "\r\n\r\n";
    aws_chunked_options const options{.decoded_content_length = 66560,
                                      .expected_trailer = "x-amz-checksum-crc32c"};
    // As SDKs send it, and as the documentation prints it (an empty line before the trailer).
    for (std::string const& body : {chunks + trailer, chunks + "\r\n" + trailer}) {
        for (std::size_t piece : {0, 1, 7, 4096}) {
            INFO("piece " << piece << " body size " << body.size());
            aws_chunked_decoder dec(payload_mode::streaming_signed_trailer, ctx, options);
            auto const out = run(dec, body, piece);
            REQUIRE(out.status);
            CHECK(out.payload == std::string(66560, 'a'));
            REQUIRE(dec.trailers().size() == 1);
            CHECK(dec.trailers()[0] == trailer_field{"x-amz-checksum-crc32c", "sOO8/Q=="});
            CHECK(dec.trailer("X-Amz-Checksum-Crc32c") == "sOO8/Q==");
            // The trailer carries the CRC32C of the payload.
            auto const sent = checksum_from_field(dec.trailers()[0].name, dec.trailers()[0].value);
            REQUIRE(sent);
            CHECK(*sent == checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(out.payload)));
        }
    }

    // A changed checksum value breaks the trailer signature.
    std::string tampered = chunks + trailer;
    tampered.replace(tampered.find("sOO8/Q=="), 8, "sOO8/A==");
    auto const bad = run(payload_mode::streaming_signed_trailer, ctx, tampered);
    CHECK(fails_with(bad.status, error::chunk_signature_mismatch));
}

TEST_CASE("unsigned chunks with a trailer decode as SDKs send them", "[api][aws_chunked]")
{
    std::string const data(5000, 'x');
    auto const crc = checksum_value::from_crc(checksum_algorithm::crc32, crc32(data)).to_base64();
    // botocore: "<hex>\r\n<data>\r\n0\r\nx-amz-checksum-crc32:<b64>\r\n\r\n"
    std::string const body = "1388\r\n" + data + "\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n";
    CHECK(body == encode(std::nullopt, {data}, {{"x-amz-checksum-crc32", crc}}));
    for (std::size_t piece : {0, 1, 13}) {
        aws_chunked_decoder dec(payload_mode::streaming_unsigned_trailer, std::nullopt,
                                {.decoded_content_length = 5000, .expected_trailer = "x-amz-checksum-crc32"});
        auto const out = run(dec, body, piece);
        REQUIRE(out.status);
        CHECK(out.payload == data);
        CHECK(dec.trailer("x-amz-checksum-crc32") == crc);
    }
    // Without the closing empty line, and with "\n\r\n" after the value (seen from some clients).
    CHECK(
        run(payload_mode::streaming_unsigned_trailer, std::nullopt, body.substr(0, body.size() - 2)).status);
    std::string lf = body;
    lf.insert(lf.size() - 4, "\n");
    auto const with_lf = run(payload_mode::streaming_unsigned_trailer, std::nullopt, lf);
    REQUIRE(with_lf.status);
    // Several trailer fields.
    auto const two = encode(std::nullopt, {"abc"}, {{"x-amz-checksum-crc32", crc}, {"x-amz-meta-x", "1"}});
    aws_chunked_decoder dec(payload_mode::streaming_unsigned_trailer, std::nullopt);
    REQUIRE(run(dec, two).status);
    CHECK(dec.trailers().size() == 2);
}

TEST_CASE("an empty body is just the final chunk", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    auto const signed_body = encode(ctx, {});
    auto const out = run(payload_mode::streaming_signed, ctx, signed_body, 0, {.decoded_content_length = 0});
    REQUIRE(out.status);
    CHECK(out.payload.empty());
    auto const trailer_body =
        encode(ctx, {}, {{"x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}});
    CHECK(run(payload_mode::streaming_signed_trailer, ctx, trailer_body).status);
}

// ------------------------------------------------------------------------------------------
// Rejections

TEST_CASE("tampered, reordered or re-seeded signed chunks are rejected", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    std::vector<std::string> const chunks{"first chunk of data", "second chunk", "third"};
    std::string const body = encode(ctx, chunks);
    REQUIRE(run(payload_mode::streaming_signed, ctx, body).status);

    // One flipped data byte.
    std::string flipped = body;
    flipped[body.find("second") + 2] ^= 1;
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, flipped).status,
                     error::chunk_signature_mismatch));

    // One flipped signature digit.
    std::string bad_sig = body;
    auto const pos = bad_sig.find("chunk-signature=") + 16;
    bad_sig[pos] = bad_sig[pos] == '0' ? '1' : '0';
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, bad_sig).status,
                     error::chunk_signature_mismatch));

    // The same chunks in another order.
    auto const r = records(body);
    REQUIRE(r.size() == 4);
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, r[1] + r[0] + r[2] + r[3]).status,
                     error::chunk_signature_mismatch));
    // A chunk left out.
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, r[0] + r[2] + r[3]).status,
                     error::chunk_signature_mismatch));

    // A different seed (another request's signature).
    auto other = ctx;
    other.seed = util::sha256sum("another request");
    CHECK(
        fails_with(run(payload_mode::streaming_signed, other, body).status, error::chunk_signature_mismatch));

    // Another signing key.
    auto wrong_key = ctx;
    wrong_key.key = sigv4::derive_signing_key("other secret", "20250101", "garage", "s3");
    CHECK(fails_with(run(payload_mode::streaming_signed, wrong_key, body).status,
                     error::chunk_signature_mismatch));

    // The final chunk alone carries a signature too.
    std::string bad_final = body;
    auto const fpos = bad_final.rfind("chunk-signature=") + 16;
    bad_final[fpos] = bad_final[fpos] == 'a' ? 'b' : 'a';
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, bad_final).status,
                     error::chunk_signature_mismatch));
}

TEST_CASE("a truncated body is detected at the end of the stream", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    struct variant {
        payload_mode mode;
        std::optional<sigv4::chunk_signing_context> ctx;
        std::string body;
    };
    std::vector<variant> const variants{
        {payload_mode::streaming_signed, ctx, encode(ctx, {"hello ", "world"})},
        {payload_mode::streaming_signed_trailer, ctx,
         encode(ctx, {"hello ", "world"}, {{"x-amz-checksum-crc32", "DUoRhQ=="}})},
        {payload_mode::streaming_unsigned_trailer, std::nullopt,
         encode(std::nullopt, {"hello ", "world"}, {{"x-amz-checksum-crc32", "DUoRhQ=="}})},
    };
    for (auto const& v : variants) {
        REQUIRE(run(v.mode, v.ctx, v.body).status);
        for (std::size_t len = 0; len < v.body.size(); ++len) {
            INFO("mode " << static_cast<int>(v.mode) << " prefix " << len << " of " << v.body.size());
            auto const out = run(v.mode, v.ctx, std::string_view(v.body).substr(0, len));
            if (len == v.body.size() - 2) {
                CHECK(out.status); // only the closing empty line is missing: tolerated
            } else {
                REQUIRE(!out.status);
                CHECK(out.status.error().is(util::condition::bad_request));
                bool const expected = out.status.error().code == make_error_code(error::incomplete_body) ||
                                      out.status.error().code == make_error_code(error::missing_trailer);
                CHECK(expected);
            }
        }
    }
    // The AWS example cut inside its second chunk.
    auto const doc = doc_context("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    auto const cut =
        run(payload_mode::streaming_signed, doc, std::string_view(doc_chunked_body()).substr(0, 66000));
    CHECK(fails_with(cut.status, error::incomplete_body));
    CHECK(cut.status.error().message == "Unexpected EOF");
}

TEST_CASE("malformed chunk framing is a chunk format error", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    std::string const sig = std::string(64, '0');
    struct bad_case {
        std::string body;
        payload_mode mode;
        error expected;
    };
    std::vector<bad_case> const cases{
        {"zz;chunk-signature=" + sig + "\r\n", payload_mode::streaming_signed, error::chunk_format_error},
        {";chunk-signature=" + sig + "\r\n", payload_mode::streaming_signed, error::chunk_format_error},
        {"5\r\nhello\r\n", payload_mode::streaming_signed, error::chunk_format_error},
        {"5;chunk-signature=abc\r\nhello\r\n", payload_mode::streaming_signed, error::chunk_format_error},
        {"5;chunk-signatur=" + sig + "\r\n", payload_mode::streaming_signed, error::chunk_format_error},
        {"5;chunk-signature=" + sig + "\r\n", payload_mode::streaming_unsigned_trailer,
         error::chunk_format_error},
        {"5;foo\r\nhello\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"5\r\nhelloXX", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"5\r\nhello\r\r", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"5\nhello\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"10000000000000000\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"100000000\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error}, // > 32 bits
        {std::string(2000, '1'), payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"0\r\n: no name\r\n\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"0\r\nx-amz-checksum-crc32 DUoRhQ==\r\n\r\n", payload_mode::streaming_unsigned_trailer,
         error::chunk_format_error},
        {"0\r\nx amz:v\r\n\r\n", payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"0\r\nx-amz-checksum-crc32:a\x01"
         "b\r\n\r\n",
         payload_mode::streaming_unsigned_trailer, error::chunk_format_error},
        {"0\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n", payload_mode::streaming_unsigned_trailer,
         error::chunk_format_error},
        {"0\r\n\r\n\r\n", payload_mode::streaming_unsigned_trailer, error::missing_trailer},
    };
    for (auto const& c : cases) {
        INFO(c.body.substr(0, 80));
        auto const mode_ctx = sigv4::has_chunk_signatures(c.mode) ? std::optional(ctx) : std::nullopt;
        auto const out = run(c.mode, mode_ctx, c.body);
        REQUIRE(!out.status);
        CHECK(out.status.error().code == make_error_code(c.expected));
    }
}

TEST_CASE("signed trailers need their signature, and it must be right", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    std::string const body = encode(ctx, {"data"}, {{"x-amz-checksum-crc32", "rfxhJw=="}});
    REQUIRE(run(payload_mode::streaming_signed_trailer, ctx, body).status);

    // Without the signature line.
    auto const sig_at = body.find("x-amz-trailer-signature");
    std::string const unsigned_trailer = body.substr(0, sig_at) + "\r\n";
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx, unsigned_trailer).status,
                     error::missing_trailer));
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx, body.substr(0, sig_at)).status,
                     error::missing_trailer));
    // A signature before any field.
    std::string const final_chunk_end = body.substr(0, body.find("x-amz-checksum-crc32"));
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx,
                         final_chunk_end + "x-amz-trailer-signature:" + std::string(64, 'a') + "\r\n\r\n")
                         .status,
                     error::missing_trailer));
    // A signature computed with Garage 1.2's string to sign (`...-PAYLOAD`, not `...-TRAILER`)
    // is refused: AWS clients sign `AWS4-HMAC-SHA256-TRAILER`.
    auto const last = body.rfind("chunk-signature=") + 16;
    std::string const final_sig = body.substr(last, 64);
    std::string const garage_sig =
        sigv4::compute_signature(ctx.key, "AWS4-HMAC-SHA256-PAYLOAD\n" + ctx.amz_date + "\n" + ctx.scope +
                                              "\n" + final_sig + "\n" +
                                              util::sha256sum("x-amz-checksum-crc32:rfxhJw==\n").to_hex())
            .to_hex();
    std::string garage_style = body;
    garage_style.replace(sig_at + 24, 64, garage_sig);
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx, garage_style).status,
                     error::chunk_signature_mismatch));
    // Data after the end.
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx, body + "x").status,
                     error::chunk_format_error));
    // An expected trailer that is not there.
    CHECK(fails_with(run(payload_mode::streaming_signed_trailer, ctx, body, 0,
                         {.expected_trailer = "x-amz-checksum-sha256"})
                         .status,
                     error::missing_trailer));
}

TEST_CASE("x-amz-decoded-content-length is enforced when given", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    std::string const body = encode(ctx, {"0123456789", "abcde"});
    CHECK(run(payload_mode::streaming_signed, ctx, body, 0, {.decoded_content_length = 15}).status);
    auto const longer = run(payload_mode::streaming_signed, ctx, body, 0, {.decoded_content_length = 12});
    CHECK(fails_with(longer.status, error::decoded_length_mismatch));
    CHECK(longer.payload == "0123456789"); // stopped before the chunk that overflows
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, body, 0, {.decoded_content_length = 16}).status,
                     error::decoded_length_mismatch));

    std::vector<header_field> h{{"x-amz-decoded-content-length", "66560"}};
    CHECK(parse_decoded_content_length(h)->value() == 66560);
    CHECK(!parse_decoded_content_length(std::vector<header_field>{})->has_value());
    for (std::string_view bad : {"", "-1", "1e3", "12345678901234567890"}) {
        std::vector<header_field> b{{"x-amz-decoded-content-length", bad}};
        CHECK(parse_decoded_content_length(b).error().code == make_error_code(error::invalid_argument));
    }
    CHECK(check_decoded_length(5, 5));
    CHECK(check_decoded_length(5, 4).error().code == make_error_code(error::decoded_length_mismatch));
}

TEST_CASE("limits bound what the decoder buffers", "[api][aws_chunked]")
{
    aws_chunked_options const small{.max_line_length = 32, .max_trailer_fields = 1, .max_chunk_size = 100};
    auto const ctx = test_context();
    // A signed chunk header needs ~90 bytes: too long for a 32-byte line limit.
    CHECK(fails_with(run(payload_mode::streaming_signed, ctx, encode(ctx, {"x"}), 1, small).status,
                     error::chunk_format_error));
    CHECK(fails_with(run(payload_mode::streaming_unsigned_trailer, std::nullopt, "65\r\n", 0, small).status,
                     error::chunk_format_error));
    CHECK(fails_with(run(payload_mode::streaming_unsigned_trailer, std::nullopt,
                         encode(std::nullopt, {"x"}, {{"a", "1"}, {"b", "2"}}), 0, small)
                         .status,
                     error::chunk_format_error));
    // A large chunk streams through without being buffered.
    std::string const big(3 << 20, 'z');
    std::string const body = encode(ctx, {big});
    aws_chunked_decoder dec(payload_mode::streaming_signed, ctx);
    std::size_t longest_run = 0;
    std::size_t total = 0;
    for (std::size_t i = 0; i < body.size(); i += 65536) {
        REQUIRE(dec.feed(std::string_view(body).substr(i, 65536), [&](std::string_view d) {
            longest_run = std::max(longest_run, d.size());
            total += d.size();
        }));
    }
    REQUIRE(dec.finish());
    CHECK(total == big.size());
    CHECK(longest_run <= 65536);
}

TEST_CASE("after an error the decoder keeps failing with it", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    aws_chunked_decoder dec(payload_mode::streaming_signed, ctx);
    auto const first = dec.decode("xyz\r\n");
    REQUIRE(!first);
    auto const again = dec.decode(encode(ctx, {"ok"}));
    REQUIRE(!again);
    CHECK(again.error() == first.error());
    CHECK(dec.finish().error() == first.error());
    CHECK(!dec.done());
}

TEST_CASE("the decoder refuses non-streaming modes and signed modes without a context", "[api][aws_chunked]")
{
    CHECK_THROWS_AS(aws_chunked_decoder(payload_mode::unsigned_payload, std::nullopt), std::invalid_argument);
    CHECK_THROWS_AS(aws_chunked_decoder(payload_mode::sha256, test_context()), std::invalid_argument);
    CHECK_THROWS_AS(aws_chunked_decoder(payload_mode::streaming_signed, std::nullopt), std::invalid_argument);
    CHECK_NOTHROW(aws_chunked_decoder(payload_mode::streaming_unsigned_trailer, std::nullopt));

    sigv4::verified_auth auth;
    auth.payload.mode = payload_mode::streaming_signed;
    auth.key = test_context().key;
    auth.amz_date = test_context().amz_date;
    auth.scope = test_context().scope;
    auth.seed_signature = test_context().seed;
    aws_chunked_decoder dec(auth);
    CHECK(run(dec, encode(test_context(), {"from auth"})).payload == "from auth");
}

TEST_CASE("Content-Encoding loses its aws-chunked part", "[api][aws_chunked]")
{
    CHECK(!strip_aws_chunked_encoding(std::nullopt)->has_value());
    CHECK(!strip_aws_chunked_encoding("aws-chunked")->has_value());
    CHECK(strip_aws_chunked_encoding("aws-chunked,gzip")->value() == "gzip");
    CHECK(strip_aws_chunked_encoding("aws-chunked, gzip")->value() == "gzip");
    CHECK(strip_aws_chunked_encoding("gzip, aws-chunked")->value() == "gzip");
    CHECK(strip_aws_chunked_encoding("deflate,AWS-CHUNKED , gzip")->value() == "deflate, gzip");
    CHECK(!strip_aws_chunked_encoding(" aws-chunked ,")->has_value());
    CHECK(strip_aws_chunked_encoding("gzip").error().code ==
          make_error_code(error::invalid_content_encoding));
}

TEST_CASE("random splits of random signed bodies decode to the original payload", "[api][aws_chunked]")
{
    auto const ctx = test_context();
    std::mt19937 rng(42);
    for (int round = 0; round < 30; ++round) {
        std::vector<std::string> chunks;
        std::string payload;
        int const n = static_cast<int>(rng() % 5);
        for (int i = 0; i < n; ++i) {
            std::string c(1 + rng() % 3000, '\0');
            for (auto& ch : c) {
                ch = static_cast<char>(rng());
            }
            payload += c;
            chunks.push_back(std::move(c));
        }
        bool const with_trailer = rng() % 2 == 0;
        std::string const crc =
            checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(payload)).to_base64();
        auto const mode =
            with_trailer ? payload_mode::streaming_signed_trailer : payload_mode::streaming_signed;
        std::string const body = with_trailer
                                     ? encode(ctx, chunks, {{"x-amz-checksum-crc32c", crc}}, rng() % 2 == 0)
                                     : encode(ctx, chunks);
        aws_chunked_decoder dec(mode, ctx, {.decoded_content_length = payload.size()});
        std::string out;
        std::size_t i = 0;
        while (i < body.size()) {
            std::size_t const piece = 1 + rng() % 200;
            REQUIRE(dec.feed(std::string_view(body).substr(i, piece), [&](std::string_view d) { out += d; }));
            i += piece;
        }
        REQUIRE(dec.finish());
        CHECK(out == payload);
        if (with_trailer) {
            CHECK(dec.trailer("x-amz-checksum-crc32c") == crc);
        }
    }
}

} // namespace
