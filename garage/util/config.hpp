#pragma once
/** @file
    The node configuration: Garage's `garage.toml`, parsed and validated.

    @ref garage::util::read_config reads a file with Garage's keys (reference §10) into the
    plain aggregate @ref garage::util::config, in which paths are `std::filesystem::path`, capacities
    are bytes, durations are `std::chrono` durations, absent optional keys are
    `std::nullopt`, and every default is Garage's. Secrets (`rpc_secret`, `admin.admin_token`,
    `admin.metrics_token`) are resolved from their `*_file` keys and from the
    `GARAGE_RPC_SECRET[_FILE]`, `GARAGE_ADMIN_TOKEN[_FILE]` and `GARAGE_METRICS_TOKEN[_FILE]`
    environment variables, as Garage does; a secret file readable by group or others is
    refused unless `allow_world_readable_secrets` (or `GARAGE_ALLOW_WORLD_READABLE_SECRETS`).

    Failures are values: a TOML syntax error is `error::config_parse_error` with
    `"<file>:<line>:<column>: <description>"`, an absent required key is
    `error::config_missing_key` naming the dotted key and the file, and a value of the wrong
    type or out of range is `error::config_invalid_value` naming the key, the file and the
    line. Unknown keys are not errors: each is logged as a warning and listed in
    @ref garage::util::config::unknown_keys. No message ever contains a secret's value.

    @par Example
    @code
    auto cfg = util::read_config("/etc/garage.toml");
    if (!cfg) {
        spdlog::error("{}", cfg.error().message);
        return 1;
    }
    start_node(*cfg);
    @endcode
*/

#include <garage/util/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace garage::util {

/** How many replies reads and writes wait for (Garage `consistency_mode`, reference §5.5).

    With replication factor `rf`: `consistent` reads `ceil(rf/2)` and writes
    `rf + 1 - ceil(rf/2)` nodes; `degraded` reads one node; `dangerous` reads and writes one.
*/
enum class consistency_mode {
    consistent, ///< read-after-write consistency (the default)
    degraded,   ///< read quorum of 1
    dangerous,  ///< read and write quorums of 1
};

/// The metadata database engine (Garage `db_engine`, reference §8).
enum class db_engine {
    lmdb,   ///< `"lmdb"` (alias `"heed"`): the default and the engine this project implements
    sqlite, ///< `"sqlite"` (aliases `"sqlite3"`, `"rusqlite"`): accepted in the file, not implemented
};

/// The Consul API used for discovery (`[consul_discovery] api`).
enum class consul_api {
    catalog, ///< register in the catalog (the default); may use a TLS client certificate
    agent,   ///< register through the local agent; may use a token
};

/** The name Garage uses for a consistency mode.
    @param m The mode.
    @return `"consistent"`, `"degraded"` or `"dangerous"`. */
std::string_view to_string(consistency_mode m) noexcept;

/** The canonical name of an engine.
    @param e The engine.
    @return `"lmdb"` or `"sqlite"`. */
std::string_view to_string(db_engine e) noexcept;

/** Parses a consistency mode as Garage does: exactly `consistent`, `degraded` or `dangerous`.

    @param text The value of `consistency_mode`.
    @return the mode, or `std::nullopt` for any other spelling.
*/
std::optional<consistency_mode> parse_consistency_mode(std::string_view text) noexcept;

/** Parses an engine name as Garage does (`lmdb`, `heed`, `sqlite`, `sqlite3`, `rusqlite`).

    @param text The value of `db_engine`.
    @return the engine, or `error::config_invalid_value` with Garage's message: for `sled`,
    "Sled is no longer supported as a database engine. ..."; otherwise
    "Invalid DB engine: X (options are: lmdb, sqlite)".
*/
result<db_engine> parse_db_engine(std::string_view text);

/** Parses a capacity as Garage does (the `bytesize` 1.3 crate).

    A plain unsigned integer is a number of bytes. Otherwise a decimal number (`1`, `1.5`,
    `.5`) is followed by optional whitespace and a case-insensitive unit: `B`;
    `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB`, `P`/`PB` (powers of **1000**); `Ki`/`KiB`,
    `Mi`/`MiB`, `Gi`/`GiB`, `Ti`/`TiB`, `Pi`/`PiB` (powers of 1024). The product is truncated
    to whole bytes. So `"1M"` is 1 000 000 bytes and `"1MiB"` is 1 048 576 bytes, exactly as
    in Garage.

    @param text The capacity, e.g. `"1T"` or `"500GiB"`.
    @return the number of bytes, or `error::config_invalid_value` (bad syntax, unknown unit,
    or a value beyond `2^64 - 1`).
*/
result<std::uint64_t> parse_capacity(std::string_view text);

