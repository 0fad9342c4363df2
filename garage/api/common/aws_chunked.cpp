#include <garage/api/common/aws_chunked.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace garage::api {
namespace {

using util::failure;

constexpr int hex_digit(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

constexpr bool is_name_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

constexpr char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr std::string_view chunk_signature_prefix = ";chunk-signature=";
constexpr std::string_view trailer_signature_name = "x-amz-trailer-signature";

sigv4::signature sign_chain(std::string_view kind, sigv4::chunk_signing_context const& ctx,
                            sigv4::signature const& previous, std::string_view extra_line,
                            util::hash32 const& hash)
{
    std::string sts;
    sts.reserve(kind.size() + ctx.amz_date.size() + ctx.scope.size() + 3 * 65 + 8);
    sts += kind;
    sts.push_back('\n');
    sts += ctx.amz_date;
    sts.push_back('\n');
    sts += ctx.scope;
    sts.push_back('\n');
    sts += previous.to_hex();
    sts.push_back('\n');
    if (!extra_line.empty()) {
        sts += extra_line;
        sts.push_back('\n');
    }
    sts += hash.to_hex();
    return sigv4::compute_signature(ctx.key, sts);
}

} // namespace

sigv4::signature chunk_signature(sigv4::chunk_signing_context const& ctx, sigv4::signature const& previous,
                                 util::hash32 const& chunk_sha256)
{
    return sign_chain("AWS4-HMAC-SHA256-PAYLOAD", ctx, previous, sigv4::empty_sha256_hex, chunk_sha256);
}

sigv4::signature trailer_signature(sigv4::chunk_signing_context const& ctx, sigv4::signature const& previous,
                                   util::hash32 const& trailer_sha256)
{
    return sign_chain("AWS4-HMAC-SHA256-TRAILER", ctx, previous, {}, trailer_sha256);
}

aws_chunked_decoder::aws_chunked_decoder(sigv4::payload_mode mode,
                                         std::optional<sigv4::chunk_signing_context> signing,
                                         aws_chunked_options options)
    : mode_(mode), signing_(std::move(signing)), options_(std::move(options))
{
    if (!sigv4::is_streaming(mode_)) {
        throw std::invalid_argument("aws_chunked_decoder: not a streaming payload mode");
    }
    if (sigv4::has_chunk_signatures(mode_)) {
        if (!signing_) {
            throw std::invalid_argument("aws_chunked_decoder: signed chunks need a signing context");
        }
        previous_ = signing_->seed;
    } else {
        signing_.reset();
    }
    if (options_.expected_trailer) {
        for (char& c : *options_.expected_trailer) {
            c = to_lower(c);
        }
    }
    line_.reserve(std::min<std::size_t>(options_.max_line_length + 3, 256));
}

std::optional<std::string_view> aws_chunked_decoder::trailer(std::string_view name) const noexcept
{
    for (auto const& f : trailers_) {
        if (iequals(f.name, name)) {
            return std::string_view(f.value);
        }
    }
    return std::nullopt;
}

util::result<void> aws_chunked_decoder::fail(util::failure f)
{
    state_ = state::failed;
    error_ = f;
    return f;
}

util::result<std::size_t> aws_chunked_decoder::take_line(std::string_view input, bool& complete)
{
    complete = false;
    std::size_t used = 0;
    // A line ends at the first "\r\n"; a lone '\n' stays in the line (and is judged by its parser).
    while (used < input.size()) {
        void const* nl = std::memchr(input.data() + used, '\n', input.size() - used);
        std::size_t const end =
            nl == nullptr ? input.size()
                          : static_cast<std::size_t>(static_cast<char const*>(nl) - input.data()) + 1;
        line_.append(input.data() + used, end - used);
        used = end;
        if (line_.size() > options_.max_line_length + 3) { // + "\n\r\n" tolerated after a trailer value
            return failure(error::chunk_format_error, "Chunk format error: line too long");
        }
        if (line_.size() >= 2 && line_.ends_with("\r\n")) {
            line_.resize(line_.size() - 2);
            complete = true;
            return used;
        }
    }
    return used;
}

util::result<std::size_t> aws_chunked_decoder::take_crlf(std::string_view input, bool& complete)
{
    complete = false;
    std::size_t used = 0;
    while (used < input.size() && crlf_seen_ < 2) {
        char const want = crlf_seen_ == 0 ? '\r' : '\n';
        if (input[used] != want) {
            return failure(error::chunk_format_error, "Chunk format error: expected CRLF");
        }
        ++used;
        ++crlf_seen_;
    }
    if (crlf_seen_ == 2) {
        crlf_seen_ = 0;
        complete = true;
    }
    return used;
}

util::result<void> aws_chunked_decoder::on_chunk_header(std::string_view line)
{
    std::size_t i = 0;
    std::uint64_t size = 0;
    while (i < line.size() && hex_digit(line[i]) >= 0) {
        if (i == 16) {
            return failure(error::chunk_format_error, "Chunk format error: chunk size too long");
        }
        size = size * 16 + static_cast<std::uint64_t>(hex_digit(line[i]));
        ++i;
    }
    if (i == 0) {
        return failure(error::chunk_format_error, "Chunk format error: missing chunk size");
    }
    if (size > options_.max_chunk_size) {
        return failure(error::chunk_format_error, "Chunk format error: chunk too large");
    }
    std::string_view rest = line.substr(i);
    if (signing_) {
        if (!rest.starts_with(chunk_signature_prefix)) {
            return failure(error::chunk_format_error, "Chunk format error: missing chunk-signature");
        }
        rest.remove_prefix(chunk_signature_prefix.size());
        auto sig = util::hash32::from_hex(rest);
        if (rest.size() != 64 || !sig) {
            return failure(error::chunk_format_error, "Chunk format error: invalid chunk-signature");
        }
        claimed_ = *sig;
    } else if (!rest.empty()) {
        return failure(error::chunk_format_error, "Chunk format error: unexpected data after chunk size");
    }

    remaining_ = size;
    if (size == 0) {
        return on_final_chunk();
    }
    if (options_.decoded_content_length && size > *options_.decoded_content_length - decoded_) {
        return failure(error::decoded_length_mismatch, "payload longer than x-amz-decoded-content-length");
    }
    state_ = state::chunk_data;
    return {};
}

util::result<void> aws_chunked_decoder::on_chunk_end()
{
    if (signing_) {
        sigv4::signature const expected = chunk_signature(*signing_, previous_, chunk_hash_.finalize());
        if (!sigv4::signatures_equal(expected, claimed_)) {
            return failure(error::chunk_signature_mismatch, "Invalid payload signature");
        }
        previous_ = claimed_;
    }
    state_ = state::chunk_crlf;
    return {};
}

util::result<void> aws_chunked_decoder::on_final_chunk()
{
    if (signing_) {
        chunk_hash_.reset();
        sigv4::signature const expected = chunk_signature(*signing_, previous_, chunk_hash_.finalize());
        if (!sigv4::signatures_equal(expected, claimed_)) {
            return failure(error::chunk_signature_mismatch, "Invalid payload signature");
        }
        previous_ = claimed_;
    }
    if (options_.decoded_content_length && decoded_ != *options_.decoded_content_length) {
        return failure(error::decoded_length_mismatch, "payload shorter than x-amz-decoded-content-length");
    }
    state_ = sigv4::has_trailer(mode_) ? state::trailer_line : state::final_crlf;
    return {};
}

util::result<void> aws_chunked_decoder::on_trailer_complete()
{
    if (options_.expected_trailer && !trailer(*options_.expected_trailer)) {
        return failure(error::missing_trailer, "missing trailer `" + *options_.expected_trailer + "`");
    }
    state_ = state::done;
    return {};
}

util::result<void> aws_chunked_decoder::on_trailer_line(std::string_view line)
{
    bool const signed_trailer = signing_.has_value();
    if (line.empty()) {
        if (trailers_.empty() && !skipped_blank_) {
            skipped_blank_ = true; // "0;chunk-signature=...\r\n\r\n<trailer>" (AWS's example)
            return {};
        }
        if (trailers_.empty()) {
            return failure(error::missing_trailer, "missing trailer");
        }
        if (signed_trailer) {
            return failure(error::missing_trailer, "missing x-amz-trailer-signature");
        }
        return on_trailer_complete();
    }

    auto const colon = line.find(':');
    std::string_view const name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), is_name_char)) {
        return failure(error::chunk_format_error, "Chunk format error: invalid trailer line");
    }
    std::string_view value = line.substr(colon + 1);
    if (value.ends_with('\n')) {
        value.remove_suffix(1); // some clients end the value with "\n\r\n"
    }
    for (char const c : value) {
        auto const u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
            return failure(error::chunk_format_error, "Chunk format error: invalid trailer value");
        }
    }

    std::string lname(name);
    for (char& c : lname) {
        c = to_lower(c);
    }
    if (lname == trailer_signature_name) {
        if (!signed_trailer) {
            return failure(error::chunk_format_error, "Chunk format error: signature in an unsigned trailer");
        }
        if (trailers_.empty()) {
            return failure(error::missing_trailer, "missing trailer");
        }
        auto sig = util::hash32::from_hex(value);
        if (value.size() != 64 || !sig) {
            return failure(error::chunk_format_error, "Chunk format error: invalid x-amz-trailer-signature");
        }
        util::sha256_hasher h;
        for (auto const& f : trailers_) {
            h.update(f.name);
            h.update(":");
            h.update(f.value);
            h.update("\n");
        }
        sigv4::signature const expected = trailer_signature(*signing_, previous_, h.finalize());
        if (!sigv4::signatures_equal(expected, *sig)) {
            return failure(error::chunk_signature_mismatch, "Invalid trailer signature");
        }
        if (auto r = on_trailer_complete(); !r) {
            return r;
        }
        state_ = state::trailer_end; // only the closing empty line may follow
        return {};
    }
    if (trailers_.size() >= options_.max_trailer_fields) {
        return failure(error::chunk_format_error, "Chunk format error: too many trailer fields");
    }
    trailers_.push_back({std::move(lname), std::string(value)});
    return {};
}

