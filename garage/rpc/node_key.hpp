#pragma once
/** @file
    A node's identity: its Ed25519 key pair, persisted in `metadata_dir`, and the
    `<hex node id>@<host>:<port>` form by which operators name nodes.
*/

#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st; // OpenSSL's EVP_PKEY, kept out of this header

namespace garage::rpc {

/** The Ed25519 key pair that identifies a node; its node id is the 32-byte public key.

    Persisted as Garage does: `node_key` holds the 64-byte secret key (32-byte seed followed by
    the public key, mode 0600) and `node_key.pub` the 32-byte public key.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (immutable; copies share the OpenSSL key).
*/
class node_key {
public:
    /// The name of the secret key file in `metadata_dir`.
    static constexpr std::string_view secret_file_name = "node_key";
    /// The name of the public key file in `metadata_dir`.
    static constexpr std::string_view public_file_name = "node_key.pub";

    /** A fresh random key pair.
        @return The key; `util::error::crypto_error` if OpenSSL fails. */
    static util::result<node_key> generate();

    /** The key pair of a 32-byte Ed25519 seed (deterministic; for tests and imports).
        @param seed 32 bytes.
        @return The key; `util::error::decode_error` on a wrong length. */
    static util::result<node_key> from_seed(std::string_view seed);

    /** Loads the key pair from `metadata_dir`, creating it (and the directory) on first start.

        @param metadata_dir The node's metadata directory.
        @return The key; `util::error::io_error` if the files cannot be read or written,
                `util::error::decode_error` if `node_key` is malformed or disagrees with
                `node_key.pub`, `util::error::insecure_secret_file` if `node_key` is readable
                by group or others.
    */
    static util::result<node_key> load_or_create(std::filesystem::path const& metadata_dir);

    /// @return The node id: the raw 32-byte public key.
    util::node_id const& id() const noexcept { return id_; }

    /// @return The 64-byte secret key as stored in `node_key` (seed, then public key). Secret.
    std::string secret_bytes() const;

    /// @return The OpenSSL key (`EVP_PKEY*`), owned by this object and its copies.
    evp_pkey_st* native_handle() const noexcept { return pkey_.get(); }

private:
    node_key(std::shared_ptr<evp_pkey_st> pkey, util::node_id id) : pkey_(std::move(pkey)), id_(id) {}

    std::shared_ptr<evp_pkey_st> pkey_;
    util::node_id id_;
};

/** A node's id and the address where it listens for RPC: `<64 hex digits>@<host>:<port>`.

    The host is a DNS name, an IPv4 literal or a bracketed IPv6 literal (`[::1]:3901`), as in
    Garage's `bootstrap_peers` and the output of `garage node id`.
*/
struct node_address {
    util::node_id id;       ///< the node's public key
    std::string host;       ///< name or IP literal, without brackets
    std::uint16_t port = 0; ///< the RPC port

    /// @return `<hex id>@<host>:<port>`, IPv6 literals in brackets.
    std::string to_string() const;

    /** Parses `<hex id>@<host>:<port>`.
        @param text The text.
        @return The address; `util::error::invalid_hex` for a bad id,
                `util::error::config_invalid_value` for a missing `@`, host or port. */
    static util::result<node_address> parse(std::string_view text);

    /// Equal when id, host and port are equal.
    friend bool operator==(node_address const&, node_address const&) = default;
};

/** Formats what `garage node id` prints: `<hex id>@<address>`.
    @param id      The node id.
    @param address `host:port` (the `rpc_public_addr`).
    @return The text. */
std::string format_node_id(util::node_id const& id, std::string_view address);

/** Parses the `rpc_secret` of the configuration: 64 hexadecimal digits.
    @param hex The digits.
    @return The 32 secret bytes; `util::error::config_invalid_value` otherwise (the message
            never contains the secret). */
util::result<std::string> parse_rpc_secret(std::string_view hex);

} // namespace garage::rpc
