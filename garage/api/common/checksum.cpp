#include <garage/api/common/checksum.hpp>

#include <garage/api/common/detail/crc64nvme.hpp>
#include <garage/util/encoding.hpp>

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

namespace garage::api {
namespace {

using util::failure;

/** Leaves the AVX upper state clean after ISA-L's AVX-512 code: without `vzeroupper`, the
    SSE code that follows in the same thread (OpenSSL's SHA-256) runs ~25% slower on this CPU
    (PERFORMANCE.md). */
void clear_upper_simd() noexcept
{
#if defined(__x86_64__)
    static bool const has_avx = __builtin_cpu_supports("avx");
    if (has_avx) {
        __asm__ volatile("vzeroupper" ::: "memory");
    }
#endif
}

/// ISA-L takes `int` lengths for CRC32C: feed it at most 1 GiB at a time.
constexpr std::size_t isal_max_piece = std::size_t{1} << 30;

unsigned char* bytes_of(std::string_view data) noexcept
{
    return reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
}

util::result<std::optional<checksum_algorithm>> algorithm_header(std::span<header_field const> headers,
                                                                 std::string_view name)
{
    auto const value = find_header(headers, name);
    if (!value) {
        return std::optional<checksum_algorithm>{};
    }
    auto algo = parse_checksum_algorithm(*value);
    if (!algo) {
        return algo.error();
    }
    return std::optional<checksum_algorithm>{*algo};
}

} // namespace

std::string_view to_string(checksum_algorithm algo) noexcept
{
    switch (algo) {
    case checksum_algorithm::crc32:
        return "CRC32";
    case checksum_algorithm::crc32c:
        return "CRC32C";
    case checksum_algorithm::crc64nvme:
        return "CRC64NVME";
    case checksum_algorithm::sha1:
        return "SHA1";
    case checksum_algorithm::sha256:
        return "SHA256";
    }
    return "CRC32";
}

std::string_view checksum_header_name(checksum_algorithm algo) noexcept
{
    switch (algo) {
    case checksum_algorithm::crc32:
        return "x-amz-checksum-crc32";
    case checksum_algorithm::crc32c:
        return "x-amz-checksum-crc32c";
    case checksum_algorithm::crc64nvme:
        return "x-amz-checksum-crc64nvme";
    case checksum_algorithm::sha1:
        return "x-amz-checksum-sha1";
    case checksum_algorithm::sha256:
        return "x-amz-checksum-sha256";
    }
    return "x-amz-checksum-crc32";
}

std::size_t checksum_size(checksum_algorithm algo) noexcept
{
    switch (algo) {
    case checksum_algorithm::crc32:
    case checksum_algorithm::crc32c:
        return 4;
    case checksum_algorithm::crc64nvme:
        return 8;
    case checksum_algorithm::sha1:
        return 20;
    case checksum_algorithm::sha256:
        return 32;
    }
    return 4;
}

util::result<checksum_algorithm> parse_checksum_algorithm(std::string_view name)
{
    for (auto algo : all_checksum_algorithms) {
        if (iequals(name, to_string(algo))) {
            return algo;
        }
    }
    return failure(error::invalid_checksum_algorithm,
                   "invalid checksum algorithm `" + std::string(name) + "`");
}

util::result<checksum_value> checksum_value::from_bytes(checksum_algorithm algo, std::string_view raw)
{
    if (raw.size() != checksum_size(algo)) {
        return failure(error::invalid_checksum_value, "a " + std::string(to_string(algo)) + " checksum has " +
                                                          std::to_string(checksum_size(algo)) +
                                                          " bytes, not " + std::to_string(raw.size()));
    }
    checksum_value out;
    out.algorithm_ = algo;
    std::memcpy(out.bytes_.data(), raw.data(), raw.size());
    return out;
}

util::result<checksum_value> checksum_value::from_base64(checksum_algorithm algo, std::string_view text)
{
    auto raw = util::from_base64(text);
    if (!raw) {
        return failure(error::invalid_checksum_value,
                       "invalid " + std::string(checksum_header_name(algo)) + " value: not base64");
    }
    auto out = from_bytes(algo, *raw);
    if (!out) {
        return failure(error::invalid_checksum_value, "invalid " + std::string(checksum_header_name(algo)) +
                                                          " value: " + out.error().message);
    }
    return out;
}

checksum_value checksum_value::from_crc(checksum_algorithm algo, std::uint64_t crc) noexcept
{
    checksum_value out;
    out.algorithm_ = algo;
    std::size_t const n = algo == checksum_algorithm::crc64nvme ? 8 : 4;
    for (std::size_t i = 0; i < n; ++i) {
        out.bytes_[i] = static_cast<std::uint8_t>(crc >> (8 * (n - 1 - i)));
    }
    return out;
}

std::string checksum_value::to_base64() const
{
    return util::to_base64(bytes());
}

void crc32_hasher::update(std::string_view data) noexcept
{
    if (data.empty()) {
        return;
    }
    crc_ = crc32_gzip_refl(crc_, bytes_of(data), data.size());
    clear_upper_simd();
}

void crc32c_hasher::update(std::string_view data) noexcept
{
    while (!data.empty()) {
        std::size_t const n = std::min(data.size(), isal_max_piece);
        state_ = crc32_iscsi(bytes_of(data), static_cast<int>(n), state_);
        data.remove_prefix(n);
    }
    clear_upper_simd();
}

void crc64nvme_hasher::update(std::string_view data) noexcept
{
    state_ =
        detail::crc64nvme_update(state_, reinterpret_cast<unsigned char const*>(data.data()), data.size());
}

std::uint32_t crc32(std::string_view data) noexcept
{
    crc32_hasher h;
    h.update(data);
    return h.value();
}

std::uint32_t crc32c(std::string_view data) noexcept
{
    crc32c_hasher h;
    h.update(data);
    return h.value();
}

std::uint64_t crc64nvme(std::string_view data) noexcept
{
    crc64nvme_hasher h;
    h.update(data);
    return h.value();
}

std::optional<checksum_value> checksums::get(checksum_algorithm algo) const
{
    switch (algo) {
    case checksum_algorithm::crc32:
        return crc32;
    case checksum_algorithm::crc32c:
        return crc32c;
    case checksum_algorithm::crc64nvme:
        return crc64nvme;
    case checksum_algorithm::sha1:
        return sha1;
    case checksum_algorithm::sha256:
        return sha256;
    }
    return std::nullopt;
}

checksummer& checksummer::add(checksum_algorithm algo)
{
    switch (algo) {
    case checksum_algorithm::crc32:
        if (!crc32_) {
            crc32_.emplace();
        }
        break;
    case checksum_algorithm::crc32c:
        if (!crc32c_) {
            crc32c_.emplace();
        }
        break;
    case checksum_algorithm::crc64nvme:
        if (!crc64nvme_) {
            crc64nvme_.emplace();
        }
        break;
    case checksum_algorithm::sha1:
        if (!sha1_) {
            sha1_.emplace();
        }
        break;
    case checksum_algorithm::sha256:
        if (!sha256_) {
            sha256_.emplace();
        }
        break;
    }
    return *this;
}

checksummer& checksummer::add_md5()
{
    if (!md5_) {
        md5_.emplace();
    }
    return *this;
}

bool checksummer::has(checksum_algorithm algo) const noexcept
{
    switch (algo) {
    case checksum_algorithm::crc32:
        return crc32_.has_value();
    case checksum_algorithm::crc32c:
        return crc32c_.has_value();
    case checksum_algorithm::crc64nvme:
        return crc64nvme_.has_value();
    case checksum_algorithm::sha1:
        return sha1_.has_value();
    case checksum_algorithm::sha256:
        return sha256_.has_value();
    }
    return false;
}

void checksummer::update(std::string_view data)
{
    // The CRCs first: each clears the AVX upper state before the digests run.
    if (crc32_) {
        crc32_->update(data);
    }
    if (crc32c_) {
        crc32c_->update(data);
    }
    if (crc64nvme_) {
        crc64nvme_->update(data);
    }
    if (md5_) {
        md5_->update(data);
    }
    if (sha1_) {
        sha1_->update(data);
    }
    if (sha256_) {
        sha256_->update(data);
    }
}

checksums checksummer::finalize()
{
    checksums out;
    if (md5_) {
        out.md5 = md5_->finalize();
    }
    if (crc32_) {
        out.crc32 = checksum_value::from_crc(checksum_algorithm::crc32, crc32_->value());
        crc32_->reset();
    }
    if (crc32c_) {
        out.crc32c = checksum_value::from_crc(checksum_algorithm::crc32c, crc32c_->value());
        crc32c_->reset();
    }
    if (crc64nvme_) {
        out.crc64nvme = checksum_value::from_crc(checksum_algorithm::crc64nvme, crc64nvme_->value());
        crc64nvme_->reset();
    }
    if (sha1_) {
        auto const d = sha1_->finalize();
        out.sha1 = *checksum_value::from_bytes(checksum_algorithm::sha1, util::digest_view(d));
    }
    if (sha256_) {
        auto const d = sha256_->finalize();
        out.sha256 = *checksum_value::from_bytes(checksum_algorithm::sha256, d.view());
    }
    return out;
}

checksummer make_checksummer(expected_checksums const& expected, bool with_md5)
{
    checksummer c;
    if (with_md5 || expected.md5) {
        c.add_md5();
    }
    if (expected.sha256) {
        c.add(checksum_algorithm::sha256);
    }
    if (expected.extra) {
        c.add(expected.extra->algorithm());
    }
    return c;
}

util::result<void> verify_checksums(checksums const& computed, expected_checksums const& expected)
{
    if (expected.md5 && computed.md5 != expected.md5) {
        return failure(error::invalid_digest, "MD5 checksum verification failed (from content-md5)");
    }
    if (expected.sha256) {
        if (!computed.sha256 || computed.sha256->bytes() != expected.sha256->view()) {
            return failure(error::invalid_digest,
                           "SHA256 checksum verification failed (from x-amz-content-sha256)");
        }
    }
    if (expected.extra) {
        auto const algo = expected.extra->algorithm();
        if (computed.get(algo) != expected.extra) {
            return failure(error::invalid_digest,
                           "Failed to validate checksum for algorithm " + std::string(to_string(algo)));
        }
    }
    return {};
}

util::result<util::md5_digest> parse_content_md5(std::string_view value)
{
    while (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
    }
    auto raw = util::from_base64(value);
    util::md5_digest out{};
    if (!raw || raw->size() != out.size()) {
        return failure(error::invalid_digest, "The Content-MD5 you specified was invalid");
    }
    std::memcpy(out.data(), raw->data(), out.size());
    return out;
}

util::result<std::optional<checksum_algorithm>>
request_checksum_algorithm(std::span<header_field const> headers)
{
    return algorithm_header(headers, "x-amz-checksum-algorithm");
}

util::result<std::optional<checksum_algorithm>>
request_sdk_checksum_algorithm(std::span<header_field const> headers)
{
    return algorithm_header(headers, "x-amz-sdk-checksum-algorithm");
}

util::result<std::optional<checksum_algorithm>>
request_trailer_checksum_algorithm(std::span<header_field const> headers)
{
    auto const value = find_header(headers, "x-amz-trailer");
    if (!value) {
        return std::optional<checksum_algorithm>{};
    }
    std::string_view v = *value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    for (auto algo : all_checksum_algorithms) {
        if (iequals(v, checksum_header_name(algo))) {
            return std::optional<checksum_algorithm>{algo};
        }
    }
    return failure(error::invalid_checksum_algorithm,
                   "invalid checksum algorithm in x-amz-trailer: `" + std::string(*value) + "`");
}

util::result<std::optional<checksum_value>> request_checksum_value(std::span<header_field const> headers)
{
    std::optional<checksum_value> found;
    for (auto algo : all_checksum_algorithms) {
        std::size_t const n = count_header(headers, checksum_header_name(algo));
        if (n == 0) {
            continue;
        }
        if (found || n > 1) {
            return failure(error::multiple_checksums, "multiple x-amz-checksum-* headers given");
        }
        auto v = checksum_value::from_base64(algo, *find_header(headers, checksum_header_name(algo)));
        if (!v) {
            return v.error();
        }
        found = *v;
    }
    return found;
}

util::result<checksum_value> checksum_from_field(std::string_view name, std::string_view value)
{
    for (auto algo : all_checksum_algorithms) {
        if (iequals(name, checksum_header_name(algo))) {
            return checksum_value::from_base64(algo, value);
        }
    }
    return failure(error::invalid_checksum_algorithm, "`" + std::string(name) + "` is not a checksum field");
}

} // namespace garage::api
