// Test that header file is self-contained.
#include <garage/util/config.hpp>

#include <test/support/temp_dir.hpp>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace {
using namespace garage::util;
using namespace std::chrono_literals;

constexpr std::string_view secret_hex = "4425f5c26c5e11581d3223904324dcb5b5d5dfb14e5e7f35e38c595424f5f1e6";

/// Unsets every GARAGE_* variable the parser reads, and restores them afterwards.
class clean_environment {
public:
    static constexpr std::array<char const*, 7> names = {
        "GARAGE_RPC_SECRET",
        "GARAGE_RPC_SECRET_FILE",
        "GARAGE_ADMIN_TOKEN",
        "GARAGE_ADMIN_TOKEN_FILE",
        "GARAGE_METRICS_TOKEN",
        "GARAGE_METRICS_TOKEN_FILE",
        "GARAGE_ALLOW_WORLD_READABLE_SECRETS",
    };
    clean_environment()
    {
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (char const* v = std::getenv(names[i])) {
                saved_[i] = v;
            }
            ::unsetenv(names[i]);
        }
    }
    clean_environment(clean_environment const&) = delete;
    clean_environment& operator=(clean_environment const&) = delete;
    ~clean_environment()
    {
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (saved_[i]) {
                ::setenv(names[i], saved_[i]->c_str(), 1);
            } else {
                ::unsetenv(names[i]);
            }
        }
    }
    void set(char const* name, std::string const& value) { ::setenv(name, value.c_str(), 1); }

private:
    std::array<std::optional<std::string>, names.size()> saved_;
};

/// Routes spdlog's default logger into a string for the lifetime of the object.
class log_capture {
public:
    log_capture() : previous_(spdlog::default_logger())
    {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", std::move(sink)));
    }
    log_capture(log_capture const&) = delete;
    log_capture& operator=(log_capture const&) = delete;
    ~log_capture() { spdlog::set_default_logger(previous_); }
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

std::filesystem::path write_file(std::filesystem::path const& p, std::string const& text, ::mode_t mode)
{
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << text;
    }
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
}

bool contains(std::string const& haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// The smallest valid file: every required key and nothing else.
std::string minimal(std::string extra = "", std::string s3_extra = "")
{
    return R"(metadata_dir = "/var/lib/garage/meta"
data_dir = "/var/lib/garage/data"
replication_factor = 1
rpc_bind_addr = "[::]:3901"
rpc_secret = ")" +
           std::string(secret_hex) + "\"\n" + extra + "\n[s3_api]\ns3_region = \"garage\"\n" + s3_extra;
}

/// The full example of Garage's configuration reference (every documented key).
constexpr char const* garage_doc_example = R"(replication_factor = 3
consistency_mode = "consistent"

metadata_dir = "/var/lib/garage/meta"
data_dir = "/var/lib/garage/data"
metadata_snapshots_dir = "/var/lib/garage/snapshots"
metadata_fsync = true
data_fsync = false
disable_scrub = false
use_local_tz = false
metadata_auto_snapshot_interval = "6h"

db_engine = "lmdb"

block_size = "1M"
block_ram_buffer_max = "256MiB"

lmdb_map_size = "1T"

compression_level = 1

rpc_secret = "4425f5c26c5e11581d3223904324dcb5b5d5dfb14e5e7f35e38c595424f5f1e6"
rpc_bind_addr = "[::]:3901"
rpc_bind_outgoing = false
rpc_public_addr = "[fc00:1::1]:3901"
# or set rpc_public_adr_subnet to filter down autodiscovery to a subnet:
# rpc_public_addr_subnet = "2001:0db8:f00:b00:/64"


allow_world_readable_secrets = false

bootstrap_peers = [
    "563e1ac825ee3323aa441e72c26d1030d6d4414aeb3dd25287c531e7fc2bc95d@[fc00:1::1]:3901",
    "86f0f26ae4afbd59aaf9cfb059eefac844951efd5b8caeec0d53f4ed6c85f332@[fc00:1::2]:3901",
    "681456ab91350f92242e80a531a3ec9392cb7c974f72640112f90a600d7921a4@[fc00:B::1]:3901",
    "212fd62eeaca72c122b45a7f4fa0f55e012aa5e24ac384a72a3016413fa724ff@[fc00:F::1]:3901",
]

allow_punycode = false

[consul_discovery]
api = "catalog"
consul_http_addr = "http://127.0.0.1:8500"
service_name = "garage-daemon"
ca_cert = "/etc/consul/consul-ca.crt"
client_cert = "/etc/consul/consul-client.crt"
client_key = "/etc/consul/consul-key.crt"
# for `agent` API mode, unset client_cert and client_key, and optionally enable `token`
# token = "abcdef-01234-56789"
tls_skip_verify = false
tags = [ "dns-enabled" ]
meta = { dns-acl = "allow trusted" }


[kubernetes_discovery]
namespace = "garage"
service_name = "garage-daemon"
skip_crd = false


[s3_api]
api_bind_addr = "[::]:3900"
s3_region = "garage"
root_domain = ".s3.garage"

[s3_web]
bind_addr = "[::]:3902"
root_domain = ".web.garage"
add_host_to_metrics = true

[admin]
api_bind_addr = "0.0.0.0:3903"
metrics_token = "BCAdFjoa9G0KJR0WXnHHm7fs1ZAbfpI8iIZ+Z/a2NgI="
admin_token = "UkLeGWEvHnXBqnueR3ISEMWpOnm40jH2tM2HnnL/0F4="
trace_sink = "http://localhost:4317"
)";

