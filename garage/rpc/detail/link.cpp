#include <garage/rpc/detail/link.hpp>

#include <garage/rpc/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace garage::rpc::detail {
namespace net = boost::asio;

namespace {

int accept_any_certificate(int, X509_STORE_CTX*)
{
    return 1; // self-signed by design; authenticate() checks the key against the node id
}

util::result<std::shared_ptr<X509>> self_signed_certificate(node_key const& key)
{
    std::shared_ptr<X509> cert(X509_new(), X509_free);
    if (!cert) {
        return util::failure(util::error::crypto_error, "X509_new failed");
    }
    X509* x = cert.get();
    unsigned char serial[16];
    util::random_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    bool ok = bn != nullptr && X509_set_version(x, 2) == 1 &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
    BN_free(bn);
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(x), 100L * 365 * 24 * 3600) != nullptr;
    auto const cn = key.id().to_hex();
    X509_NAME* name = X509_get_subject_name(x);
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1, 0) == 1 &&
         X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key.native_handle()) == 1 &&
         X509_sign(x, key.native_handle(), nullptr) > 0;
    if (!ok) {
        return util::failure(util::error::crypto_error, "cannot make the node's self-signed certificate");
    }
    return cert;
}

util::failure failed(error e, std::string msg)
{
    return util::failure(e, std::move(msg));
}

} // namespace

util::result<std::shared_ptr<net::ssl::context>> make_tls_context(node_key const& key)
{
    auto cert = self_signed_certificate(key);
    if (!cert) {
        return cert.error();
    }
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls);
    SSL_CTX* c = ctx->native_handle();
    bool ok = SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) == 1 &&
              SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1 &&
              SSL_CTX_use_certificate(c, cert->get()) == 1 &&
              SSL_CTX_use_PrivateKey(c, key.native_handle()) == 1 && SSL_CTX_check_private_key(c) == 1;
    if (!ok) {
        return util::failure(util::error::crypto_error, "cannot set up the RPC TLS context");
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_certificate);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF); // every link proves its certificates
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    return ctx;
}

util::result<util::node_id> peer_node_id(tls_stream& stream)
{
    X509* cert = SSL_get0_peer_certificate(stream.native_handle());
    if (cert == nullptr) {
        return failed(error::handshake_failed, "the peer presented no certificate");
    }
    EVP_PKEY* pkey = X509_get0_pubkey(cert);
    if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        return failed(error::handshake_failed, "the peer's certificate does not hold an Ed25519 key");
    }
    util::node_id id;
    std::size_t len = id.size();
    if (EVP_PKEY_get_raw_public_key(pkey, id.data(), &len) != 1 || len != id.size()) {
        return failed(error::handshake_failed, "cannot read the peer's Ed25519 key");
    }
    return id;
}

util::result<std::string> link_proof(tls_stream& stream, link_role role, std::string_view secret,
                                     util::node_id const& client, util::node_id const& server)
{
    static constexpr char label[] = "EXPORTER-garage-rpc-secret-proof";
    std::array<unsigned char, 32> keying{};
    if (SSL_export_keying_material(stream.native_handle(), keying.data(), keying.size(), label,
                                   sizeof label - 1, nullptr, 0, 0) != 1) {
        return failed(error::handshake_failed, "cannot export TLS keying material");
    }
    std::string input(link_magic);
    input.push_back(static_cast<char>(role));
    input.append(reinterpret_cast<char const*>(keying.data()), keying.size());
    input.append(client.view());
    input.append(server.view());
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<unsigned char const*>(input.data()), input.size(), mac, &mac_len) == nullptr ||
        mac_len != 32) {
        return util::failure(util::error::crypto_error, "HMAC-SHA256 failed");
    }
    std::string out(link_magic);
    out.append(reinterpret_cast<char const*>(mac), mac_len);
    return out;
}

net::awaitable<util::result<util::node_id>> authenticate(tls_stream& stream, link_role role,
                                                         util::node_id self, std::string_view secret,
                                                         std::optional<util::node_id> expected)
{
    auto const tls_role =
        role == link_role::client ? net::ssl::stream_base::client : net::ssl::stream_base::server;
    auto [hs_ec] = co_await stream.async_handshake(tls_role, net::as_tuple(net::use_awaitable));
    if (hs_ec) {
        co_return failed(error::handshake_failed, "TLS handshake failed: " + hs_ec.message());
    }
    auto peer = peer_node_id(stream);
    if (!peer) {
        co_return peer.error();
    }
    if (expected && *expected != *peer) {
        co_return failed(error::wrong_peer,
                         "expected node " + expected->to_hex() + ", the peer is " + peer->to_hex());
    }
    auto const& client = role == link_role::client ? self : *peer;
    auto const& server = role == link_role::client ? *peer : self;
    auto mine = link_proof(stream, role, secret, client, server);
    if (!mine) {
        co_return mine.error();
    }
    auto const peer_role = role == link_role::client ? link_role::server : link_role::client;
    auto theirs_expected = link_proof(stream, peer_role, secret, client, server);
    if (!theirs_expected) {
        co_return theirs_expected.error();
    }
    auto [w_ec, w_n] =
        co_await net::async_write(stream, net::buffer(*mine), net::as_tuple(net::use_awaitable));
    if (w_ec) {
        co_return failed(error::handshake_failed, "cannot send the secret proof: " + w_ec.message());
    }
    std::string theirs(link_proof_size, '\0');
    auto [r_ec, r_n] =
        co_await net::async_read(stream, net::buffer(theirs), net::as_tuple(net::use_awaitable));
    if (r_ec) {
        co_return failed(error::auth_failed,
                         "the peer closed the link instead of proving it knows rpc_secret: " +
                             r_ec.message());
    }
    if (std::string_view(theirs).substr(0, link_magic.size()) != link_magic) {
        co_return failed(error::version_mismatch, "the peer speaks another RPC protocol version");
    }
    if (CRYPTO_memcmp(theirs.data(), theirs_expected->data(), link_proof_size) != 0) {
        co_return failed(error::auth_failed,
                         "node " + peer->to_hex().substr(0, 16) + " does not know our rpc_secret");
    }
    co_return *peer;
}

} // namespace garage::rpc::detail
