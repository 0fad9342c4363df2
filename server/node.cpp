#include <server/node.hpp>
#include <server/node_metrics.hpp>

#include <garage/api/admin/admin_api.hpp>
#include <garage/api/http/request_log.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/k2v/api_server.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/block/exchange.hpp>
#include <garage/storage/group_commit.hpp>
#include <garage/block/workers.hpp>
#include <garage/layout/manager.hpp>
#include <garage/layout/system.hpp>
#include <garage/metrics/api_metrics.hpp>
#include <garage/metrics/registry.hpp>
#include <garage/model/cluster.hpp>
#include <garage/replication/local.hpp>
#include <garage/model/k2v.hpp>
#include <garage/model/lifecycle_worker.hpp>
#include <garage/model/repair.hpp>
#include <garage/rpc/network.hpp>
#include <garage/rpc/node_key.hpp>
#include <garage/rpc/peering.hpp>
#include <garage/rpc/rpc_helper.hpp>
#include <garage/table/workers.hpp>
#include <garage/util/worker.hpp>
#include <garage/web/web_server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <future>
#include <thread>

namespace garage::server {

namespace {

api::http::listen_address to_http(util::listen_address const& a)
{
    if (auto const* s = std::get_if<util::socket_address>(&a)) {
        return api::http::tcp_address{s->ip, s->port};
    }
    return std::get<std::filesystem::path>(a);
}

std::string describe(util::listen_address const& a)
{
    if (auto const* s = std::get_if<util::socket_address>(&a)) {
        return s->to_string();
    }
    return std::get<std::filesystem::path>(a).string();
}

/// The RPC address announced to peers: `rpc_public_addr` when it is an IP literal, otherwise
/// the bound address when it is not a wildcard.
std::optional<boost::asio::ip::tcp::endpoint> public_rpc_address(util::config const& cfg,
                                                                 boost::asio::ip::tcp::endpoint const& bound)
{
    if (cfg.rpc_public_addr) {
        auto const& a = *cfg.rpc_public_addr;
        auto const colon = a.rfind(':');
        if (colon != std::string::npos) {
            auto host = a.substr(0, colon);
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
                host = host.substr(1, host.size() - 2);
            }
            boost::system::error_code ec;
            auto const ip = boost::asio::ip::make_address(host, ec);
            unsigned long port = 0;
            try {
                port = std::stoul(a.substr(colon + 1));
            } catch (...) {
                port = 0;
            }
            if (!ec && port > 0 && port < 65536) {
                return boost::asio::ip::tcp::endpoint(ip, static_cast<std::uint16_t>(port));
            }
        }
        spdlog::warn("rpc_public_addr {} is not an IP literal with a port; not announced", a);
        return std::nullopt;
    }
    if (!bound.address().is_unspecified()) {
        return bound;
    }
    return std::nullopt;
}

} // namespace

/// The K2V tables of the reference server (opened only with a `[k2v_api]` section).
using k2v_type = model::basic_k2v<replication::local, storage::lmdb_backend>;

struct node::impl {
    metrics::registry metrics; // first: the last destroyed (its gauges read what follows)
    util::config cfg;
    boost::asio::io_context ioc;
    boost::asio::thread_pool blocking{2};
    // The background workers; a block resync waits there for the RPC that fetches a block.
    boost::asio::thread_pool background{3};
    // The cluster services (destroyed before the io_context they run on, after the endpoints).
    std::unique_ptr<rpc::network> net;
    std::unique_ptr<rpc::rpc_helper> helper;
    std::unique_ptr<rpc::peering> peering;
    std::unique_ptr<layout::layout_manager> layout;
    std::unique_ptr<layout::system> system;
    std::string rpc_address; // as announced, or as bound
    std::optional<storage::lmdb_backend> db;
    std::unique_ptr<block::block_metrics> block_io_metrics;
    std::unique_ptr<blocks_type> blocks;
    std::unique_ptr<model_type> model;
    // Batches the entries and small blocks that other nodes send (one transaction for many
    // requests); declared before the handlers that use it, so destroyed after them.
    std::unique_ptr<storage::group_committer<storage::lmdb_backend>> rpc_committer;
    std::unique_ptr<block::block_exchange<storage::lmdb_backend, replication::sharded>> exchange;
    std::unique_ptr<model::model_cluster<model_type>> cluster;
    std::unique_ptr<util::background_runner> runner;
    std::shared_ptr<block::block_worker_control> block_control;
    std::unique_ptr<worker_variables> worker_vars;
    std::unique_ptr<api::s3::s3_api_server<model_type, blocks_type>> s3;
    std::unique_ptr<api::admin::admin_api_server<model_type>> admin;
    std::unique_ptr<web::web_server<model_type, blocks_type>> web;
    std::unique_ptr<k2v_type> k2v;
    std::unique_ptr<api::k2v::k2v_api_server<model_type, k2v_type>> k2v_api;
    std::vector<std::unique_ptr<api::http::server>> servers;
    bool workers_waited = false; // run() waited for the workers (with the exit deadline)
};