/** Parses a duration as Garage does (the `parse_duration` 2.1 crate).

    A bare integer, possibly surrounded by punctuation or spaces, is a number of seconds.
    Otherwise the text is a sum of terms `<integer>[.<digits>][e<exponent>] <unit>`; text
    that does not start with a number is ignored. Units are case-insensitive prefixes of
    `nanoseconds`/`nsecs`, `microseconds`/`usecs`, `milliseconds`/`msecs`,
    `seconds`/`secs`, `minutes`/`mins` (`m`), `hours`/`hrs`, `days`, `weeks`,
    `months` (`mo`, or a capital `M`; 30.436875 days) and `years`/`yrs` (365.2425 days).
    Examples: `"30s"`, `"10m"`, `"6h"`, `"1d"`, `"1h 30m"`, `"1.5 days"`, `"600"`.

    @param text The duration, e.g. `"10m"`.
    @return the duration, or `error::config_invalid_value` (no number, a number without a
    unit, an unknown unit, a negative total, or more than about 292 years).
*/
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// A TCP socket address `ip:port` (IPv6 literals are written `[ip]:port`).
struct socket_address {
    std::string ip;         ///< the IP literal, without brackets (`"::"`, `"0.0.0.0"`)
    std::uint16_t port = 0; ///< the TCP port

    /// @return `"0.0.0.0:3903"` or `"[::]:3900"`.
    std::string to_string() const;
    /// Equal when the IP literals and the ports are equal.
    friend bool operator==(socket_address const&, socket_address const&) = default;
};

/** Where an HTTP endpoint listens: a TCP address, or a Unix socket path.

    Garage's rule: a value starting with `/` is a Unix socket path; anything else must be a
    socket address `ip:port`.
*/
using listen_address = std::variant<socket_address, std::filesystem::path>;

/// One data directory (`data_dir`, reference §7).
struct data_dir_config {
    std::filesystem::path path;            ///< the directory
    std::optional<std::uint64_t> capacity; ///< bytes; absent for read-only dirs and a plain `data_dir` string
    bool read_only = false;                ///< a legacy directory that is read, never written
};

/// `[s3_api]` (required section).
struct s3_api_config {
    std::optional<listen_address> api_bind_addr; ///< absent: the S3 API does not listen
    std::string s3_region;                       ///< required, e.g. `"garage"`
    std::optional<std::string> root_domain;      ///< enables vhost-style requests, e.g. `".s3.garage"`
};

/// `[k2v_api]` (optional section).
struct k2v_api_config {
    listen_address api_bind_addr; ///< required when the section is present
};

/// `[s3_web]` (optional section): the static website endpoint.
struct s3_web_config {
    listen_address bind_addr;         ///< required
    std::string root_domain;          ///< required, e.g. `".web.garage"`
    bool add_host_to_metrics = false; ///< label metrics with the requested host
};

/// `[admin]` (optional section; all fields optional).
struct admin_config {
    std::optional<listen_address> api_bind_addr; ///< absent: the admin API does not listen
    std::optional<std::string> metrics_token;    ///< resolved bearer token for `/metrics` (secret)
    std::optional<std::filesystem::path> metrics_token_file; ///< as written in the file
    std::optional<std::string> admin_token; ///< resolved bearer token for the admin API (secret)
    std::optional<std::filesystem::path> admin_token_file; ///< as written in the file
    std::optional<std::string> trace_sink;                 ///< OTLP endpoint URL
};

/// `[consul_discovery]` (optional section).
struct consul_discovery_config {
    consul_api api = consul_api::catalog;             ///< which Consul API to register with
    std::string consul_http_addr;                     ///< required, e.g. `"http://127.0.0.1:8500"`
    std::string service_name;                         ///< required
    std::optional<std::filesystem::path> ca_cert;     ///< CA certificate for TLS to Consul
    std::optional<std::filesystem::path> client_cert; ///< catalog API only; together with `client_key`
    std::optional<std::filesystem::path> client_key;  ///< catalog API only; together with `client_cert`
    std::optional<std::string> token;                 ///< agent API only (secret)
    bool tls_skip_verify = false;                     ///< do not verify Consul's certificate
    std::vector<std::string> tags;                    ///< extra service tags
    std::map<std::string, std::string> meta;          ///< extra service metadata
};