config parse_ok(std::string const& text)
{
    auto r = parse_config(text, "garage.toml");
    if (!r) {
        FAIL("unexpected failure: " << r.error().message);
    }
    return std::move(*r);
}

failure parse_err(std::string const& text)
{
    auto r = parse_config(text, "garage.toml");
    REQUIRE_FALSE(r.has_value());
    return r.error();
}

TEST_CASE("the full example of Garage's documentation parses into every field", "[util][config]")
{
    clean_environment env;
    auto const c = parse_ok(garage_doc_example);

    CHECK(c.replication_factor == 3);
    CHECK(c.consistency_mode == consistency_mode::consistent);
    CHECK_FALSE(c.replication_mode);
    CHECK(c.metadata_dir == "/var/lib/garage/meta");
    REQUIRE(c.data_dir.size() == 1);
    CHECK(c.data_dir[0].path == "/var/lib/garage/data");
    CHECK_FALSE(c.data_dir[0].capacity);
    CHECK_FALSE(c.data_dir[0].read_only);
    CHECK(c.metadata_snapshots_dir == "/var/lib/garage/snapshots");
    CHECK(c.metadata_fsync);
    CHECK_FALSE(c.data_fsync);
    CHECK_FALSE(c.disable_scrub);
    CHECK_FALSE(c.use_local_tz);
    REQUIRE(c.metadata_auto_snapshot_interval);
    CHECK(*c.metadata_auto_snapshot_interval == 6h);
    CHECK(c.db_engine == db_engine::lmdb);
    CHECK(c.block_size == 1'000'000); // bytesize: "M" is a power of 1000
    CHECK(c.block_ram_buffer_max == 256u * 1024 * 1024);
    CHECK(c.lmdb_map_size == 1'000'000'000'000); // a multiple of 4096 already
    CHECK(c.compression_level == 1);
    CHECK(c.rpc_secret == secret_hex);
    CHECK_FALSE(c.rpc_secret_file);
    CHECK(c.rpc_bind_addr == socket_address{"::", 3901});
    CHECK(c.rpc_bind_addr.to_string() == "[::]:3901");
    CHECK_FALSE(c.rpc_bind_outgoing);
    CHECK(c.rpc_public_addr == "[fc00:1::1]:3901");
    CHECK_FALSE(c.rpc_public_addr_subnet);
    CHECK_FALSE(c.allow_world_readable_secrets);
    REQUIRE(c.bootstrap_peers.size() == 4);
    CHECK(c.bootstrap_peers[2] ==
          "681456ab91350f92242e80a531a3ec9392cb7c974f72640112f90a600d7921a4@[fc00:B::1]:3901");
    CHECK_FALSE(c.allow_punycode);

    REQUIRE(c.consul_discovery);
    auto const& consul = *c.consul_discovery;
    CHECK(consul.api == consul_api::catalog);
    CHECK(consul.consul_http_addr == "http://127.0.0.1:8500");
    CHECK(consul.service_name == "garage-daemon");
    CHECK(consul.ca_cert == std::filesystem::path("/etc/consul/consul-ca.crt"));
    CHECK(consul.client_cert == std::filesystem::path("/etc/consul/consul-client.crt"));
    CHECK(consul.client_key == std::filesystem::path("/etc/consul/consul-key.crt"));
    CHECK_FALSE(consul.token);
    CHECK_FALSE(consul.tls_skip_verify);
    CHECK(consul.tags == std::vector<std::string>{"dns-enabled"});
    CHECK(consul.meta == std::map<std::string, std::string>{{"dns-acl", "allow trusted"}});

    REQUIRE(c.kubernetes_discovery);
    CHECK(c.kubernetes_discovery->namespace_name == "garage");
    CHECK(c.kubernetes_discovery->service_name == "garage-daemon");
    CHECK_FALSE(c.kubernetes_discovery->skip_crd);

    REQUIRE(c.s3_api.api_bind_addr);
    CHECK(std::get<socket_address>(*c.s3_api.api_bind_addr) == socket_address{"::", 3900});
    CHECK(c.s3_api.s3_region == "garage");
    CHECK(c.s3_api.root_domain == ".s3.garage");
    CHECK_FALSE(c.k2v_api);
    REQUIRE(c.s3_web);
    CHECK(std::get<socket_address>(c.s3_web->bind_addr) == socket_address{"::", 3902});
    CHECK(c.s3_web->root_domain == ".web.garage");
    CHECK(c.s3_web->add_host_to_metrics);
    REQUIRE(c.admin.api_bind_addr);
    CHECK(std::get<socket_address>(*c.admin.api_bind_addr) == socket_address{"0.0.0.0", 3903});
    CHECK(std::get<socket_address>(*c.admin.api_bind_addr).to_string() == "0.0.0.0:3903");
    CHECK(c.admin.metrics_token == "BCAdFjoa9G0KJR0WXnHHm7fs1ZAbfpI8iIZ+Z/a2NgI=");
    CHECK(c.admin.admin_token == "UkLeGWEvHnXBqnueR3ISEMWpOnm40jH2tM2HnnL/0F4=");
    CHECK(c.admin.trace_sink == "http://localhost:4317");
    CHECK(c.unknown_keys.empty());
}