node::node(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

node::~node()
{
    if (impl_->runner) {
        impl_->runner->request_stop();
        if (!impl_->workers_waited) {
            impl_->runner->wait_stopped();
        }
    }
    impl_->blocking.join();
    // A worker still waiting for an answer of the stopped network holds work on this pool:
    // stop it rather than wait for what will never come.
    impl_->background.stop();
    impl_->background.join();
}

util::result<std::unique_ptr<node>> node::open(util::config const& cfg, bool single_node)
{
    auto i = std::make_unique<impl>();
    i->cfg = cfg;
    std::error_code ec;
    std::filesystem::create_directories(cfg.metadata_dir, ec);
    if (ec) {
        return util::failure(util::error::io_error,
                             "cannot create metadata_dir " + cfg.metadata_dir.string() + ": " + ec.message());
    }
    // The node's identity (Ed25519, `node_key` / `node_key.pub`), created on the first start.
    auto key = rpc::node_key::load_or_create(cfg.metadata_dir);
    if (!key) {
        return key.error();
    }
    spdlog::info("Node ID of this node: {}", key->id().to_hex());

    // The cluster layer: RPC transport (TLS, rpc_secret), peering, layout, membership.
    auto secret = rpc::parse_rpc_secret(cfg.rpc_secret);
    if (!secret) {
        return secret.error();
    }
    rpc::network_options no;
    no.call_timeout = cfg.rpc_timeout_msec;
    i->net = std::make_unique<rpc::network>(i->ioc.get_executor(), *key, std::move(*secret), no);
    boost::system::error_code aec;
    auto const rpc_ip = boost::asio::ip::make_address(cfg.rpc_bind_addr.ip, aec);
    if (aec) {
        return util::failure(util::error::config_invalid_value,
                             "rpc_bind_addr: bad IP " + cfg.rpc_bind_addr.ip);
    }
    auto bound = i->net->listen(boost::asio::ip::tcp::endpoint(rpc_ip, cfg.rpc_bind_addr.port));
    if (!bound) {
        return bound.error();
    }
    spdlog::info("RPC listening on {}:{}", bound->address().to_string(), bound->port());
    rpc::peering_options po;
    po.ping_timeout = cfg.rpc_ping_timeout_msec;
    po.public_address = public_rpc_address(cfg, *bound);
    i->rpc_address =
        cfg.rpc_public_addr.value_or(bound->address().to_string() + ":" + std::to_string(bound->port()));
    // Node preference for quorum calls: self, same zone, lowest ping (pings recorded by peering).
    auto* const ip = i.get();
    i->helper = std::make_unique<rpc::rpc_helper>(
        *i->net, [ip](util::node_id const& n) -> std::optional<std::string> {
            return ip->layout ? ip->layout->zone_of(n) : std::nullopt;
        });
    i->peering = std::make_unique<rpc::peering>(*i->net, i->helper.get(), po);
    auto mgr = layout::layout_manager::open(*i->net, layout::layout_manager_options::from_config(cfg));
    if (!mgr) {
        return mgr.error();
    }
    i->layout = std::move(*mgr);
    i->layout->set_rpc_helper(i->helper.get());
    auto sys =
        layout::system::open(*i->net, *i->peering, *i->layout, layout::system_options::from_config(cfg));
    if (!sys) {
        return sys.error();
    }
    i->system = std::move(*sys);
    if (single_node && i->layout->snapshot()->current().version == 0 &&
        !i->layout->snapshot()->history().has_staged_changes()) {
        // `--single-node`: this node is the whole layout (zone dc1, the data dirs' capacity or 1 TB).
        std::uint64_t capacity = 0;
        for (auto const& d : cfg.data_dir) {
            capacity += d.capacity.value_or(0);
        }
        if (capacity == 0) {
            capacity = 1'000'000'000'000ULL;
        }
        auto const self = key->id();
        layout::assign_options role;
        role.zone = "dc1";
        role.capacity = capacity;
        if (auto r = i->layout->stage_assign(std::span<util::node_id const>(&self, 1), role); !r) {
            return r.error();
        }
        if (auto r = i->layout->apply(1); !r) {
            return r.error();
        }
        spdlog::info("single-node layout applied: version 1, zone dc1, capacity {}", capacity);
    }

    storage::lmdb_options lo;
    lo.path = cfg.metadata_dir / "db.lmdb";
    lo.map_size = cfg.lmdb_map_size;
    lo.fsync = cfg.metadata_fsync;
    auto db = storage::lmdb_backend::open(lo);
    if (!db) {
        return db.error();
    }
    i->db.emplace(std::move(*db));

    block::block_options bo;
    bo.data_dirs = cfg.data_dir;
    bo.metadata_dir = cfg.metadata_dir;
    bo.block_size = cfg.block_size;
    bo.compression_level = cfg.compression_level;
    bo.data_fsync = cfg.data_fsync;
    bo.small_block_max_size = cfg.small_block_max_size;
    // A block referenced here but absent is fetched once its writer had time to send it
    // (Garage: twice the RPC timeout).
    bo.missing_block_delay = 2 * cfg.rpc_timeout_msec;
    auto blocks = blocks_type::open(*i->db, bo);
    if (!blocks) {
        return blocks.error();
    }
    i->blocks = std::move(*blocks);
    i->block_io_metrics = std::make_unique<block::block_metrics>(i->metrics);
    i->blocks->set_metrics(i->block_io_metrics.get());

    auto m = model_type::open(*i->db, replication::full_copy(*i->layout), replication::sharded(*i->layout),
                              *i->blocks);
    if (!m) {
        return m.error();
    }
    i->model = std::move(*m);
    // Before a block whose count is zero is deleted, and by `repair block-rc`: the references
    // are recounted from the block_ref table (Garage's `recalculate_rc`).
    i->blocks->set_rc_recount(model::block_ref_recount(*i->model));

    // The cluster halves: the block RPC (and the resync fetcher) and the replicated tables.
    block::block_exchange_options beo;
    beo.ram_buffer_max = cfg.block_ram_buffer_max;
    i->exchange = std::make_unique<block::block_exchange<storage::lmdb_backend, replication::sharded>>(
        *i->blocks, *i->helper, replication::sharded(*i->layout), i->blocking.get_executor(), beo);
    i->rpc_committer =
        std::make_unique<storage::group_committer<storage::lmdb_backend>>(*i->db, i->blocking.get_executor());
    i->exchange->set_committer(i->rpc_committer.get());
    i->exchange->start();
    i->cluster = std::make_unique<model::model_cluster<model_type>>(*i->model, *i->helper);
    i->cluster->for_each([c = i->rpc_committer.get()](auto& p) { p.table->set_committer(c); });
    i->cluster->set_block_sender([x = i->exchange.get()](util::captured_block b) {
        block::block_put_options o;
        o.stored_here = true;
        return x->put_raw_block(
            b.hash, block::data_block(static_cast<block::block_encoding>(b.encoding), std::move(b.bytes)), o);
    });
    i->cluster->set_alone([l = i->layout.get()] {
        auto const snap = l->snapshot();
        auto const& nodes = snap->all_nodes();
        return nodes.empty() || (nodes.size() == 1 && nodes.front() == l->local_node());
    });
    i->cluster->set_block_getter([x = i->exchange.get()](util::hash32 h) {
        block::block_get_options o;
        o.skip_local = true;
        return x->get_block(h, o);
    });
    i->cluster->start();
    // Anti-entropy at once when a peer comes (back) up and when the layout changes, not only
    // every 10 minutes: a pass whose Merkle roots are equal costs one request per partition.
    i->net->on_link_event([c = i->cluster.get()](rpc::link_event const& e) {
        if (e.up) {
            c->request_full_sync();
        }
    });
    i->layout->subscribe([c = i->cluster.get()](auto const&) { c->request_full_sync(); });
    // A complete pass of every table moves this node's `sync` tracker, so that an old layout
    // version is retired (and its partitions offloaded) once the data reached the new one.
    i->cluster->for_each([mgr = i->layout.get()](auto& p) {
        std::string name(p.table->local().name());
        mgr->register_table(name);
        p.sync->on_pass_complete([mgr, name](table::sync_report const& r) {
            if (r.complete()) {
                mgr->sync_table_until(name, r.layout_version);
            }
        });
    });

    i->runner = std::make_unique<util::background_runner>(i->background.get_executor());
    i->cluster->spawn_workers(*i->runner, i->background.get_executor());
    i->block_control = block::spawn_workers(*i->blocks, *i->runner, i->background.get_executor());
    i->worker_vars = std::make_unique<worker_variables>(i->block_control, *i->runner);
    register_node_metrics(i->metrics, cfg, *i->model, *i->blocks, i->system.get());
    i->runner->spawn(std::make_unique<model::lifecycle_worker<model_type>>(
        *i->model, i->background.get_executor(),
        model::lifecycle_worker_options{.state_file = cfg.metadata_dir / "lifecycle_worker_state"}));

    auto const ex = i->ioc.get_executor();
    if (cfg.s3_api.api_bind_addr) {
        api::s3::s3_settings s;
        s.region = cfg.s3_api.s3_region;
        s.root_domain = cfg.s3_api.root_domain.value_or("");
        s.block_size = cfg.block_size;
        s.block_ram_buffer_max = cfg.block_ram_buffer_max;
        i->s3 = std::make_unique<api::s3::s3_api_server<model_type, blocks_type>>(*i->model, *i->blocks, s,
                                                                                  i->blocking.get_executor());
        i->s3->set_cluster(i->cluster.get());
        auto* s3 = i->s3.get();
        auto s3_metrics = std::make_shared<metrics::api_metrics>(i->metrics, "s3");
        auto observer = [s3_metrics, root = s.root_domain](api::http::request_header const& req,
                                                           api::http::request_record const& r) {
            s3_metrics->record(s3_endpoint_name(req, root), r.status, r.duration);
        };
        auto srv = std::make_unique<api::http::server>(
            ex, api::http::with_request_log(
                    [s3](api::http::exchange& x) -> boost::asio::awaitable<void> { return s3->handle(x); },
                    {"s3", nullptr, std::move(observer)}));
        if (auto r = srv->listen(to_http(*cfg.s3_api.api_bind_addr)); !r) {
            return r.error();
        }
        spdlog::info("S3 API listening on {}", describe(*cfg.s3_api.api_bind_addr));
        i->servers.push_back(std::move(srv));
    }
    if (cfg.s3_web) {
        web::web_settings s;
        s.root_domain = cfg.s3_web->root_domain;
        s.region = cfg.s3_api.s3_region;
        i->web = std::make_unique<web::web_server<model_type, blocks_type>>(*i->model, *i->blocks, s,
                                                                            i->blocking.get_executor());
        i->web->set_cluster(i->cluster.get());
        auto* web = i->web.get();
        auto web_metrics =
            std::make_shared<metrics::api_metrics>(i->metrics, "web", metrics::api_metrics::prefix::bare);
        auto observer = [web_metrics](api::http::request_header const& req,
                                      api::http::request_record const& r) {
            web_metrics->record(req.method_string(), r.status, r.duration);
        };
        auto srv = std::make_unique<api::http::server>(
            ex, api::http::with_request_log(
                    [web](api::http::exchange& x) -> boost::asio::awaitable<void> { return web->handle(x); },
                    {"web", nullptr, std::move(observer)}));
        if (auto r = srv->listen(to_http(cfg.s3_web->bind_addr)); !r) {
            return r.error();
        }
        spdlog::info("Web endpoint listening on {}", describe(cfg.s3_web->bind_addr));
        i->servers.push_back(std::move(srv));
    }
    if (cfg.k2v_api) {
        auto k = k2v_type::open(*i->db, replication::local{});
        if (!k) {
            return k.error();
        }
        i->k2v = std::move(*k);
        i->k2v->spawn_workers(*i->runner, i->background.get_executor());
        api::k2v::k2v_settings s;
        s.region = cfg.s3_api.s3_region;
        i->k2v_api = std::make_unique<api::k2v::k2v_api_server<model_type, k2v_type>>(
            *i->model, *i->k2v, s, i->blocking.get_executor());
        auto* k2v = i->k2v_api.get();
        auto k2v_metrics = std::make_shared<metrics::api_metrics>(i->metrics, "k2v");
        auto observer = [k2v_metrics](api::http::request_header const& req,
                                      api::http::request_record const& r) {
            k2v_metrics->record(req.method_string(), r.status, r.duration);
        };
        auto srv = std::make_unique<api::http::server>(
            ex, api::http::with_request_log(
                    [k2v](api::http::exchange& x) -> boost::asio::awaitable<void> { return k2v->handle(x); },
                    {"k2v", nullptr, std::move(observer)}));
        if (auto r = srv->listen(to_http(cfg.k2v_api->api_bind_addr)); !r) {
            return r.error();
        }
        spdlog::info("K2V API listening on {}", describe(cfg.k2v_api->api_bind_addr));
        i->servers.push_back(std::move(srv));
    }
    if (cfg.admin.api_bind_addr) {
        api::admin::admin_settings s;
        s.admin_token = cfg.admin.admin_token;
        s.metrics_token = cfg.admin.metrics_token;
        s.region = cfg.s3_api.s3_region;
        s.s3_root_domain = cfg.s3_api.root_domain.value_or("");
        s.web_root_domain = cfg.s3_web ? cfg.s3_web->root_domain : "";
        api::admin::admin_node_access access;
        access.metrics = &i->metrics;
        access.layout = i->layout.get();
        access.system = i->system.get();
        access.garage_version = std::string(node_version);
        access.rpc_address = i->rpc_address;
        access.workers = i->runner.get();
        access.get_worker_vars = [v = i->worker_vars.get()] { return v->get(); };
        access.set_worker_var = [v = i->worker_vars.get()](std::string_view n, std::string_view val) {
            return v->set(n, val);
        };
        access.sync_tables = [c = i->cluster.get()]() -> util::result<void> {
            c->request_full_sync();
            return {};
        };
        access.blocks = api::admin::block_access(*i->blocks, i->runner.get(), i->block_control);
        access.repair_model = api::admin::model_repairs(*i->model, *i->blocks, *i->runner, i->cluster.get());
        i->admin =
            std::make_unique<api::admin::admin_api_server<model_type>>(*i->model, s, std::move(access));
        i->admin->set_cluster(i->cluster.get());
        auto* admin = i->admin.get();
        auto admin_metrics = std::make_shared<metrics::api_metrics>(i->metrics, "admin");
        auto observer = [admin_metrics](api::http::request_header const& req,
                                        api::http::request_record const& r) {
            admin_metrics->record(api::admin::admin_endpoint_name(req.method_string(), req.target()),
                                  r.status, r.duration);
        };
        auto srv = std::make_unique<api::http::server>(
            ex,
            api::http::with_request_log(
                [admin](api::http::exchange& x) -> boost::asio::awaitable<void> { return admin->handle(x); },
                {"admin", nullptr, std::move(observer)}));
        if (auto r = srv->listen(to_http(*cfg.admin.api_bind_addr)); !r) {
            return r.error();
        }
        spdlog::info("Admin API listening on {}", describe(*cfg.admin.api_bind_addr));
        i->servers.push_back(std::move(srv));
    }
    return std::unique_ptr<node>(new node(std::move(i)));
}

void node::run()
{
    auto& i = *impl_;
    for (auto& s : i.servers) {
        s->start();
    }
    boost::asio::signal_set signals(i.ioc, SIGINT, SIGTERM);
    signals.async_wait([&i](boost::system::error_code ec, int sig) {
        if (ec) {
            return;
        }
        spdlog::info("received signal {}, shutting down", sig);
        // The workers first, while the network still runs: a worker waiting for a peer's
        // answer gets it (or the link's closing) and then sees the stop.
        i.runner->request_stop();
        i.system->stop();
        i.peering->stop();
        i.net->stop();
        if (i.k2v) {
            i.k2v->subscriptions().close(); // long polls answer now rather than at their timeout
        }
        auto remaining = std::make_shared<std::size_t>(i.servers.size());
        if (*remaining == 0) {
            i.ioc.stop();
        }
        for (auto& s : i.servers) {
            s->stop([&i, remaining] {
                if (--*remaining == 0) {
                    i.ioc.stop();
                }
            });
        }
    });
    boost::asio::co_spawn(i.ioc, i.peering->run(), boost::asio::detached);
    boost::asio::co_spawn(i.ioc, i.system->run(), boost::asio::detached);
    spdlog::info("Garage node started");
    std::vector<std::thread> threads;
    unsigned const n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned t = 1; t < n; ++t) {
        threads.emplace_back([&i] { i.ioc.run(); });
    }
    i.ioc.run();
    for (auto& t : threads) {
        t.join();
    }
    i.runner->request_stop();
    if (!i.runner->wait_stopped()) {
        spdlog::warn("some background workers did not stop within the deadline");
    }
    i.workers_waited = true;
    spdlog::info("Garage node stopped");
}

} // namespace garage::server
