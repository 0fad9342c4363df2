#include <server/node_metrics.hpp>

#include <garage/api/s3/router.hpp>
#include <garage/layout/role.hpp>
#include <garage/util/hasher.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <set>

namespace garage::server {

namespace {

template <class R>
std::optional<double> as_gauge(R const& r)
{
    if (!r) {
        return std::nullopt;
    }
    return static_cast<double>(*r);
}

/// The first 48 bits (exact in a double) of a BLAKE2b over every non-empty partition root.
template <class Table>
std::optional<double> merkle_roots_digest(Table& t)
{
    util::blake2b_hasher h;
    for (std::size_t p = 0; p < layout::partition_count; ++p) {
        auto const root = t.merkle().root_hash(static_cast<replication::partition_id>(p));
        if (!root) {
            return std::nullopt;
        }
        if (*root != util::hash32{}) {
            auto const id = static_cast<std::uint16_t>(p);
            h.update(std::string_view(reinterpret_cast<char const*>(&id), sizeof id));
            h.update(std::string_view(reinterpret_cast<char const*>(root->data()), root->size()));
        }
    }
    auto const d = h.finalize();
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        v = (v << 8) | d[i];
    }
    return static_cast<double>(v);
}

template <class Table>
void register_table(metrics::registry& reg, Table& t)
{
    std::string_view const name = Table::name();
    reg.computed_gauge_family("table_size", "Number of items in table", {"table_name"}).with({name}, [&t] {
        return as_gauge(t.len());
    });
    reg.computed_gauge_family("table_merkle_updater_todo_queue_length",
                              "Merkle tree updater TODO queue length", {"table_name"})
        .with({name}, [&t] { return as_gauge(t.merkle().todo_len()); });
    reg.computed_gauge_family("table_gc_todo_queue_length", "Table garbage collector TODO queue length",
                              {"table_name"})
        .with({name}, [&t] { return as_gauge(t.gc_todo_len()); });
    reg.computed_gauge_family("table_merkle_root_digest",
                              "The first 48 bits of a digest of the table's Merkle roots (every partition): "
                              "nodes storing the same partitions hold the same entries when these are equal "
                              "and their todo queues are empty",
                              {"table_name"})
        .with({name}, [&t] { return merkle_roots_digest(t); });
}

/// Free and total bytes of the file systems of some directories (each file system once).
std::optional<std::pair<double, double>> disk_space(std::vector<std::filesystem::path> const& dirs)
{
    std::set<std::filesystem::path> seen;
    double avail = 0, total = 0;
    bool any = false;
    for (auto const& d : dirs) {
        std::error_code ec;
        auto const canon = std::filesystem::canonical(d, ec);
        if (ec || !seen.insert(canon).second) {
            continue;
        }
        auto const s = std::filesystem::space(canon, ec);
        if (ec) {
            continue;
        }
        avail += static_cast<double>(s.available);
        total += static_cast<double>(s.capacity);
        any = true;
    }
    if (!any) {
        return std::nullopt;
    }
    return std::pair{avail, total};
}

std::string format_msec(std::uint64_t msec)
{
    if (msec == 0) {
        return "never";
    }
    auto const tp = std::chrono::system_clock::time_point(std::chrono::milliseconds(msec));
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(tp));
}

util::result<std::uint32_t> parse_u32(std::string_view name, std::string_view v)
{
    std::uint32_t out = 0;
    auto const [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
        return util::failure(util::error::config_invalid_value, "Invalid value for " + std::string(name) +
                                                                    ": '" + std::string(v) +
                                                                    "' (expected an integer)");
    }
    return out;
}

} // namespace