TEST_CASE("the keys missing from the documentation example parse too", "[util][config]")
{
    clean_environment env;
    auto const c = parse_ok(minimal(R"(rpc_public_addr_subnet = "10.0.0.0/8"
rpc_ping_timeout_msec = 2500
rpc_timeout_msec = 60000
compression_level = "none"
use_local_tz = true
disable_scrub = true
data_fsync = true
rpc_bind_outgoing = true
allow_punycode = true
db_engine = "sqlite"
consistency_mode = "degraded"
[k2v_api]
api_bind_addr = "/run/garage/k2v.sock"
[consul_discovery]
api = "agent"
consul_http_addr = "https://consul:8501"
service_name = "garage"
token = "abcdef-01234-56789"
tls_skip_verify = true
[kubernetes_discovery]
namespace = "storage"
service_name = "garage"
skip_crd = true
)",
                                    "api_bind_addr = \"127.0.0.1:3900\"\n"));
    CHECK(c.rpc_public_addr_subnet == "10.0.0.0/8");
    CHECK(c.rpc_ping_timeout_msec == 2500ms);
    CHECK(c.rpc_timeout_msec == 60s);
    CHECK_FALSE(c.compression_level);
    CHECK(c.use_local_tz);
    CHECK(c.disable_scrub);
    CHECK(c.data_fsync);
    CHECK(c.rpc_bind_outgoing);
    CHECK(c.allow_punycode);
    CHECK(c.db_engine == db_engine::sqlite);
    CHECK(c.consistency_mode == consistency_mode::degraded);
    REQUIRE(c.k2v_api);
    CHECK(std::get<std::filesystem::path>(c.k2v_api->api_bind_addr) == "/run/garage/k2v.sock");
    REQUIRE(c.consul_discovery);
    CHECK(c.consul_discovery->api == consul_api::agent);
    CHECK(c.consul_discovery->token == "abcdef-01234-56789");
    CHECK(c.consul_discovery->tls_skip_verify);
    CHECK(c.consul_discovery->tags.empty());
    CHECK(c.consul_discovery->meta.empty());
    REQUIRE(c.kubernetes_discovery);
    CHECK(c.kubernetes_discovery->namespace_name == "storage");
    CHECK(c.kubernetes_discovery->skip_crd);
    REQUIRE(c.s3_api.api_bind_addr);
    CHECK(std::get<socket_address>(*c.s3_api.api_bind_addr) == socket_address{"127.0.0.1", 3900});
    CHECK(c.unknown_keys.empty());
}

TEST_CASE("a minimal file gets every default of Garage", "[util][config]")
{
    clean_environment env;
    auto const c = parse_ok(minimal());
    CHECK(c.metadata_dir == "/var/lib/garage/meta");
    CHECK(c.metadata_snapshots_dir == "/var/lib/garage/meta/snapshots");
    REQUIRE(c.data_dir.size() == 1);
    CHECK_FALSE(c.data_dir[0].capacity);
    CHECK_FALSE(c.metadata_fsync);
    CHECK_FALSE(c.data_fsync);
    CHECK_FALSE(c.disable_scrub);
    CHECK_FALSE(c.use_local_tz);
    CHECK_FALSE(c.metadata_auto_snapshot_interval);
    CHECK(c.db_engine == db_engine::lmdb);
    CHECK(c.lmdb_map_size == (std::uint64_t{1} << 40));
    CHECK(c.block_size == 1048576);
    CHECK(c.block_ram_buffer_max == 268435456);
    CHECK(c.compression_level == 1);
    CHECK(c.replication_factor == 1);
    CHECK(c.consistency_mode == consistency_mode::consistent);
    CHECK_FALSE(c.replication_mode);
    CHECK_FALSE(c.allow_world_readable_secrets);
    CHECK(c.rpc_bind_addr == socket_address{"::", 3901});
    CHECK_FALSE(c.rpc_bind_outgoing);
    CHECK_FALSE(c.rpc_public_addr);
    CHECK_FALSE(c.rpc_public_addr_subnet);
    CHECK(c.rpc_ping_timeout_msec == 10s);
    CHECK(c.rpc_timeout_msec == 300s);
    CHECK(c.bootstrap_peers.empty());
    CHECK_FALSE(c.consul_discovery);
    CHECK_FALSE(c.kubernetes_discovery);
    CHECK_FALSE(c.s3_api.api_bind_addr);
    CHECK_FALSE(c.s3_api.root_domain);
    CHECK_FALSE(c.k2v_api);
    CHECK_FALSE(c.s3_web);
    CHECK_FALSE(c.admin.api_bind_addr);
    CHECK_FALSE(c.admin.admin_token);
    CHECK_FALSE(c.admin.metrics_token);
    CHECK_FALSE(c.admin.trace_sink);
    CHECK_FALSE(c.allow_punycode);
    CHECK(c.unknown_keys.empty());
}