/// `[kubernetes_discovery]` (optional section).
struct kubernetes_discovery_config {
    std::string namespace_name; ///< TOML key `namespace`; required
    std::string service_name;   ///< required
    bool skip_crd = false;      ///< do not create the `garagenodes` custom resource definition
};

/** A node's configuration: every key of Garage's `garage.toml`, typed, defaulted, resolved.

    Field names are the TOML keys. Obtain one from @ref read_config or @ref parse_config,
    which apply Garage's defaults and validations; a default-constructed object holds the
    defaults of the optional keys only.

    @par Thread Safety
    A plain value: distinct objects are independent, shared `const` objects are safe.
*/
struct config {
    /// `block_size` when absent: 1 MiB.
    static constexpr std::uint64_t default_block_size = 1u << 20;
    /// `block_ram_buffer_max` when absent: 256 MiB.
    static constexpr std::uint64_t default_block_ram_buffer_max = 256u << 20;
    /// `small_block_max_size` when absent: 8 KiB.
    static constexpr std::uint64_t default_small_block_max_size = 8u << 10;
    /// `compression_level` when absent.
    static constexpr int default_compression_level = 1;
    /// The LMDB map size used when `lmdb_map_size` is absent or 0: 1 TiB (1 GiB on 32-bit).
    static constexpr std::uint64_t default_lmdb_map_size =
        sizeof(void*) >= 8 ? std::uint64_t{1} << 40 : std::uint64_t{1} << 30;
    /// `rpc_timeout_msec` when absent (Garage's RPC `DEFAULT_TIMEOUT`).
    static constexpr std::chrono::milliseconds default_rpc_timeout{300'000};
    /// `rpc_ping_timeout_msec` when absent.
    static constexpr std::chrono::milliseconds default_rpc_ping_timeout{10'000};
    /// The smallest accepted `metadata_auto_snapshot_interval`: 10 minutes.
    static constexpr std::chrono::seconds min_auto_snapshot_interval{600};

    // ---- storage
    std::filesystem::path metadata_dir;           ///< required
    std::vector<data_dir_config> data_dir;        ///< required; a plain string is one dir without capacity
    std::filesystem::path metadata_snapshots_dir; ///< default `<metadata_dir>/snapshots`
    bool metadata_fsync = false;                  ///< sync the metadata DB on every commit
    bool data_fsync = false;                      ///< fsync block files and their directories
    bool disable_scrub = false;                   ///< never scrub the data directories
    bool use_local_tz = false;                    ///< lifecycle worker runs at local midnight
    std::optional<std::chrono::seconds>
        metadata_auto_snapshot_interval;               ///< absent: no automatic snapshots; ≥ 10 min
    util::db_engine db_engine = util::db_engine::lmdb; ///< the metadata engine
    std::uint64_t lmdb_map_size =
        default_lmdb_map_size; ///< effective map size (0 → default; rounded down to 4096)
    std::uint64_t block_size = default_block_size; ///< bytes per data block
    std::uint64_t block_ram_buffer_max =
        default_block_ram_buffer_max; ///< bytes of blocks buffered for slow peers
    std::optional<int> compression_level = default_compression_level; ///< zstd level; `nullopt` is `"none"`
    /// Blocks stored in at most this many bytes live in the metadata DB, not in files (0: never;
    /// not a Garage key: Garage always writes files).
    std::uint64_t small_block_max_size = default_small_block_max_size;

    // ---- replication
    std::size_t replication_factor = 0; ///< required (≥ 1), or derived from `replication_mode`
    util::consistency_mode consistency_mode = util::consistency_mode::consistent; ///< quorum policy
    std::optional<std::string> replication_mode; ///< the legacy key as written, when used

    // ---- RPC
    bool allow_world_readable_secrets = false; ///< effective value (file key or environment)
    std::string rpc_secret;                    ///< resolved; 64 hexadecimal digits (32 bytes). Secret.
    std::optional<std::filesystem::path> rpc_secret_file; ///< as written in the file
    socket_address rpc_bind_addr;                         ///< required, e.g. `[::]:3901`
    bool rpc_bind_outgoing = false;                    ///< bind outgoing connections to `rpc_bind_addr`'s IP
    std::optional<std::string> rpc_public_addr;        ///< `host_or_ip:port` announced to peers
    std::optional<std::string> rpc_public_addr_subnet; ///< CIDR filter for autodetecting the public address
    std::chrono::milliseconds rpc_ping_timeout_msec = default_rpc_ping_timeout; ///< ping timeout
    std::chrono::milliseconds rpc_timeout_msec = default_rpc_timeout;           ///< RPC call timeout
    std::vector<std::string> bootstrap_peers; ///< `"<hex node id>@<host>:<port>"`, as written

    // ---- discovery
    std::optional<consul_discovery_config> consul_discovery;         ///< `[consul_discovery]`
    std::optional<kubernetes_discovery_config> kubernetes_discovery; ///< `[kubernetes_discovery]`

    // ---- APIs
    s3_api_config s3_api;                  ///< `[s3_api]`, required
    std::optional<k2v_api_config> k2v_api; ///< `[k2v_api]`
    std::optional<s3_web_config> s3_web;   ///< `[s3_web]`
    admin_config admin;                    ///< `[admin]`; all fields optional
    bool allow_punycode = false;           ///< accept punycode bucket names

    /// Dotted names of keys that were present but unknown (each also logged as a warning).
    std::vector<std::string> unknown_keys;
};

/** Secret values given outside the configuration file (Garage's `Secrets`).

    Each pair (`x`, `x_file`) may have at most one member set; a set member replaces the file's
    `x` and `x_file`. `allow_world_readable_secrets`, when set, replaces the file's key.

    @par Thread Safety
    A plain value. @ref from_environment reads the environment with `std::getenv`.
*/
struct secret_overrides {
    std::optional<bool> allow_world_readable_secrets;        ///< `GARAGE_ALLOW_WORLD_READABLE_SECRETS`
    std::optional<std::string> rpc_secret;                   ///< `GARAGE_RPC_SECRET`
    std::optional<std::filesystem::path> rpc_secret_file;    ///< `GARAGE_RPC_SECRET_FILE`
    std::optional<std::string> admin_token;                  ///< `GARAGE_ADMIN_TOKEN`
    std::optional<std::filesystem::path> admin_token_file;   ///< `GARAGE_ADMIN_TOKEN_FILE`
    std::optional<std::string> metrics_token;                ///< `GARAGE_METRICS_TOKEN`
    std::optional<std::filesystem::path> metrics_token_file; ///< `GARAGE_METRICS_TOKEN_FILE`

    /** Reads the seven `GARAGE_*` variables above; an empty variable counts as unset.

        @return the overrides, or `error::config_invalid_value` when
        `GARAGE_ALLOW_WORLD_READABLE_SECRETS` is not `true`/`false`/`1`/`0` (any case).
    */
    static result<secret_overrides> from_environment();
};

/** Parses and validates the text of a `garage.toml`, taking secret overrides from the environment.

    Equivalent to `parse_config(toml_text, source_name, *secret_overrides::from_environment())`.

    @par Thread Safety
    Safe to call concurrently, provided no thread modifies the environment meanwhile
    (`std::getenv`). Warnings go to spdlog's default logger.

    @param toml_text   The whole file.
    @param source_name The name used in messages (normally the file's path).
    @return the configuration, or a failure whose message names the file, the key and the line.
*/
result<config> parse_config(std::string_view toml_text, std::string_view source_name);

/** Parses and validates the text of a `garage.toml` with explicit secret overrides.

    @param toml_text   The whole file.
    @param source_name The name used in messages (normally the file's path).
    @param overrides   Secrets given outside the file (command line, environment).
    @return the configuration, or a failure: `error::config_parse_error`,
    `error::config_missing_key`, `error::config_invalid_value`,
    `error::insecure_secret_file` or `error::io_error` (a secret file cannot be read).
*/
result<config> parse_config(std::string_view toml_text, std::string_view source_name,
                            secret_overrides const& overrides);

/** Reads and parses a configuration file, taking secret overrides from the environment.

    @param path The file; messages name it as given.
    @return as @ref parse_config, or `error::io_error` when the file cannot be read.
*/
result<config> read_config(std::filesystem::path const& path);

/** Reads and parses a configuration file with explicit secret overrides.

    @param path      The file; messages name it as given.
    @param overrides Secrets given outside the file.
    @return as @ref parse_config, or `error::io_error` when the file cannot be read.
*/
result<config> read_config(std::filesystem::path const& path, secret_overrides const& overrides);

} // namespace garage::util
