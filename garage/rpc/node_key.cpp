#include <garage/rpc/node_key.hpp>

#include <garage/util/encoding.hpp>
#include <garage/util/file.hpp>

#include <openssl/evp.h>

#include <charconv>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace garage::rpc {
namespace {

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p)
{
    return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

util::result<util::node_id> public_id(EVP_PKEY* p)
{
    util::node_id id;
    std::size_t len = id.size();
    if (EVP_PKEY_get_raw_public_key(p, id.data(), &len) != 1 || len != id.size()) {
        return util::failure(util::error::crypto_error, "cannot read the Ed25519 public key");
    }
    return id;
}

util::result<std::string> read_exact_file(std::filesystem::path const& path)
{
    auto fd = util::open_file(path, O_RDONLY | O_CLOEXEC);
    if (!fd) {
        return util::failure(util::error::io_error,
                             "cannot open " + path.string() + ": " + util::last_error().message());
    }
    std::string out;
    char buf[256];
    for (;;) {
        auto n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return util::failure(util::error::io_error,
                                 "cannot read " + path.string() + ": " + util::last_error().message());
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > 4096) {
            return util::failure(util::error::decode_error, path.string() + " is too large for a key file");
        }
    }
    return out;
}

util::result<void> write_new_file(std::filesystem::path const& path, std::string_view bytes, mode_t mode)
{
    auto fd = util::open_file(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (!fd) {
        return util::failure(util::error::io_error,
                             "cannot create " + path.string() + ": " + util::last_error().message());
    }
    if (::fchmod(fd.get(), mode) != 0) {
        return util::failure(util::error::io_error,
                             "cannot chmod " + path.string() + ": " + util::last_error().message());
    }
    if (auto ec = util::write_all(fd.get(), bytes)) {
        return util::failure(util::error::io_error, "cannot write " + path.string() + ": " + ec.message());
    }
    if (::fsync(fd.get()) != 0 || fd.close() != 0) {
        return util::failure(util::error::io_error,
                             "cannot sync " + path.string() + ": " + util::last_error().message());
    }
    return {};
}

} // namespace

util::result<node_key> node_key::generate()
{
    std::string seed(32, '\0');
    util::random_bytes(seed.data(), seed.size());
    return from_seed(seed);
}

util::result<node_key> node_key::from_seed(std::string_view seed)
{
    if (seed.size() != 32) {
        return util::failure(util::error::decode_error,
                             "an Ed25519 seed has 32 bytes, got " + std::to_string(seed.size()));
    }
    auto* raw = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<unsigned char const*>(seed.data()), seed.size());
    if (raw == nullptr) {
        return util::failure(util::error::crypto_error, "cannot make an Ed25519 key");
    }
    auto pkey = own(raw);
    auto id = public_id(raw);
    if (!id) {
        return id.error();
    }
    return node_key(std::move(pkey), *id);
}

std::string node_key::secret_bytes() const
{
    std::string out(32, '\0');
    std::size_t len = out.size();
    EVP_PKEY_get_raw_private_key(pkey_.get(), reinterpret_cast<unsigned char*>(out.data()), &len);
    out.append(id_.view());
    return out;
}