TEST_CASE("capacities parse as Garage's bytesize does", "[util][config]")
{
    struct row {
        std::string_view text;
        std::uint64_t bytes;
    };
    auto const table = GENERATE(values<row>({
        {"0", 0},
        {"500", 500},
        {"+7", 7},
        {"1B", 1},
        {"1K", 1'000},
        {"1kb", 1'000},
        {"1M", 1'000'000},
        {"10M", 10'000'000},
        {"3 MB", 3'000'000},
        {"1G", 1'000'000'000},
        {"1T", 1'000'000'000'000},
        {"2T", 2'000'000'000'000},
        {"8P", 8'000'000'000'000'000},
        {"1Ki", 1024},
        {"1KiB", 1024},
        {"1.5Ki", 1536},
        {"1.5K", 1500},
        {"256MiB", 256u << 20},
        {"4 MiB", 4u << 20},
        {"1gib", std::uint64_t{1} << 30},
        {"521TiB", 521 * (std::uint64_t{1} << 40)},
        {"12 PiB", 12 * (std::uint64_t{1} << 50)},
        {"0.5G", 500'000'000},
        {".5K", 500},
        {"1.K", 1'000},
    }));
    CAPTURE(table.text);
    auto r = parse_capacity(table.text);
    REQUIRE(r.has_value());
    CHECK(*r == table.bytes);
}

TEST_CASE("bad capacities are rejected", "[util][config]")
{
    auto const text = GENERATE(as<std::string_view>{}, "", "a124GB", "1.3 42.0 B", "1.3 ... B", "1 000 B",
                               "1.5", "-5", "1X", "10M ", " 10M", "1e3", "99999999999999999999P");
    CAPTURE(text);
    auto r = parse_capacity(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::config_invalid_value);
}

TEST_CASE("durations parse as Garage's parse_duration does", "[util][config]")
{
    struct row {
        std::string_view text;
        std::chrono::nanoseconds value;
    };
    auto const table = GENERATE(values<row>({
        {"30s", 30s},
        {"10m", 10min},
        {"6h", 6h},
        {"1d", 24h},
        {"600", 600s},
        {" 600 ", 600s},
        {"1w", 7 * 24h},
        {"2 weeks", 14 * 24h},
        {"1h30m", 90min},
        {"1 hour, 15 minutes and 29 seconds", 1h + 15min + 29s},
        {"1 day -1 hour", 23h},
        {"1.5h", 90min},
        {"1.26e-1 days", std::chrono::nanoseconds(10'886'400'000'000)},
        {"2e1min", 20min},
        {"100ms", 100ms},
        {"3 usecs", 3us},
        {"7ns", 7ns},
        {"1M", std::chrono::seconds(2'629'746)},
        {"1mo", std::chrono::seconds(2'629'746)},
        {"1 MIN", 1min},
        {"1y", std::chrono::seconds(31'556'952)},
        {"12 HOURS", 12h},
    }));
    CAPTURE(table.text);
    auto r = parse_duration(table.text);
    REQUIRE(r.has_value());
    CHECK(*r == table.value);
}

TEST_CASE("bad durations are rejected", "[util][config]")
{
    auto const text = GENERATE(as<std::string_view>{}, "", "hours", "1.5", "10x", "-600", "1h -2h", "1h30",
                               "99999999999 years");
    CAPTURE(text);
    auto r = parse_duration(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::config_invalid_value);
}

TEST_CASE("capacity and duration keys accept Garage's forms", "[util][config]")
{
    clean_environment env;
    auto const c = parse_ok(minimal(R"(block_size = 4096
block_ram_buffer_max = "1G"
lmdb_map_size = 10000
metadata_auto_snapshot_interval = "10m")"));
    CHECK(c.block_size == 4096);
    CHECK(c.block_ram_buffer_max == 1'000'000'000);
    CHECK(c.lmdb_map_size == 8192); // rounded down to a multiple of 4096
    CHECK(c.metadata_auto_snapshot_interval == 10min);

    auto const zero = parse_ok(minimal("lmdb_map_size = 0"));
    CHECK(zero.lmdb_map_size == config::default_lmdb_map_size);
}

TEST_CASE("small_block_max_size defaults to 8 KiB, never above block_size", "[util][config]")
{
    clean_environment env;
    CHECK(parse_ok(minimal("")).small_block_max_size == 8192);
    CHECK(parse_ok(minimal("block_size = 4096")).small_block_max_size == 4096);
    CHECK(parse_ok(minimal("small_block_max_size = \"16KiB\"")).small_block_max_size == 16384);
    CHECK(parse_ok(minimal("small_block_max_size = 0")).small_block_max_size == 0);
    auto const r = parse_config(minimal("block_size = 4096\nsmall_block_max_size = 8192"), "garage.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("small_block_max_size") != std::string::npos);
}

TEST_CASE("data_dir lists carry capacities and read-only flags", "[util][config]")
{
    clean_environment env;
    auto const c = parse_ok(R"(metadata_dir = "/meta"
data_dir = [
    { path = "/path/to/old_data", read_only = true },
    { path = "/path/to/new_hdd1", capacity = "2T" },
    { path = "/path/to/new_hdd2", capacity = 4000000 },
]
replication_factor = 3
rpc_bind_addr = "0.0.0.0:3901"
rpc_secret = ")" + std::string(secret_hex) +
                            R"("
[s3_api]
s3_region = "garage"
)");
    REQUIRE(c.data_dir.size() == 3);
    CHECK(c.data_dir[0].path == "/path/to/old_data");
    CHECK(c.data_dir[0].read_only);
    CHECK_FALSE(c.data_dir[0].capacity);
    CHECK(c.data_dir[1].capacity == 2'000'000'000'000);
    CHECK_FALSE(c.data_dir[1].read_only);
    CHECK(c.data_dir[2].capacity == 4'000'000);
    CHECK(c.rpc_bind_addr == socket_address{"0.0.0.0", 3901});
}

TEST_CASE("data_dir lists are validated as Garage does", "[util][config]")
{
    clean_environment env;
    auto dirs = [](std::string const& list) {
        return "metadata_dir = \"/meta\"\ndata_dir = " + list + "\nreplication_factor = 1\n" +
               "rpc_bind_addr = \"[::]:3901\"\nrpc_secret = \"" + std::string(secret_hex) +
               "\"\n[s3_api]\ns3_region = \"garage\"\n";
    };
    auto e = parse_err(dirs(R"([{ path = "/a" }])"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "should have a capacity value or be marked read_only"));
    CHECK(contains(e.message, "/a"));

    e = parse_err(dirs(R"([{ path = "/a", capacity = "1T", read_only = true }])"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "data_dir[0].capacity"));

    e = parse_err(dirs(R"([{ path = "/a", capacity = "0" }])"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "non-zero capacity"));

    e = parse_err(dirs(R"([{ path = "/a", read_only = true }])"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "no primary writable directory"));

    e = parse_err(dirs(R"([{ path = "/a", capacity = "lots" }])"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "garage.toml:2:"));
    CHECK(contains(e.message, "data_dir[0].capacity"));

    e = parse_err(dirs(R"([{ capacity = "1T" }])"));
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "data_dir[0].path"));

    e = parse_err(dirs("42"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "`data_dir`"));
}

TEST_CASE("legacy replication_mode maps to a factor and a consistency mode", "[util][config]")
{
    clean_environment env;
    struct row {
        std::string_view mode;
        std::size_t factor;
        consistency_mode consistency;
    };
    auto const table = GENERATE(values<row>({
        {"none", 1, consistency_mode::consistent},
        {"1", 1, consistency_mode::consistent},
        {"2", 2, consistency_mode::consistent},
        {"2-dangerous", 2, consistency_mode::dangerous},
        {"3", 3, consistency_mode::consistent},
        {"3-degraded", 3, consistency_mode::degraded},
        {"3-dangerous", 3, consistency_mode::dangerous},
    }));
    CAPTURE(table.mode);
    auto text = minimal();
    text.replace(text.find("replication_factor = 1"), 22,
                 "replication_mode = \"" + std::string(table.mode) + "\"");
    log_capture log;
    auto const c = parse_ok(text);
    CHECK(c.replication_factor == table.factor);
    CHECK(c.consistency_mode == table.consistency);
    CHECK(c.replication_mode == table.mode);
    CHECK(contains(log.text(), "replication_mode"));
}

TEST_CASE("replication settings are rejected when invalid or contradictory", "[util][config]")
{
    clean_environment env;
    auto without_factor = [](std::string extra) {
        auto text = minimal(std::move(extra));
        text.replace(text.find("replication_factor = 1\n"), 23, "");
        return text;
    };
    auto e = parse_err(without_factor("replication_mode = \"4\""));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "Invalid replication_mode"));

    e = parse_err(minimal("replication_mode = \"3\""));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "not both"));

    e = parse_err(without_factor("replication_mode = \"3\"\nconsistency_mode = \"dangerous\""));
    CHECK(contains(e.message, "not both"));

    e = parse_err(without_factor(""));
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`replication_factor`"));

    e = parse_err(without_factor("replication_factor = 0"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "replication_factor"));

    e = parse_err(without_factor("replication_factor = -2"));
    CHECK(e.code == error::config_invalid_value);

    e = parse_err(minimal("consistency_mode = \"Consistent\""));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "consistency_mode"));
    CHECK(contains(e.message, "garage.toml:6:"));
}

