#pragma once
/** @file
    An incremental decoder of `aws-chunked` request bodies (`Content-Encoding: aws-chunked`),
    in the three streaming modes of `x-amz-content-sha256`:

    - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: `<hex size>;chunk-signature=<sig>\r\n<data>\r\n`
      per chunk, then the 0-size chunk; each signature is
      HMAC(signing key, `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous
   sig>\n<sha256("")>\n<sha256(data)>`), the first one chained to the request's own signature (the seed).
    - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: the same, then trailer lines
      (`x-amz-checksum-crc32c:<base64>\r\n`) and `x-amz-trailer-signature:<sig>\r\n`, signed as
      HMAC(signing key, `AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<final chunk sig>\n<sha256(trailer lines,
   each ending in \n)>`).
    - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `<hex size>\r\n<data>\r\n` per chunk, then the
      0-size chunk and unsigned trailer lines.

    The body ends with an empty line. Tolerated, as real clients (and Garage) do: a missing final
    empty line at the end of the stream, an empty line between the final chunk and the trailer
    (the AWS documentation's example), a `\n` before the `\r\n` ending a trailer line.

    Memory is bounded: chunk data is hashed as it passes and handed out as views of the input;
    only a chunk header or trailer line (at most `max_line_length` bytes) is ever buffered.

    Note (differs from Garage, which follows neither): the trailer signature's string to sign
    starts with `AWS4-HMAC-SHA256-TRAILER`, as AWS documents and its SDKs send, not `...-PAYLOAD`.
*/

#include <garage/api/common/error.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>
#include <garage/util/hasher.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api {

/** The signature of one chunk of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` body: HMAC
    of `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous>\n<sha256("")>\n<chunk_sha256>`
    under the request's signing key.
    @param ctx          The request's signing key, date and credential scope.
    @param previous     The previous chunk's signature (the request's own signature for the
                        first chunk).
    @param chunk_sha256 The SHA-256 of the chunk's data (of nothing for the final, empty chunk).
    @return The signature the chunk header must carry. */
sigv4::signature chunk_signature(sigv4::chunk_signing_context const& ctx, sigv4::signature const& previous,
                                 util::hash32 const& chunk_sha256);

/** The signature of the trailer of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` body: HMAC
    of `AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<previous>\n<trailer_sha256>` under the
    request's signing key.
    @param ctx            The request's signing key, date and credential scope.
    @param previous       The final (empty) chunk's signature.
    @param trailer_sha256 The SHA-256 of the trailer lines, each written `name:value\n`.
    @return The signature that `x-amz-trailer-signature` must carry. */
sigv4::signature trailer_signature(sigv4::chunk_signing_context const& ctx, sigv4::signature const& previous,
                                   util::hash32 const& trailer_sha256);

/// Limits and expectations of an @ref aws_chunked_decoder.
struct aws_chunked_options {
    /// The longest chunk header or trailer line, its `\r\n` excluded.
    std::size_t max_line_length = 1024;
    /// The most trailer fields (the signature line excluded).
    std::size_t max_trailer_fields = 8;
    /// The largest chunk (Garage parses sizes as 32-bit).
    std::uint64_t max_chunk_size = 0xFFFFFFFFull;
    /// `x-amz-decoded-content-length`: when set, the payload must have exactly this size.
    std::optional<std::uint64_t> decoded_content_length{};
    /// The trailer field announced by `x-amz-trailer` (e.g. `x-amz-checksum-crc32c`): when
    /// set, the trailer must contain it.
    std::optional<std::string> expected_trailer{};
};

/// One trailer field.
struct trailer_field {
    std::string name;  ///< lower-cased
    std::string value; ///< as received

    /// Same name and same value (memberwise).
    friend bool operator==(trailer_field const&, trailer_field const&) = default;
};

/// What one call to @ref aws_chunked_decoder::decode did.
struct chunked_step {
    std::size_t consumed = 0; ///< input bytes used (more than 0 when there was input)
    std::string_view payload; ///< decoded payload bytes: a view of the input, possibly empty
};