void register_node_metrics(metrics::registry& reg, util::config const& cfg, model_type& model,
                           blocks_type& blocks, layout::system const* sys)
{
    reg.gauge_family("garage_build_info", "Garage build info", {"version"}).with({node_version}).set(1);
    reg.gauge_family("garage_replication_factor", "Garage replication factor setting")
        .with({})
        .set(static_cast<double>(cfg.replication_factor));

    std::vector<std::filesystem::path> data_dirs;
    for (auto const& d : cfg.data_dir) {
        if (!d.read_only) {
            data_dirs.push_back(d.path);
        }
    }
    auto& avail =
        reg.computed_gauge_family("garage_local_disk_avail", "Available disk space (bytes)", {"volume"});
    auto& total =
        reg.computed_gauge_family("garage_local_disk_total", "Total disk space (bytes)", {"volume"});
    avail.with({"data"}, [data_dirs] {
        auto s = disk_space(data_dirs);
        return s ? std::optional<double>(s->first) : std::nullopt;
    });
    total.with({"data"}, [data_dirs] {
        auto s = disk_space(data_dirs);
        return s ? std::optional<double>(s->second) : std::nullopt;
    });
    std::vector<std::filesystem::path> const meta{cfg.metadata_dir};
    avail.with({"metadata"}, [meta] {
        auto s = disk_space(meta);
        return s ? std::optional<double>(s->first) : std::nullopt;
    });
    total.with({"metadata"}, [meta] {
        auto s = disk_space(meta);
        return s ? std::optional<double>(s->second) : std::nullopt;
    });

    // The cluster's health as this node sees it (a node without membership services: alone, healthy).
    struct cluster_gauge {
        char const* name;
        char const* help;
        double alone;
        double (*value)(layout::cluster_health const&);
    };
    for (auto const& g : {
             cluster_gauge{"cluster_healthy", "Whether all storage nodes are connected", 1,
                           [](layout::cluster_health const& h) {
                               return h.status == layout::health_status::healthy ? 1.0 : 0.0;
                           }},
             cluster_gauge{"cluster_available", "Whether all requests can be served", 1,
                           [](layout::cluster_health const& h) {
                               return h.status != layout::health_status::unavailable ? 1.0 : 0.0;
                           }},
             cluster_gauge{"cluster_connected_nodes", "Number of nodes connected", 1,
                           [](layout::cluster_health const& h) { return double(h.connected_nodes); }},
             cluster_gauge{"cluster_known_nodes", "Number of nodes already seen once in the cluster", 1,
                           [](layout::cluster_health const& h) { return double(h.known_nodes); }},
             cluster_gauge{"cluster_storage_nodes", "Number of storage nodes declared in the current layout",
                           1, [](layout::cluster_health const& h) { return double(h.storage_nodes); }},
             cluster_gauge{"cluster_storage_nodes_ok",
                           "Number of storage nodes to which a connection is established", 1,
                           [](layout::cluster_health const& h) { return double(h.storage_nodes_ok); }},
             cluster_gauge{"cluster_partitions", "Number of partitions in the layout", 256,
                           [](layout::cluster_health const& h) { return double(h.partitions); }},
             cluster_gauge{"cluster_partitions_quorum",
                           "Number of partitions for which we have a quorum of connected nodes", 256,
                           [](layout::cluster_health const& h) { return double(h.partitions_quorum); }},
             cluster_gauge{"cluster_partitions_all_ok",
                           "Number of partitions for which we are connected to all storage nodes", 256,
                           [](layout::cluster_health const& h) { return double(h.partitions_all_ok); }},
         }) {
        if (sys == nullptr) {
            reg.gauge_family(g.name, g.help).with({}).set(g.alone);
        } else {
            reg.computed_gauge_family(g.name, g.help).with({}, [sys, f = g.value] {
                return std::optional<double>(f(sys->health()));
            });
        }
    }

    register_table(reg, model.bucket_table());
    register_table(reg, model.bucket_alias_table());
    register_table(reg, model.key_table());
    register_table(reg, model.object_table());
    register_table(reg, model.mpu_table());
    register_table(reg, model.version_table());
    register_table(reg, model.block_ref_table());

    reg.computed_gauge_family("block_resync_queue_length",
                              "Number of block hashes queued for local check and possible resync")
        .with({}, [&blocks] { return as_gauge(blocks.resync_queue_len()); });
    reg.computed_gauge_family("block_resync_errored_blocks",
                              "Number of block hashes whose last resync resulted in an error")
        .with({}, [&blocks] { return as_gauge(blocks.resync_errors_len()); });
    reg.computed_gauge_family("block_rc_size", "Number of blocks known to the reference counter")
        .with({}, [&blocks] { return as_gauge(blocks.rc_len()); });
    reg.gauge_family("block_compression_level", "Garage compression level for node")
        .with({})
        .set(cfg.compression_level ? static_cast<double>(*cfg.compression_level) : 0.0);
}

worker_variables::worker_variables(std::shared_ptr<block::block_worker_control> control,
                                   util::background_runner const& runner)
    : control_(std::move(control)), runner_(runner)
{
}

std::vector<std::pair<std::string, std::string>> worker_variables::get() const
{
    std::vector<std::pair<std::string, std::string>> out;
    std::string lifecycle = "never";
    for (auto const& w : runner_.list()) {
        if (w.name != "object lifecycle worker") {
            continue;
        }
        for (auto const& line : w.status.freeform) {
            constexpr std::string_view prefix = "last completed: ";
            if (line.starts_with(prefix)) {
                lifecycle = line.substr(prefix.size());
            }
        }
    }
    out.emplace_back("lifecycle-last-completed", lifecycle);
    if (control_) {
        auto const scrub = control_->scrub_snapshot();
        out.emplace_back("resync-tranquility", std::to_string(control_->resync_tranquility()));
        out.emplace_back("resync-worker-count", std::to_string(control_->resync_worker_count()));
        out.emplace_back("scrub-corruptions_detected", std::to_string(scrub.corruptions_detected));
        out.emplace_back("scrub-last-completed", format_msec(scrub.time_last_complete_scrub));
        out.emplace_back("scrub-next-run", format_msec(scrub.time_next_run_scrub));
        out.emplace_back("scrub-tranquility", std::to_string(scrub.tranquility));
    }
    std::sort(out.begin(), out.end());
    return out;
}

util::result<void> worker_variables::set(std::string_view name, std::string_view value)
{
    if (control_) {
        if (name == "resync-tranquility") {
            auto v = parse_u32(name, value);
            if (!v) {
                return v.error();
            }
            return control_->set_resync_tranquility(*v);
        }
        if (name == "resync-worker-count") {
            auto v = parse_u32(name, value);
            if (!v) {
                return v.error();
            }
            return control_->set_resync_worker_count(*v);
        }
        if (name == "scrub-tranquility") {
            auto v = parse_u32(name, value);
            if (!v) {
                return v.error();
            }
            control_->scrub_set_tranquility(*v);
            return {};
        }
    }
    if (name == "lifecycle-last-completed" || name == "scrub-last-completed" || name == "scrub-next-run" ||
        name == "scrub-corruptions_detected") {
        return util::failure(util::error::config_invalid_value,
                             "Worker variable " + std::string(name) + " cannot be set on this node");
    }
    return util::failure(util::error::config_invalid_value, "Unknown worker variable: " + std::string(name));
}

std::string_view s3_endpoint_name(api::http::request_header const& req, std::string_view root_domain)
{
    auto const host = req[boost::beast::http::field::host];
    bool const copy = req.find("x-amz-copy-source") != req.end();
    auto r = api::s3::route_request(req.method_string(), host, req.target(), root_domain, copy);
    if (!r) {
        return "Invalid";
    }
    return api::s3::name(r->ep);
}

} // namespace garage::server