TEST_CASE("environment variables override the secrets of the file", "[util][config]")
{
    clean_environment env;
    garage::test::temp_dir dir;
    std::string const other(64, 'a');

    env.set("GARAGE_RPC_SECRET", other);
    env.set("GARAGE_ADMIN_TOKEN", "admin-from-env");
    env.set("GARAGE_METRICS_TOKEN", "metrics-from-env");
    auto c =
        parse_ok(minimal("", "[admin]\nadmin_token = \"file-admin\"\nmetrics_token = \"file-metrics\"\n"));
    CHECK(c.rpc_secret == other);
    CHECK(c.admin.admin_token == "admin-from-env");
    CHECK(c.admin.metrics_token == "metrics-from-env");

    // The *_FILE variables read a file, trailing newline trimmed.
    ::unsetenv("GARAGE_RPC_SECRET");
    ::unsetenv("GARAGE_ADMIN_TOKEN");
    auto const secret_path = write_file(dir.path() / "rpc", std::string(64, 'b') + "\n", 0600);
    auto const admin_path = write_file(dir.path() / "admin", "admin-from-file\n\n", 0600);
    env.set("GARAGE_RPC_SECRET_FILE", secret_path.string());
    env.set("GARAGE_ADMIN_TOKEN_FILE", admin_path.string());
    c = parse_ok(minimal());
    CHECK(c.rpc_secret == std::string(64, 'b'));
    CHECK(c.admin.admin_token == "admin-from-file");
    CHECK(c.admin.metrics_token == "metrics-from-env");

    // An empty variable counts as unset.
    env.set("GARAGE_RPC_SECRET_FILE", "");
    c = parse_ok(minimal());
    CHECK(c.rpc_secret == secret_hex);

    // Both members of a pair set: refused.
    env.set("GARAGE_METRICS_TOKEN_FILE", admin_path.string());
    auto e = parse_err(minimal());
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "GARAGE_METRICS_TOKEN"));
    CHECK_FALSE(contains(e.message, "metrics-from-env"));

    // A secret given only by the environment satisfies the requirement.
    ::unsetenv("GARAGE_METRICS_TOKEN_FILE");
    env.set("GARAGE_RPC_SECRET", other);
    auto text = minimal();
    text.replace(text.find("rpc_secret = "), 13 + 2 + 64 + 1, "");
    c = parse_ok(text);
    CHECK(c.rpc_secret == other);
}

