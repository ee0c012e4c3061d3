// `hvrepo serve`: the development HTTP server over REPO (RepoServer from
// packages/repo_server). Production serves REPO/metadata and REPO/targets
// from any static web server or CDN instead.
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

    // Refuse to serve a directory that is not a repository.
    auto repo = hvkit::repo::Repository::Open(args->positional[0]);
    if (!repo.ok()) return Fail(repo.status().message());
    options.root = repo->dir();
    if (!args->Count("--quiet")) {
        options.request_log = [](const hvkit::RepoRequestLog& log) {
            std::cerr << log.remote << " " << log.method << " " << log.target << " " << log.status
                      << " " << log.bytes << "\n";
        };
    }

    // Block the stop signals before the server starts its threads, so they
    // inherit the mask and only sigwait below receives them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    auto server = hvkit::RepoServer::Start(options);
    if (!server.ok()) return Fail("cannot serve " + repo->dir() + ": " + server.status().message());
    const std::string base = (*server)->base_url();
    std::cout << "serving " << repo->dir() << " on " << base << "\n"
              << "  metadata: " << base << "/metadata/\n"
              << "  targets:  " << base << "/targets/\n"
              << "  trusted root for clients: " << repo->metadata_dir() << "/1.root.json\n"
              << "stop with Ctrl-C" << std::endl;
    int signal = 0;
    sigwait(&stop, &signal);
    (*server)->Stop();
    std::cout << "hvrepo: stopped (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ")"
              << std::endl;
    return kExitOk;
}

}  // namespace hvrepo_cli
