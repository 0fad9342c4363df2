#pragma once
/** @file
    The cluster-layer RPC messages and endpoints (Garage's `SystemRpc`, one typed endpoint per
    variant): layout gossip (@ref garage::layout::layout_manager) and node status exchange,
    known nodes and connection requests (@ref garage::layout::system).

    Every endpoint is served at priority `high` by every node; the paths are stable names on
    the wire, as in Garage (`garage_rpc/system.rs/...`).
*/

#include <garage/layout/helper.hpp>
#include <garage/layout/history.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cereal/cereal.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::layout {

/// A message without content (a request that needs no argument, or a plain acknowledgement).
struct empty_message {
    /** cereal: nothing.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        (void)ar;
    }
};

/// Free and total bytes of one file system (or the sum over several).
struct disk_space {
    std::uint64_t available = 0; ///< bytes available to this process
    std::uint64_t total = 0;     ///< bytes in total

    /// Equal when both numbers are equal.
    friend bool operator==(disk_space const&, disk_space const&) = default;

    /** cereal: available, total.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("available", available), cereal::make_nvp("total", total));
    }
};

/** What a node tells its peers about itself every 10 s (Garage `NodeStatus`). */
struct node_status {
    std::string hostname;                    ///< the node's host name
    std::uint64_t replication_factor = 0;    ///< its configured replication factor
    layout_digest digest;                    ///< the digest of its layout history
    std::optional<disk_space> metadata_disk; ///< space on the file system of `metadata_dir`
    std::optional<disk_space> data_disk;     ///< space on the file systems of `data_dir` (summed)

    /// Equal when all fields are equal.
    friend bool operator==(node_status const&, node_status const&) = default;

    /** cereal: the fields.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("hostname", hostname), cereal::make_nvp("replication_factor", replication_factor),
           cereal::make_nvp("digest", digest), cereal::make_nvp("metadata_disk", metadata_disk),
           cereal::make_nvp("data_disk", data_disk));
    }
};

/// What this node knows of one node of the cluster (`garage status`).
struct known_node {
    util::node_id id;                                      ///< the node
    std::optional<boost::asio::ip::tcp::endpoint> address; ///< where it listens, if known
    bool is_self = false;                                  ///< this node
    bool up = false;                                       ///< connected and answering pings (self: always)
    std::optional<std::uint64_t> last_seen_secs_ago;       ///< since its last answer; absent: never
    std::optional<node_status> status;                     ///< the last status it advertised

    /** cereal: the fields; the address as an IP literal and a port.
        @param ar A cereal archive.
        @throws cereal::Exception when loading an address that is not an IP literal. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::optional<std::string> ip;
        std::uint16_t port = 0;
        if (!Archive::is_loading::value && address) {
            ip = address->address().to_string();
            port = address->port();
        }
        ar(cereal::make_nvp("id", id), cereal::make_nvp("ip", ip), cereal::make_nvp("port", port),
           cereal::make_nvp("is_self", is_self), cereal::make_nvp("up", up),
           cereal::make_nvp("last_seen_secs_ago", last_seen_secs_ago), cereal::make_nvp("status", status));
        if (Archive::is_loading::value) {
            address.reset();
            if (ip) {
                boost::system::error_code ec;
                auto const a = boost::asio::ip::make_address(*ip, ec);
                if (ec) {
                    throw cereal::Exception("known_node: bad IP address \"" + *ip + "\"");
                }
                address = boost::asio::ip::tcp::endpoint(a, port);
            }
        }
    }
};

/// The answer to `GetKnownNodes`.
struct known_nodes_message {
    std::vector<known_node> nodes; ///< this node first

    /** cereal: the list.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("nodes", nodes));
    }
};

/// A node specification to connect to, `<hex id>@<host>:<port>` (`garage node connect`).
struct connect_request {
    std::string node; ///< the specification

    /** cereal: the text.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("node", node));
    }
};

/// Asks a node for its layout history; answered with the history (`PullClusterLayout`).
struct pull_layout_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/PullClusterLayout"; ///< the path
    using request_type = empty_message;                                                ///< no argument
    using response_type = layout_history;                                              ///< the history
};

/// Gives a node a layout history to merge (`AdvertiseClusterLayout`); refused when inconsistent.
struct advertise_layout_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/AdvertiseClusterLayout"; ///< the path
    using request_type = layout_history;                                                    ///< the history
    using response_type = empty_message; ///< acknowledgement
};

/// Asks a node for its transition trackers (`PullClusterLayoutTrackers`).
struct pull_trackers_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/PullClusterLayoutTrackers"; ///< the path
    using request_type = empty_message;    ///< no argument
    using response_type = update_trackers; ///< the trackers
};

/// Gives a node trackers to merge (`AdvertiseClusterLayoutTrackers`).
struct advertise_trackers_endpoint {
    static constexpr std::string_view path =
        "garage_rpc/system.rs/AdvertiseClusterLayoutTrackers"; ///< the path
    using request_type = update_trackers;                      ///< the trackers
    using response_type = empty_message;                       ///< acknowledgement
};

/// Tells a node this node's status (`AdvertiseStatus`).
struct advertise_status_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/AdvertiseStatus"; ///< the path
    using request_type = node_status;                                                ///< the sender's status
    using response_type = empty_message;                                             ///< acknowledgement
};

/// Asks a node to connect to another node (`Connect`, sent by `garage node connect`).
struct connect_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/Connect"; ///< the path
    using request_type = connect_request;                                    ///< the node to connect to
    using response_type = empty_message; ///< acknowledgement once connected
};

/// Asks a node for the nodes it knows, with their status (`GetKnownNodes`, for `garage status`).
struct get_known_nodes_endpoint {
    static constexpr std::string_view path = "garage_rpc/system.rs/GetKnownNodes"; ///< the path
    using request_type = empty_message;                                            ///< no argument
    using response_type = known_nodes_message;                                     ///< the nodes
};

} // namespace garage::layout
