#pragma once
// The authenticated TLS link (private): the TLS context made from a node key, and the
// handshake that proves both node ids and the knowledge of rpc_secret. Used by network.cpp,
// and by the tests that play a misbehaving peer.

#include <garage/rpc/node_key.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace garage::rpc::detail {

using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

enum class link_role : unsigned char { client = 'C', server = 'S' };

/// The 8 bytes that open each side's proof: protocol name and version.
inline constexpr std::string_view link_magic{"GRPCv1\0\0", 8};
/// The size of each side's proof: magic then HMAC-SHA256.
inline constexpr std::size_t link_proof_size = 8 + 32;

/** A TLS 1.3-only context presenting a self-signed certificate of `key` and requiring one from
    the peer (any self-signed Ed25519 certificate: the node id check is `authenticate`'s). */
util::result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(node_key const& key);

/** The node id in the peer certificate of a completed TLS session. */
util::result<util::node_id> peer_node_id(tls_stream& stream);

/** This side's proof, for the session of `stream` (its handshake done). */
util::result<std::string> link_proof(tls_stream& stream, link_role role, std::string_view secret,
                                     util::node_id const& client, util::node_id const& server);

/** TLS handshake, then the exchange of proofs. The caller bounds it in time (closing the socket).
    @return The peer's node id; `error::handshake_failed`, `error::wrong_peer`,
            `error::version_mismatch` or `error::auth_failed`. */
boost::asio::awaitable<util::result<util::node_id>> authenticate(tls_stream& stream, link_role role,
                                                                 util::node_id self, std::string_view secret,
                                                                 std::optional<util::node_id> expected);

} // namespace garage::rpc::detail