/** Decodes an `aws-chunked` body fed in pieces of any size.

    @code
    api::aws_chunked_decoder dec(auth.payload.mode, auth.chunk_context(), {.decoded_content_length = n});
    for (std::string_view piece : body_pieces) {
        if (auto r = dec.feed(piece, [&](std::string_view data) { sink(data); }); !r) return r.error();
    }
    if (auto r = dec.finish(); !r) return r.error();      // truncated body
    @endcode

    Payload bytes are handed out as they arrive, before the signature of their chunk (which
    follows the data) is checked: the consumer must not make them visible before `finish()`
    succeeds. After an error, every call returns that error again.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class aws_chunked_decoder {
public:
    /** A decoder for `mode`.
        @param mode One of the three streaming modes.
        @param signing Required for the two signed modes (the seed, key, date and scope).
        @param options Limits and expectations.
        @throws std::invalid_argument if `mode` is not a streaming mode, or signing is missing
        for a signed one (programming errors). */
    aws_chunked_decoder(sigv4::payload_mode mode, std::optional<sigv4::chunk_signing_context> signing,
                        aws_chunked_options options = {});

    /** A decoder for a verified streaming request, taking the mode and the signing context
        from `auth`.
        @param auth    A verified request whose `payload.mode` is a streaming mode.
        @param options Limits and expectations.
        @throws std::invalid_argument if `auth.payload.mode` is not a streaming mode. */
    explicit aws_chunked_decoder(sigv4::verified_auth const& auth, aws_chunked_options options = {})
        : aws_chunked_decoder(auth.payload.mode, auth.chunk_context(), std::move(options))
    {
    }

    /** Decodes from the start of `input`, stopping after the first run of payload bytes.
        @param input The next bytes of the body (any size; what is not consumed must be
                     passed again, at the start of the next call's input).
        @return How much input was used and the payload bytes found (a view of `input`), or
        `chunk_format_error`, `chunk_signature_mismatch`, `decoded_length_mismatch`,
        `missing_trailer`. */
    util::result<chunked_step> decode(std::string_view input);

    /** Decodes all of `input`, calling `sink(std::string_view)` for each run of payload bytes.
        @tparam Sink Callable with a `std::string_view`.
        @param input The next bytes of the body, consumed entirely unless an error is met.
        @param sink  Receives the payload bytes, in order, as views of `input`.
        @return Nothing, or the first error of @ref decode (the sink has then received the
        payload decoded before it). */
    template <class Sink>
    util::result<void> feed(std::string_view input, Sink&& sink)
    {
        while (!input.empty()) {
            auto step = decode(input);
            if (!step) {
                return step.error();
            }
            if (!step->payload.empty()) {
                sink(step->payload);
            }
            input.remove_prefix(step->consumed);
        }
        return {};
    }

    /** Declares the end of the body.
        @return `incomplete_body` if the body stopped before its end (final chunk, trailer),
        `decoded_length_mismatch`, `missing_trailer`, or the error already met. */
    util::result<void> finish();

    /// @return True once the whole body, trailer and final empty line included, has been decoded.
    bool done() const noexcept { return state_ == state::done; }
    /// @return The number of payload bytes handed out so far.
    std::uint64_t decoded_length() const noexcept { return decoded_; }
    /// @return The trailer fields received, in order (complete once `done()`).
    std::span<trailer_field const> trailers() const noexcept { return trailers_; }
    /** Looks up a received trailer field.
        @param name The field name, compared case-insensitively (e.g. `x-amz-checksum-crc32c`).
        @return Its value as received, or `nullopt` if no such field was received. */
    std::optional<std::string_view> trailer(std::string_view name) const noexcept;

private:
    enum class state {
        chunk_header,
        chunk_data,
        chunk_crlf,
        final_crlf,
        trailer_line,
        trailer_end,
        done,
        failed
    };

    util::result<void> fail(util::failure f);
    /// Appends input up to a `\r\n` to `line_`; returns the bytes used, and whether the line is complete.
    util::result<std::size_t> take_line(std::string_view input, bool& complete);
    util::result<void> on_chunk_header(std::string_view line);
    util::result<void> on_chunk_end();
    util::result<void> on_final_chunk();
    util::result<void> on_trailer_line(std::string_view line);
    util::result<void> on_trailer_complete();
    /// Consumes the bytes of an expected `\r\n` (possibly split); `complete` when both are seen.
    util::result<std::size_t> take_crlf(std::string_view input, bool& complete);

    sigv4::payload_mode mode_;
    std::optional<sigv4::chunk_signing_context> signing_;
    aws_chunked_options options_;
    state state_ = state::chunk_header;
    std::optional<util::failure> error_;
    std::string line_;
    std::uint64_t remaining_ = 0; // data bytes left in the current chunk
    std::size_t crlf_seen_ = 0;   // bytes of an expected "\r\n" already seen
    std::uint64_t decoded_ = 0;
    sigv4::signature previous_{};    // the last verified signature (the seed at first)
    sigv4::signature claimed_{};     // the signature announced by the current chunk header
    util::sha256_hasher chunk_hash_; // of the current chunk's data (signed modes)
    bool skipped_blank_ = false;     // the empty line tolerated before trailer fields
    std::vector<trailer_field> trailers_;
};

/** Reads `x-amz-decoded-content-length`, the size of an `aws-chunked` body's payload.
    @param headers The request's header fields.
    @return The length, `nullopt` if the header is absent, or `error::invalid_argument` if it
    is not a decimal number. */
util::result<std::optional<std::uint64_t>>
parse_decoded_content_length(std::span<header_field const> headers);

/** Checks a decoded length against `x-amz-decoded-content-length`.
    @param expected The value of `x-amz-decoded-content-length`.
    @param actual   The number of payload bytes decoded.
    @return Nothing if they are equal, `error::decoded_length_mismatch` if they differ. */
util::result<void> check_decoded_length(std::uint64_t expected, std::uint64_t actual);

/** The `Content-Encoding` left once `aws-chunked` is removed (Garage's rule, extended to any
    position in the list as S3 does): absent stays absent (some clients omit it), `aws-chunked`
    becomes absent, `aws-chunked, gzip` and `gzip, aws-chunked` become `gzip` (the remaining
    codings, trimmed, joined by `, `).
    @param content_encoding The request's `Content-Encoding`, if any.
    @return The remaining encoding (`nullopt` when none is left), or
    `error::invalid_content_encoding` for a value that does not list `aws-chunked` (the caller
    decides whether that matters: it does for `STREAMING-*` bodies only). */
util::result<std::optional<std::string>>
strip_aws_chunked_encoding(std::optional<std::string_view> content_encoding);

} // namespace garage::api
