// The host's side of a running machine: control socket and serial input.
#include "host_side.h"

#include <unistd.h>

#include <cerrno>

namespace hvkit::hvmm {

Status HostSide::Start(const std::optional<std::string>& control_path,
                       std::unique_ptr<MachineControlTarget> target) {
    target_ = std::move(target);
    if (control_path) {
        HVKIT_ASSIGN_OR_RETURN(
            server_, ControlServer::Start(*control_path, *target_, machine_.control().eventfd()));
    }
    StartInput();
    return Status::Ok();
}

Status HostSide::StartAdopted(std::optional<ControlSocket> socket, std::vector<UniqueFd> clients,
                              std::unique_ptr<MachineControlTarget> target) {
    target_ = std::move(target);
    if (socket) {
        HVKIT_ASSIGN_OR_RETURN(
            server_, ControlServer::Adopt(std::move(*socket), std::move(clients), *target_,
                                          machine_.control().eventfd()));
    }
    StartInput();
    return Status::Ok();
}

void HostSide::StartInput() {
    serial_ = std::dynamic_pointer_cast<Serial8250>(machine_.FindDevice("serial"));
    if (read_stdin_ && serial_ != nullptr && CanReadWithoutStopping(STDIN_FILENO)) {
        if (!raw_mode_) raw_mode_ = std::make_unique<TerminalRawMode>(STDIN_FILENO);
        input_ =
            std::make_unique<SerialInputPump>(STDIN_FILENO, *serial_, machine_.control().eventfd());
    }
}

void HostSide::Stop() {
    input_.reset();
    raw_mode_.reset();
    server_.reset();
    target_.reset();
}

Status HostSide::Release(std::vector<std::pair<std::string, UniqueFd>>& fds, Json& control) {
    // Serial input stops first: what it has not read stays in stdin, which
    // the successor shares.
    input_.reset();
    control = Json();
    if (!server_) return Status::Ok();
    ControlServer::Released r = server_->Release();
    server_.reset();
    control = Json::MakeObject();
    control["path"] = Json(r.socket.path);
    control["dev"] = Json(static_cast<int64_t>(r.socket.dev));
    control["ino"] = Json(static_cast<int64_t>(r.socket.ino));
    control["started_ns"] = Json(target_->started_ns());  // the VM's uptime goes on
    released_ = ControlSocket{UniqueFd(), r.socket.path, r.socket.dev, r.socket.ino};
    fds.emplace_back("control.listener", std::move(r.socket.fd));
    for (size_t i = 0; i < r.clients.size(); ++i) {
        fds.emplace_back("control.client." + std::to_string(i), std::move(r.clients[i]));
    }
    return Status::Ok();
}

void HostSide::Reclaim(std::vector<std::pair<std::string, UniqueFd>> fds) {
    std::vector<UniqueFd> clients;
    for (auto& [name, fd] : fds) {
        if (name == "control.listener") {
            released_.fd = std::move(fd);
        } else {
            clients.push_back(std::move(fd));
        }
    }
    if (released_.fd.valid()) {
        auto server = ControlServer::Adopt(std::move(released_), std::move(clients), *target_,
                                           machine_.control().eventfd());
        if (server.ok()) {
            server_ = std::move(*server);
        } else {
            fprintf(stderr, "hvmm: the control socket is lost after a failed takeover: %s\n",
                    server.status().message().c_str());
        }
    }
    StartInput();
}

int RunUntilStopped(Machine& machine, HostSide& host, const std::function<void()>& started) {
    StopReason reason = machine.Run(/*handle_host_signals=*/true, started);
    host.Stop();  // joins the threads, restores the terminal, removes the socket
    std::string detail = machine.control().detail();
    fprintf(stderr, "hvmm: VM stopped: %s (%s)\n", StopReasonName(reason), detail.c_str());
    switch (reason) {
        case StopReason::kGuestReset:
        case StopReason::kGuestShutdown:
            return exit_status::kOk;
        case StopReason::kHostRequest:
            return exit_status::kStopped;
        case StopReason::kHandedOver:
            return exit_status::kHandedOver;
        default:
            return exit_status::kFailure;
    }
}

void WriteAll(int fd, std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<size_t>(n);
    }
}

Result<ControlSocket> ControlSocketFromHandover(const Json& control, UniqueFd listener) {
    const Json* path = control.is_object() ? control.Find("path") : nullptr;
    const Json* dev = control.is_object() ? control.Find("dev") : nullptr;
    const Json* ino = control.is_object() ? control.Find("ino") : nullptr;
    if (path == nullptr || !path->is_string() || dev == nullptr || !dev->is_int() ||
        ino == nullptr || !ino->is_int()) {
        return Error(ErrorCode::kMalformed,
                     "handover \"control\" is not {\"path\", \"dev\", \"ino\"}");
    }
    return ControlSocket{std::move(listener), path->as_string(),
                         static_cast<uint64_t>(dev->as_int()),
                         static_cast<uint64_t>(ino->as_int())};
}

}  // namespace hvkit::hvmm
