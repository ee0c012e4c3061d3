// RepoServer on cpprestsdk's http_listener: the only translation unit of the
// server that includes cpprestsdk. Everything cpprestsdk throws is caught here.
#include "hvkit/repo_server.h"

#include <cpprest/containerstream.h>
#include <cpprest/details/http_server_api.h>
#include <cpprest/filestream.h>
#include <cpprest/http_listener.h>

#include <boost/system/system_error.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <set>
#include <vector>

#include "free_port.h"
#include "static_files.h"

namespace hvkit {

namespace {

namespace http = web::http;
using http::experimental::listener::http_listener;

// What request handlers share; it outlives the listener for replies still in
// flight when Stop() returns.
struct Site {
    std::string root;  // canonical
    std::vector<std::string> served_directories;
    std::function<void(const RepoRequestLog&)> request_log;
    std::mutex log_mu;

    void Log(const RepoRequestLog& entry) {
        if (!request_log) return;
        std::lock_guard<std::mutex> lock(log_mu);
        try {
            request_log(entry);
        } catch (...) {
            // A logging failure must not take the server down.
        }
    }
};

// Sends (response) and observes the outcome: a client that went away makes the
// reply task fail, and an unobserved pplx exception terminates the process.
void ReplyQuietly(const http::http_request& request, const http::http_response& response) {
    try {
        request.reply(response).then([](pplx::task<void> sent) {
            try {
                sent.get();
            } catch (...) {
            }
        });
    } catch (...) {
    }
}

// A body stream over (bytes). Built on a byte vector because cpprestsdk's
// string-backed streams reinterpret a char buffer as a uint8_t one (UBSan
// flags it).
concurrency::streams::istream BytesBody(const std::string& bytes) {
    return concurrency::streams::bytestream::open_istream(
        std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

http::http_response TextResponse(int status, const std::string& text) {
    http::http_response response(static_cast<http::status_code>(status));
    response.set_body(BytesBody(text), text.size(), "text/plain; charset=utf-8");
    return response;
}

// Streams (answer.length) bytes of (answer.file) from (answer.offset) without
// reading the file whole: cpprestsdk pulls from the file stream in 4 KiB steps.
void ReplyWithFile(const http::http_request& request, http::http_response response,
                   const repo::StaticAnswer& answer) {
    auto replied = std::make_shared<std::atomic<bool>>(false);
    concurrency::streams::fstream::open_istream(answer.file)
        .then([request, response, answer, replied](concurrency::streams::istream body) mutable {
            if (answer.offset > 0 &&
                body.seek(answer.offset) != static_cast<std::streamoff>(answer.offset)) {
                throw std::runtime_error("cannot seek in " + answer.file);
            }
            response.set_body(body, static_cast<utility::size64_t>(answer.length),
                              answer.content_type);
            replied->store(true);
            return request.reply(response);
        })
        .then([request, replied](pplx::task<void> sent) {
            try {
                sent.get();
            } catch (...) {
                if (!replied->load())
                    ReplyQuietly(request, TextResponse(500, "cannot read the file\n"));
            }
        });
}

void HandleRequest(Site& site, const http::http_request& request) {
    RepoRequestLog log;
    log.remote = request.remote_address();
    log.method = request.method();
    log.target = request.request_uri().to_string();
    auto range_header = request.headers().find("Range");
    const std::string* range = nullptr;
    if (range_header != request.headers().end()) {
        log.range = range_header->second;
        range = &range_header->second;
    }

    bool head = request.method() == http::methods::HEAD;
    if (request.method() != http::methods::GET && !head) {
        http::http_response response = TextResponse(405, "only GET and HEAD are served\n");
        response.headers().add("Allow", "GET, HEAD");
        log.status = 405;
        site.Log(log);
        ReplyQuietly(request, response);
        return;
    }

    repo::StaticAnswer answer = repo::AnswerStaticFile(site.root, request.request_uri().path(),
                                                       range, site.served_directories);
    log.status = answer.status;
    if (answer.status != 200 && answer.status != 206) {
        http::http_response response =
            head ? http::http_response(answer.status) : TextResponse(answer.status, answer.text);
        if (!answer.content_range.empty())
            response.headers().add("Content-Range", answer.content_range);
        log.bytes = head ? 0 : static_cast<int64_t>(answer.text.size());
        site.Log(log);
        ReplyQuietly(request, response);
        return;
    }

    http::http_response response(static_cast<http::status_code>(answer.status));
    response.headers().add("Accept-Ranges", "bytes");
    if (!answer.content_range.empty())
        response.headers().add("Content-Range", answer.content_range);
    log.bytes = head ? 0 : answer.length;
    site.Log(log);
    if (head) {
        // cpprestsdk writes "Content-Length: 0" for a response without a body
        // and always sends Content-Length bytes of a body it has. So a HEAD
        // answer carries the real length over an empty body: the headers go
        // out, cpprestsdk finds the body stream dry and closes the connection
        // (announced with Connection: close), sending no body byte.
        response.headers().add("Connection", "close");
        response.set_body(BytesBody(""), static_cast<utility::size64_t>(answer.length),
                          answer.content_type);
        ReplyQuietly(request, response);
        return;
    }
    ReplyWithFile(request, response, answer);
}

// cpprestsdk keeps one server object per process. It remembers every
// host:port it ever listened on and binds them all again whenever it restarts
// (when a listener opens while none is open), so a port of a stopped server
// that someone else took since would make every later Start fail. Guarded by
// g_mu: the listeners of this process are all RepoServers.
std::mutex g_mu;
std::set<uint16_t> g_ports;  // ports of running RepoServers

void ForgetStoppedListenersLocked() {
    using http::experimental::details::http_server_api;
    if (http_server_api::has_listener()) return;
    try {
        http_server_api::unregister_server_api();  // the next open creates a fresh server
    } catch (...) {
    }
}

std::string UrlHost(const std::string& bind_address) {
    return bind_address == "0.0.0.0" ? "127.0.0.1" : bind_address;
}

}  // namespace

struct RepoServer::Impl {
    std::shared_ptr<Site> site;
    std::unique_ptr<http_listener> listener;
    std::string host;
    uint16_t port = 0;
    bool stopped = false;
};

RepoServer::RepoServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RepoServer::~RepoServer() {
    Stop();
}

uint16_t RepoServer::port() const {
    return impl_->port;
}

std::string RepoServer::base_url() const {
    return "http://" + UrlHost(impl_->host) + ":" + std::to_string(impl_->port);
}

Result<std::unique_ptr<RepoServer>> RepoServer::Start(const RepoServerOptions& options) {
    char resolved[PATH_MAX];
    struct stat st;
    if (options.root.empty() || realpath(options.root.c_str(), resolved) == nullptr ||
        stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Error(ErrorCode::kInvalidArgument,
                     "repository server: root '" + options.root + "' is not a directory");
    }
    if (options.bind_address.empty() || options.bind_address.find(':') != std::string::npos) {
        return Error(ErrorCode::kInvalidArgument,
                     "repository server: cannot listen on '" + options.bind_address +
                         "': give an IPv4 address or a host name (cpprestsdk's listener does "
                         "not take IPv6 literals)");
    }
    auto site = std::make_shared<Site>();
    site->root = resolved;
    site->request_log = options.request_log;
    site->served_directories = options.served_directories;

    std::lock_guard<std::mutex> lock(g_mu);
    ForgetStoppedListenersLocked();
    const int attempts = options.port == 0 ? 20 : 1;
    Status last;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        uint16_t port = options.port;
        if (port == 0) {
            HVKIT_ASSIGN_OR_RETURN(port, repo::ProbeFreePort(options.bind_address));
        }
        std::string where = options.bind_address + ":" + std::to_string(port);
        if (g_ports.count(port) != 0) {
            // Registering a taken host:port makes cpprestsdk drop the running
            // listener's socket, so never ask it to.
            last = Error(ErrorCode::kConflict, "repository server: port " + std::to_string(port) +
                                                   " is already served by this process");
            continue;
        }
        try {
            auto listener = std::make_unique<http_listener>(web::uri("http://" + where + "/"));
            listener->support([site](http::http_request request) {
                try {
                    HandleRequest(*site, request);
                } catch (...) {
                    ReplyQuietly(request, TextResponse(500, "internal error\n"));
                }
            });
            listener->open().get();
            auto impl = std::make_unique<Impl>();
            impl->site = site;
            impl->listener = std::move(listener);
            impl->host = options.bind_address;
            impl->port = port;
            g_ports.insert(port);
            return std::unique_ptr<RepoServer>(new RepoServer(std::move(impl)));
        } catch (const boost::system::system_error& e) {
            ErrorCode code = e.code().value() == EADDRINUSE ? ErrorCode::kConflict : ErrorCode::kIo;
            last = Error(code, "repository server: cannot listen on " + where + ": " + e.what());
        } catch (const std::exception& e) {
            last = Error(ErrorCode::kIo,
                         "repository server: cannot listen on " + where + ": " + e.what());
        }
        ForgetStoppedListenersLocked();
    }
    return last;
}

void RepoServer::Stop() {
    std::lock_guard<std::mutex> lock(g_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    try {
        impl_->listener->close().get();
    } catch (...) {
    }
    impl_->listener.reset();
    g_ports.erase(impl_->port);
}

}  // namespace hvkit