TEST_CASE("secrets are read from *_file keys", "[util][config]")
{
    clean_environment env;
    garage::test::temp_dir dir;
    auto const secret_path = write_file(dir.path() / "rpc_secret", std::string(secret_hex) + "\n", 0600);
    auto const token_path = write_file(dir.path() / "metrics", "metrics-token\n", 0400);
    auto text = minimal("", "[admin]\nmetrics_token_file = \"" + token_path.string() + "\"\n");
    text.replace(text.find("rpc_secret = "), 13 + 2 + 64,
                 "rpc_secret_file = \"" + secret_path.string() + "\"");
    auto const c = parse_ok(text);
    CHECK(c.rpc_secret == secret_hex);
    CHECK(c.rpc_secret_file == secret_path);
    CHECK(c.admin.metrics_token == "metrics-token");
    CHECK(c.admin.metrics_token_file == token_path);

    // Setting both the value and the file in the configuration is refused.
    auto const both = minimal("rpc_secret_file = \"" + secret_path.string() + "\"");
    auto e = parse_err(both);
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "only one of `rpc_secret` and `rpc_secret_file`"));

    // A file that does not exist is an I/O error naming it.
    auto missing = text;
    missing.replace(missing.find(secret_path.string()), secret_path.string().size(),
                    (dir.path() / "nope").string());
    e = parse_err(missing);
    CHECK(e.code == error::io_error);
    CHECK(contains(e.message, "nope"));
}

TEST_CASE("secret files readable by others are refused unless allowed", "[util][config]")
{
    clean_environment env;
    garage::test::temp_dir dir;
    auto const secret_path = write_file(dir.path() / "rpc_secret", std::string(secret_hex), 0644);
    auto text = minimal();
    text.replace(text.find("rpc_secret = "), 13 + 2 + 64,
                 "rpc_secret_file = \"" + secret_path.string() + "\"");

    auto e = parse_err(text);
    CHECK(e.code == error::insecure_secret_file);
    CHECK(e.is(condition::bad_request));
    CHECK(contains(e.message,
                   "File " + secret_path.string() + " is world-readable! (mode: 0644, expected 0600)"));
    CHECK_FALSE(contains(e.message, secret_hex));

    // Group-readable is refused too.
    REQUIRE(::chmod(secret_path.c_str(), 0640) == 0);
    e = parse_err(text);
    CHECK(e.code == error::insecure_secret_file);
    CHECK(contains(e.message, "(mode: 0640, expected 0600)"));

    // Allowed by the configuration key.
    auto allowed = text;
    allowed.insert(0, "allow_world_readable_secrets = true\n");
    auto c = parse_ok(allowed);
    CHECK(c.rpc_secret == secret_hex);
    CHECK(c.allow_world_readable_secrets);

    // Allowed by the environment, which also overrides the key in either direction.
    env.set("GARAGE_ALLOW_WORLD_READABLE_SECRETS", "true");
    c = parse_ok(text);
    CHECK(c.rpc_secret == secret_hex);
    CHECK(c.allow_world_readable_secrets);
    env.set("GARAGE_ALLOW_WORLD_READABLE_SECRETS", "false");
    e = parse_err(allowed);
    CHECK(e.code == error::insecure_secret_file);
    env.set("GARAGE_ALLOW_WORLD_READABLE_SECRETS", "maybe");
    e = parse_err(minimal());
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "GARAGE_ALLOW_WORLD_READABLE_SECRETS"));
}