util::result<chunked_step> aws_chunked_decoder::decode(std::string_view input)
{
    if (state_ == state::failed) {
        return *error_;
    }
    chunked_step step;
    auto const fail_step = [&](util::failure f) -> util::result<chunked_step> {
        static_cast<void>(fail(f));
        return f;
    };

    while (step.consumed < input.size()) {
        std::string_view const rest = input.substr(step.consumed);
        switch (state_) {
        case state::chunk_header:
        case state::trailer_line: {
            bool complete = false;
            auto used = take_line(rest, complete);
            if (!used) {
                return fail_step(used.error());
            }
            step.consumed += *used;
            if (!complete) {
                break;
            }
            auto r = state_ == state::chunk_header ? on_chunk_header(line_) : on_trailer_line(line_);
            line_.clear();
            if (!r) {
                return fail_step(r.error());
            }
            break;
        }
        case state::chunk_data: {
            std::size_t const n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
            step.payload = rest.substr(0, n);
            step.consumed += n;
            remaining_ -= n;
            decoded_ += n;
            if (signing_) {
                chunk_hash_.update(step.payload);
            }
            if (remaining_ == 0) {
                if (auto r = on_chunk_end(); !r) {
                    return fail_step(r.error());
                }
            }
            return step; // one run of payload per call
        }
        case state::chunk_crlf:
        case state::final_crlf:
        case state::trailer_end: {
            bool complete = false;
            auto used = take_crlf(rest, complete);
            if (!used) {
                return fail_step(used.error());
            }
            step.consumed += *used;
            if (complete) {
                state_ = state_ == state::chunk_crlf ? state::chunk_header : state::done;
            }
            break;
        }
        case state::done:
            return fail_step(
                failure(error::chunk_format_error, "Chunk format error: data after the final chunk"));
        case state::failed:
            return *error_;
        }
    }
    return step;
}

