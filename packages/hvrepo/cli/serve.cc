// `hvrepo serve`: the development HTTP server over REPO (RepoServer from
// packages/repo_server). Production serves REPO/metadata and REPO/targets
// from any static web server or CDN instead.
//
// One server on REPO that answers only inside metadata/ and targets/: REPO
// also holds private keys (REPO/keys), settings and staging, which must never
// be reachable over HTTP. URLs are laid out as production serves them.
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
    std::string dir, metadata_dir;
    {
        auto repo = hvkit::repo::Repository::Open(args->positional[0]);
        if (!repo.ok()) return Fail(repo.status().message());
        dir = repo->dir();
        metadata_dir = repo->metadata_dir();
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

    options.root = dir;
    options.served_directories = {"metadata", "targets"};
    auto server = hvkit::RepoServer::Start(options);
    if (!server.ok()) return Fail("cannot serve " + dir + ": " + server.status().message());
    std::cout << "serving " << dir << " (development server)\n"
              << "  metadata: " << (*server)->base_url() << "/metadata/\n"
              << "  targets:  " << (*server)->base_url() << "/targets/\n"
              << "  trusted root for clients: " << metadata_dir << "/1.root.json\n"
              << "stop with Ctrl-C" << std::endl;
    int signal = 0;
    sigwait(&stop, &signal);
    (*server)->Stop();
    std::cout << "hvrepo: stopped (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ")"
              << std::endl;
    return kExitOk;
}

}  // namespace hvrepo_cli