util::result<node_key> node_key::load_or_create(std::filesystem::path const& metadata_dir)
{
    std::error_code ec;
    std::filesystem::create_directories(metadata_dir, ec);
    if (ec) {
        return util::failure(util::error::io_error,
                             "cannot create " + metadata_dir.string() + ": " + ec.message());
    }
    auto const secret_path = metadata_dir / secret_file_name;
    auto const public_path = metadata_dir / public_file_name;

    struct stat st {};
    if (::stat(secret_path.c_str(), &st) != 0) {
        if (errno != ENOENT) {
            return util::failure(util::error::io_error,
                                 "cannot stat " + secret_path.string() + ": " + util::last_error().message());
        }
        auto key = generate();
        if (!key) {
            return key;
        }
        // The public key first: a crash in between leaves no secret key, so the next start
        // generates a fresh pair and rewrites both.
        if (auto r = write_new_file(public_path, key->id().view(), 0644); !r) {
            return r.error();
        }
        if (auto r = write_new_file(secret_path, key->secret_bytes(), 0600); !r) {
            return r.error();
        }
        if (auto e = util::fsync_dir(metadata_dir)) {
            return util::failure(util::error::io_error,
                                 "cannot sync " + metadata_dir.string() + ": " + e.message());
        }
        return key;
    }
    if ((st.st_mode & 077) != 0) {
        return util::failure(util::error::insecure_secret_file,
                             secret_path.string() + " is readable by group or others (expected mode 0600)");
    }
    auto secret = read_exact_file(secret_path);
    if (!secret) {
        return secret.error();
    }
    if (secret->size() != 64) {
        return util::failure(util::error::decode_error,
                             secret_path.string() + " does not hold a 64-byte Ed25519 key");
    }
    auto key = from_seed(std::string_view(*secret).substr(0, 32));
    if (!key) {
        return key;
    }
    if (std::string_view(*secret).substr(32) != key->id().view()) {
        return util::failure(util::error::decode_error,
                             secret_path.string() + ": the public half does not match the seed");
    }
    if (auto pub = read_exact_file(public_path); pub) {
        if (*pub != key->id().view()) {
            return util::failure(util::error::decode_error,
                                 public_path.string() + " does not match " + secret_path.string());
        }
    } else if (auto r = write_new_file(public_path, key->id().view(), 0644); !r) {
        return r.error(); // node_key.pub missing: recreated from the secret key
    }
    return key;
}

std::string node_address::to_string() const
{
    bool const v6 = host.find(':') != std::string::npos;
    std::string out = id.to_hex();
    out += '@';
    if (v6) {
        out += '[';
    }
    out += host;
    if (v6) {
        out += ']';
    }
    out += ':';
    out += std::to_string(port);
    return out;
}

util::result<node_address> node_address::parse(std::string_view text)
{
    auto const at = text.find('@');
    if (at == std::string_view::npos) {
        return util::failure(util::error::config_invalid_value,
                             "expected <node id>@<host>:<port>, got \"" + std::string(text) + "\"");
    }
    auto id = util::node_id::from_hex(text.substr(0, at));
    if (!id) {
        return util::failure(id.error().code,
                             "bad node id in \"" + std::string(text) + "\": " + id.error().message);
    }
    auto rest = text.substr(at + 1);
    auto const colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
        return util::failure(util::error::config_invalid_value,
                             "expected <host>:<port> after '@' in \"" + std::string(text) + "\"");
    }
    auto host = rest.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') {
            return util::failure(util::error::config_invalid_value,
                                 "bad IPv6 literal in \"" + std::string(text) + "\"");
        }
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return util::failure(util::error::config_invalid_value,
                             "IPv6 addresses must be in brackets in \"" + std::string(text) + "\"");
    }
    auto const port_text = rest.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
        return util::failure(util::error::config_invalid_value, "bad port in \"" + std::string(text) + "\"");
    }
    return node_address{*id, std::string(host), static_cast<std::uint16_t>(port)};
}

std::string format_node_id(util::node_id const& id, std::string_view address)
{
    return id.to_hex() + "@" + std::string(address);
}

util::result<std::string> parse_rpc_secret(std::string_view hex)
{
    if (hex.size() != 64) {
        return util::failure(util::error::config_invalid_value,
                             "rpc_secret must be 64 hexadecimal digits, got " + std::to_string(hex.size()) +
                                 " characters");
    }
    auto raw = util::from_hex(hex);
    if (!raw) {
        return util::failure(util::error::config_invalid_value, "rpc_secret is not hexadecimal");
    }
    return std::move(*raw);
}

} // namespace garage::rpc
