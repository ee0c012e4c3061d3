// `hvrepo serve`: the development HTTP server over REPO (RepoServer from
// packages/repo_server). Production serves REPO/metadata and REPO/targets
// from any static web server or CDN instead.
//
// Two servers, one per published directory: RepoServer serves everything
// below its root, and REPO also holds private keys (REPO/keys), settings and
// staging, which must never be reachable over HTTP.
#include <csignal>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "hvkit/repo_server.h"
#include "hvrepo/repository.h"

namespace hvrepo_cli {

int RunServe(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, {{"--port", "--bind", "--keys"}, {"--quiet"}, 1});
    if (!args.ok()) return UsageError("serve: " + args.status().message());
    auto port_text = args->One("--port");
    auto bind = args->One("--bind");
    if (!port_text.ok()) return UsageError(port_text.status().message());
    if (!bind.ok()) return UsageError(bind.status().message());
    hvkit::RepoServerOptions options;
    if (*port_text) {
        auto port = ParseInteger("--port", **port_text, 0, 65535);
        if (!port.ok()) return UsageError(port.status().message());
        options.port = static_cast<uint16_t>(*port);
    }
    if (*bind) options.bind_address = **bind;

    // Refuse to serve a directory that is not a repository. The repository
    // is not kept open: publish and rotate-key must run while it is served.
    std::string dir, metadata_dir, targets_dir;
    {
        auto repo = hvkit::repo::Repository::Open(args->positional[0]);
        if (!repo.ok()) return Fail(repo.status().message());
        dir = repo->dir();
        metadata_dir = repo->metadata_dir();
        targets_dir = repo->targets_dir();
    }
    if (!args->Count("--quiet")) {
        options.request_log = [](const hvkit::RepoRequestLog& log) {
            std::cerr << log.remote << " " << log.method << " " << log.target << " " << log.status
                      << " " << log.bytes << "\n";
        };
    }

    // Block the stop signals before the servers start their threads, so they
    // inherit the mask and only sigwait below receives them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    hvkit::RepoServerOptions metadata_options = options;
    metadata_options.root = metadata_dir;
    auto metadata = hvkit::RepoServer::Start(metadata_options);
    if (!metadata.ok()) {
        return Fail("cannot serve " + metadata_options.root + ": " + metadata.status().message());
    }
    hvkit::RepoServerOptions targets_options = options;
    targets_options.root = targets_dir;
    if (options.port != 0) targets_options.port = options.port == 65535 ? 0 : options.port + 1;
    auto targets = hvkit::RepoServer::Start(targets_options);
    if (!targets.ok()) {
        return Fail("cannot serve " + targets_options.root + ": " + targets.status().message());
    }
    std::cout << "serving " << dir << " (development server)\n"
              << "  metadata: " << (*metadata)->base_url() << "/\n"
              << "  targets:  " << (*targets)->base_url() << "/\n"
              << "  trusted root for clients: " << metadata_dir << "/1.root.json\n"
              << "stop with Ctrl-C" << std::endl;
    int signal = 0;
    sigwait(&stop, &signal);
    (*targets)->Stop();
    (*metadata)->Stop();
    std::cout << "hvrepo: stopped (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ")"
              << std::endl;
    return kExitOk;
}

}  // namespace hvrepo_cli
