#include <garage/api/s3/sse_c.hpp>

#include <garage/util/bytes32.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <memory>

namespace garage::api::s3 {

namespace {

struct cipher_ctx_deleter {
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

cipher_ctx new_ctx()
{
    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) {
        throw std::bad_alloc();
    }
    return ctx;
}

/// Feeds `in` to an EVP update in pieces an `int` can count.
template <class Update>
bool update_all(EVP_CIPHER_CTX* ctx, Update update, unsigned char* out, std::string_view in,
                std::size_t& written)
{
    constexpr std::size_t step = std::size_t(1) << 30;
    for (std::size_t off = 0; off < in.size(); off += step) {
        auto const len = std::min(step, in.size() - off);
        int outl = 0;
        if (update(ctx, out + written, &outl, reinterpret_cast<unsigned char const*>(in.data() + off),
                   static_cast<int>(len)) != 1) {
            return false;
        }
        written += static_cast<std::size_t>(outl);
    }
    return true;
}

struct header_names {
    std::string_view algorithm;
    std::string_view key;
    std::string_view key_md5;
};

constexpr header_names object_names{"x-amz-server-side-encryption-customer-algorithm",
                                    "x-amz-server-side-encryption-customer-key",
                                    "x-amz-server-side-encryption-customer-key-MD5"};
constexpr header_names copy_source_names{"x-amz-copy-source-server-side-encryption-customer-algorithm",
                                         "x-amz-copy-source-server-side-encryption-customer-key",
                                         "x-amz-copy-source-server-side-encryption-customer-key-MD5"};

} // namespace

std::optional<sse_c_key> sse_c_key::from_bytes(std::string_view key)
{
    if (key.size() != key_size) {
        return std::nullopt;
    }
    sse_c_key k;
    std::memcpy(k.key_.data(), key.data(), key_size);
    auto const md5 = util::md5sum(key);
    std::memcpy(k.md5_.data(), md5.data(), md5.size());
    return k;
}

sse_c_key::~sse_c_key()
{
    OPENSSL_cleanse(key_.data(), key_.size());
}

std::string sse_c_key::key_md5_base64() const
{
    return util::to_base64(key_md5());
}

bool operator==(sse_c_key const& a, sse_c_key const& b) noexcept
{
    return CRYPTO_memcmp(a.key_.data(), b.key_.data(), sse_c_key::key_size) == 0;
}

std::string sse_c_key::encrypt(std::string_view plain) const
{
    std::string out(plain.size() + overhead, '\0');
    auto* const o = reinterpret_cast<unsigned char*>(out.data());
    util::random_bytes(o, nonce_size);
    auto ctx = new_ctx();
    bool ok =
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) == 1 &&
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), o) == 1;
    std::size_t written = nonce_size;
    ok = ok && update_all(ctx.get(), EVP_EncryptUpdate, o, plain, written);
    int fin = 0;
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), o + written, &fin) == 1;
    written += static_cast<std::size_t>(fin);
    ok = ok && written == nonce_size + plain.size() &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size), o + written) == 1;
    if (!ok) {
        // AES-GCM with valid parameters cannot fail short of memory exhaustion.
        throw std::bad_alloc();
    }
    return out;
}

std::optional<std::string> sse_c_key::decrypt(std::string_view sealed) const
{
    if (sealed.size() < overhead) {
        return std::nullopt;
    }
    auto const* const in = reinterpret_cast<unsigned char const*>(sealed.data());
    auto const body = sealed.substr(nonce_size, sealed.size() - overhead);
    std::string out(body.size(), '\0');
    auto* const o = reinterpret_cast<unsigned char*>(out.data());
    // The tag is passed through a copy: the ctrl takes a non-const pointer.
    std::array<unsigned char, tag_size> tag{};
    std::memcpy(tag.data(), in + sealed.size() - tag_size, tag_size);
    auto ctx = new_ctx();
    bool ok =
        EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) == 1 &&
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), in) == 1;
    std::size_t written = 0;
    ok = ok && update_all(ctx.get(), EVP_DecryptUpdate, o, body, written);
    ok = ok &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag.data()) == 1;
    int fin = 0;
    ok = ok && EVP_DecryptFinal_ex(ctx.get(), o + written, &fin) == 1;
    if (!ok) {
        OPENSSL_cleanse(out.data(), out.size());
        return std::nullopt;
    }
    return out;
}

sse_c_result<std::optional<sse_c_key>> parse_sse_c_headers(std::span<header_field const> headers,
                                                           sse_c_headers which)
{
    auto const& names = which == sse_c_headers::object ? object_names : copy_source_names;
    auto const algorithm = find_header(headers, names.algorithm);
    auto const key = find_header(headers, names.key);
    auto const key_md5 = find_header(headers, names.key_md5);
    if (!algorithm && !key && !key_md5) {
        return std::optional<sse_c_key>{};
    }
    if (!algorithm || !key || !key_md5) {
        return s3_error::invalid_request("Missing some headers for server-side encryption");
    }
    if (*algorithm != sse_c_algorithm) {
        return s3_error{"InvalidEncryptionAlgorithmError", 400,
                        "Unsupported encryption algorithm: " + std::string(*algorithm)};
    }
    auto const raw = util::from_base64(*key);
    if (!raw) {
        return s3_error::invalid_request("Invalid encryption key: bad base64");
    }
    auto parsed = sse_c_key::from_bytes(*raw);
    if (!parsed) {
        return s3_error::invalid_request("Invalid encryption key: must be 32 bytes");
    }
    auto const md5 = util::from_base64(*key_md5);
    if (!md5) {
        return s3_error::invalid_request("Invalid encryption key MD5: bad base64");
    }
    if (*md5 != parsed->key_md5()) {
        return s3_error::invalid_request("Encryption key MD5 mismatch");
    }
    return std::optional<sse_c_key>(std::move(*parsed));
}

std::vector<std::pair<std::string, std::string>> sse_c_response_headers(sse_c_key const& key)
{
    return {{std::string(object_names.algorithm), std::string(sse_c_algorithm)},
            {std::string(object_names.key_md5), key.key_md5_base64()}};
}

std::string sse_c_random_etag()
{
    std::array<unsigned char, 16> b{};
    util::random_bytes(b.data(), b.size());
    return util::to_hex({reinterpret_cast<char const*>(b.data()), b.size()});
}

} // namespace garage::api::s3