TEST_CASE("explicit overrides take the place of the environment", "[util][config]")
{
    clean_environment env;
    env.set("GARAGE_RPC_SECRET", std::string(64, 'c'));
    secret_overrides o;
    o.rpc_secret = std::string(64, 'd');
    o.admin_token = "cli-admin";
    auto r = parse_config(minimal(), "garage.toml", o);
    REQUIRE(r.has_value());
    CHECK(r->rpc_secret == std::string(64, 'd'));
    CHECK(r->admin.admin_token == "cli-admin");

    auto from_env = secret_overrides::from_environment();
    REQUIRE(from_env.has_value());
    CHECK(from_env->rpc_secret == std::string(64, 'c'));
    CHECK_FALSE(from_env->admin_token);
}

TEST_CASE("the rpc secret must be 32 bytes of hex and is never printed", "[util][config]")
{
    clean_environment env;
    auto const bad = std::string(63, 'a') + "z";
    auto text = minimal();
    text.replace(text.find(secret_hex), secret_hex.size(), bad);
    auto e = parse_err(text);
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "garage.toml:5"));
    CHECK(contains(e.message, "rpc_secret"));
    CHECK_FALSE(contains(e.message, bad));

    text = minimal();
    text.replace(text.find(secret_hex), secret_hex.size(), "foo");
    e = parse_err(text);
    CHECK(e.code == error::config_invalid_value);
    CHECK_FALSE(contains(e.message, "\"foo\""));

    env.set("GARAGE_RPC_SECRET", "deadbeef");
    e = parse_err(minimal());
    CHECK(contains(e.message, "GARAGE_RPC_SECRET"));
    CHECK_FALSE(contains(e.message, "deadbeef"));

    ::unsetenv("GARAGE_RPC_SECRET");
    text = minimal();
    text.replace(text.find("rpc_secret = "), 13 + 2 + 64 + 1, "");
    e = parse_err(text);
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`rpc_secret`"));
    CHECK(contains(e.message, "garage.toml"));

    // Upper-case hexadecimal is accepted and kept as written.
    text = minimal();
    std::string upper(secret_hex);
    for (auto& ch : upper) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    text.replace(text.find(secret_hex), secret_hex.size(), upper);
    CHECK(parse_ok(text).rpc_secret == upper);
}

TEST_CASE("a TOML syntax error names the file, line and column", "[util][config]")
{
    clean_environment env;
    auto const e = parse_err("metadata_dir = \"/meta\"\ndata_dir = \"/data\"\nblock_size = \n");
    CHECK(e.code == error::config_parse_error);
    CHECK(e.message.starts_with("garage.toml:3:"));
    CHECK(e.is(condition::bad_request));

    auto const dup = parse_err(minimal("metadata_dir = \"/again\""));
    CHECK(dup.code == error::config_parse_error);
    CHECK(dup.message.starts_with("garage.toml:6:"));
}

TEST_CASE("a missing required key is named with its section", "[util][config]")
{
    clean_environment env;
    auto text = minimal();
    text.replace(text.find("s3_region = \"garage\"\n"), 21, "");
    auto e = parse_err(text);
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`s3_api.s3_region`"));
    CHECK(contains(e.message, "garage.toml"));

    text = minimal();
    text.replace(text.find("[s3_api]\n"), 9 + 21, "");
    e = parse_err(text);
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`s3_api`"));

    text = minimal();
    text.replace(text.find("metadata_dir"), 38, "");
    e = parse_err(text);
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`metadata_dir`"));

    text = minimal();
    text.replace(text.find("rpc_bind_addr"), 28, "");
    e = parse_err(text);
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`rpc_bind_addr`"));

    e = parse_err(minimal("[s3_web]\nroot_domain = \".web\""));
    CHECK(e.code == error::config_missing_key);
    CHECK(contains(e.message, "`s3_web.bind_addr`"));

    e = parse_err(minimal("[k2v_api]\n"));
    CHECK(contains(e.message, "`k2v_api.api_bind_addr`"));

    e = parse_err(minimal("[kubernetes_discovery]\nnamespace = \"x\""));
    CHECK(contains(e.message, "`kubernetes_discovery.service_name`"));

    e = parse_err(minimal("[consul_discovery]\nservice_name = \"x\""));
    CHECK(contains(e.message, "`consul_discovery.consul_http_addr`"));
}

