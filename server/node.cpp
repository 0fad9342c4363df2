#include <server/node.hpp>

#include <garage/api/admin/admin_api.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/block/workers.hpp>
#include <garage/model/lifecycle_worker.hpp>
#include <garage/table/workers.hpp>
#include <garage/util/worker.hpp>

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

} // namespace

struct node::impl {
    util::config cfg;
    boost::asio::io_context ioc;
    boost::asio::thread_pool blocking{2};
    boost::asio::thread_pool background{1};
    std::optional<storage::lmdb_backend> db;
    std::unique_ptr<blocks_type> blocks;
    std::unique_ptr<model_type> model;
    std::unique_ptr<util::background_runner> runner;
    std::unique_ptr<api::s3::s3_api_server<model_type, blocks_type>> s3;
    std::unique_ptr<api::admin::admin_api_server<model_type>> admin;
    std::vector<std::unique_ptr<api::http::server>> servers;
};

node::node(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

node::~node()
{
    if (impl_->runner) {
        impl_->runner->request_stop();
        impl_->runner->wait_stopped();
    }
    impl_->blocking.join();
    impl_->background.join();
}

util::result<std::unique_ptr<node>> node::open(util::config const& cfg)
{
    auto i = std::make_unique<impl>();
    i->cfg = cfg;
    std::error_code ec;
    std::filesystem::create_directories(cfg.metadata_dir, ec);
    if (ec) {
        return util::failure(util::error::io_error,
                             "cannot create metadata_dir " + cfg.metadata_dir.string() + ": " + ec.message());
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
    auto blocks = blocks_type::open(*i->db, bo);
    if (!blocks) {
        return blocks.error();
    }
    i->blocks = std::move(*blocks);

    auto m = model_type::open(*i->db, replication::local{}, replication::local{}, *i->blocks);
    if (!m) {
        return m.error();
    }
    i->model = std::move(*m);

    i->runner = std::make_unique<util::background_runner>(i->background.get_executor());
    i->model->spawn_workers(*i->runner, i->background.get_executor());
    block::spawn_workers(*i->blocks, *i->runner, i->background.get_executor());
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
        auto* s3 = i->s3.get();
        auto srv = std::make_unique<api::http::server>(
            ex, [s3](api::http::exchange& x) -> boost::asio::awaitable<void> { return s3->handle(x); });
        if (auto r = srv->listen(to_http(*cfg.s3_api.api_bind_addr)); !r) {
            return r.error();
        }
        spdlog::info("S3 API listening on {}", describe(*cfg.s3_api.api_bind_addr));
        i->servers.push_back(std::move(srv));
    }
    if (cfg.admin.api_bind_addr) {
        api::admin::admin_settings s;
        s.admin_token = cfg.admin.admin_token;
        s.metrics_token = cfg.admin.metrics_token;
        s.region = cfg.s3_api.s3_region;
        s.s3_root_domain = cfg.s3_api.root_domain.value_or("");
        s.web_root_domain = cfg.s3_web ? cfg.s3_web->root_domain : "";
        i->admin = std::make_unique<api::admin::admin_api_server<model_type>>(*i->model, s);
        auto* admin = i->admin.get();
        auto srv = std::make_unique<api::http::server>(
            ex, [admin](api::http::exchange& x) -> boost::asio::awaitable<void> { return admin->handle(x); });
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
    spdlog::info("Garage node stopped");
}

} // namespace garage::server