util::result<void> aws_chunked_decoder::finish()
{
    switch (state_) {
    case state::done:
        return {};
    case state::failed:
        return *error_;
    case state::final_crlf:
    case state::trailer_end:
        if (crlf_seen_ == 0) { // the closing empty line is missing: tolerated
            state_ = state::done;
            return {};
        }
        break;
    case state::trailer_line:
        if (line_.empty() && !trailers_.empty() && !signing_) {
            if (auto r = on_trailer_complete(); !r) {
                return fail(r.error());
            }
            return {};
        }
        if (line_.empty() && (trailers_.empty() || signing_)) {
            return fail(failure(error::missing_trailer,
                                trailers_.empty() ? "missing trailer" : "missing x-amz-trailer-signature"));
        }
        break;
    default:
        break;
    }
    return fail(failure(error::incomplete_body, "Unexpected EOF"));
}

util::result<std::optional<std::uint64_t>> parse_decoded_content_length(std::span<header_field const> headers)
{
    auto const value = find_header(headers, "x-amz-decoded-content-length");
    if (!value) {
        return std::optional<std::uint64_t>{};
    }
    std::string_view v = *value;
    if (v.empty() || v.size() > 19 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return failure(error::invalid_argument, "invalid x-amz-decoded-content-length");
    }
    std::uint64_t n = 0;
    for (char c : v) {
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return std::optional<std::uint64_t>{n};
}

util::result<void> check_decoded_length(std::uint64_t expected, std::uint64_t actual)
{
    if (expected != actual) {
        return failure(error::decoded_length_mismatch,
                       "x-amz-decoded-content-length is " + std::to_string(expected) +
                           " but the payload has " + std::to_string(actual) + " bytes");
    }
    return {};
}

util::result<std::optional<std::string>>
strip_aws_chunked_encoding(std::optional<std::string_view> content_encoding)
{
    if (!content_encoding) {
        return std::optional<std::string>{};
    }
    auto const trim = [](std::string_view t) {
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
            t.remove_prefix(1);
        }
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
            t.remove_suffix(1);
        }
        return t;
    };
    // Drop every `aws-chunked` of the list (first or not: "gzip, aws-chunked" is seen too).
    std::string rest;
    bool found = false;
    std::string_view v = *content_encoding;
    for (;;) {
        auto const comma = v.find(',');
        auto const token = trim(v.substr(0, comma));
        if (iequals(token, "aws-chunked")) {
            found = true;
        } else if (!token.empty()) {
            if (!rest.empty()) {
                rest += ", ";
            }
            rest += token;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        v.remove_prefix(comma + 1);
    }
    if (!found) {
        return failure(error::invalid_content_encoding,
                       "content-encoding does not contain aws-chunked for STREAMING-*-PAYLOAD");
    }
    if (rest.empty()) {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>{std::move(rest)};
}

} // namespace garage::api