TEST_CASE("a value of the wrong type names the key and its line", "[util][config]")
{
    clean_environment env;
    auto e = parse_err(minimal("block_size = true"));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "garage.toml:6:"));
    CHECK(contains(e.message, "`block_size`"));

    e = parse_err(minimal("metadata_fsync = \"yes\""));
    CHECK(contains(e.message, "garage.toml:6:"));
    CHECK(contains(e.message, "`metadata_fsync`"));

    e = parse_err(minimal("", "root_domain = 3\n"));
    CHECK(contains(e.message, "garage.toml:9:"));
    CHECK(contains(e.message, "`s3_api.root_domain`"));

    e = parse_err(minimal("rpc_timeout_msec = -1"));
    CHECK(contains(e.message, "`rpc_timeout_msec`"));

    e = parse_err(minimal("compression_level = \"fast\""));
    CHECK(contains(e.message, "`compression_level`"));
    CHECK(contains(e.message, "'none'"));

    e = parse_err(minimal("compression_level = 1.5"));
    CHECK(contains(e.message, "`compression_level`"));

    e = parse_err(minimal("bootstrap_peers = [\"a@b:1\", 2]"));
    CHECK(contains(e.message, "`bootstrap_peers`"));

    e = parse_err(minimal("metadata_auto_snapshot_interval = \"5m\""));
    CHECK(contains(e.message, "too small"));
    CHECK(contains(e.message, "garage.toml:6:"));

    e = parse_err(minimal("metadata_auto_snapshot_interval = \"soon\""));
    CHECK(contains(e.message, "`metadata_auto_snapshot_interval`"));

    e = parse_err(minimal("[admin]\nadmin_token = 12345"));
    CHECK(contains(e.message, "`admin.admin_token`"));
    CHECK_FALSE(contains(e.message, "12345"));

    e = parse_err(minimal("", "api_bind_addr = \"localhost:3900\"\n"));
    CHECK(contains(e.message, "`s3_api.api_bind_addr`"));

    auto text = minimal();
    text.replace(text.find("[::]:3901"), 9, "::3901");
    e = parse_err(text);
    CHECK(contains(e.message, "`rpc_bind_addr`"));
    CHECK(contains(e.message, "garage.toml:4:"));

    e = parse_err(minimal("rpc_public_addr_subnet = \"2001:0db8:f00:b00:/64\""));
    CHECK(contains(e.message, "`rpc_public_addr_subnet`"));

    e = parse_err(minimal("[consul_discovery]\napi = \"catalog\"\nconsul_http_addr = \"http://c\"\n"
                          "service_name = \"g\"\nclient_cert = \"/c\""));
    CHECK(contains(e.message, "client_key"));

    e = parse_err(minimal("[consul_discovery]\napi = \"Agent\"\nconsul_http_addr = \"http://c\"\n"
                          "service_name = \"g\""));
    CHECK(contains(e.message, "`consul_discovery.api`"));
}

TEST_CASE("unknown keys are warned about and listed, not rejected", "[util][config]")
{
    clean_environment env;
    log_capture log;
    auto const c =
        parse_ok(minimal("replicaton_factor = 3\n[admin]\nadmin_tokn = \"x\"", "region = \"eu\"\n"));
    auto keys = c.unknown_keys;
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"admin.admin_tokn", "replicaton_factor", "s3_api.region"});
    auto const text = log.text();
    CHECK(contains(text, "unknown configuration key `replicaton_factor`"));
    CHECK(contains(text, "garage.toml:6"));
    CHECK(contains(text, "`s3_api.region`"));
    CHECK_FALSE(contains(text, secret_hex));
}

TEST_CASE("db_engine follows Garage's names and refuses sled", "[util][config]")
{
    clean_environment env;
    CHECK(parse_ok(minimal("db_engine = \"heed\"")).db_engine == db_engine::lmdb);
    CHECK(parse_ok(minimal("db_engine = \"sqlite3\"")).db_engine == db_engine::sqlite);
    CHECK(parse_ok(minimal("db_engine = \"rusqlite\"")).db_engine == db_engine::sqlite);

    auto e = parse_err(minimal("db_engine = \"sled\""));
    CHECK(e.code == error::config_invalid_value);
    CHECK(contains(e.message, "Sled is no longer supported as a database engine"));
    CHECK(contains(e.message, "v0.9.4"));
    CHECK(contains(e.message, "garage.toml:6:"));

    e = parse_err(minimal("db_engine = \"fjall\""));
    CHECK(contains(e.message, "Invalid DB engine: fjall (options are: lmdb, sqlite)"));

    CHECK(to_string(db_engine::lmdb) == "lmdb");
    CHECK(to_string(consistency_mode::dangerous) == "dangerous");
    CHECK(parse_consistency_mode("degraded") == consistency_mode::degraded);
    CHECK_FALSE(parse_consistency_mode("DEGRADED"));
}

TEST_CASE("read_config reads a file and names it in messages", "[util][config]")
{
    clean_environment env;
    garage::test::temp_dir dir;
    auto const path = write_file(dir.path() / "garage.toml", minimal(), 0600);
    auto r = read_config(path);
    REQUIRE(r.has_value());
    CHECK(r->replication_factor == 1);

    auto const bad = write_file(dir.path() / "bad.toml", minimal("block_size = [1]"), 0600);
    r = read_config(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message, bad.string() + ":6:"));

    r = read_config(dir.path() / "absent.toml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::io_error);
    CHECK(contains(r.error().message, "absent.toml"));
}

} // namespace
