// The control socket's protocol: one JSON request object per line, one JSON
// response object per line. Pure: no sockets here, so every rule is
// unit-tested.
#include "control/control.h"

namespace hvkit::hvmm {

namespace {

struct NamedCommand {
    const char* name;
    ControlCommand command;
};

constexpr NamedCommand kCommands[] = {
    {"status", ControlCommand::kStatus},
    {"pause", ControlCommand::kPause},
    {"resume", ControlCommand::kResume},
    {"shutdown", ControlCommand::kShutdown},
    {"filter-attach", ControlCommand::kFilterAttach},
    {"takeover", ControlCommand::kTakeover},
};

std::string KnownCommands() {
    std::string out;
    for (const auto& c : kCommands) {
        if (!out.empty()) out += ", ";
        out += c.name;
    }
    return out;
}

}  // namespace

Result<ControlRequest> ParseControlRequest(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxControlLine) {
        return Error(ErrorCode::kTooLarge, "request line is longer than " +
                                               std::to_string(kMaxControlLine) +
                                               " bytes; send one JSON object per line");
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
        return Error(ErrorCode::kMalformed,
                     "empty request line; send a JSON object such as {\"cmd\":\"status\"}");
    }
    auto parsed =
        ParseJson(line, "request", JsonLimits{.max_depth = 8, .max_bytes = kMaxControlLine});
    if (!parsed.ok()) {
        return Error(ErrorCode::kMalformed, "request is not valid JSON (" +
                                                parsed.status().message() +
                                                "); send one JSON object per line");
    }
    const Json& request = *parsed;
    if (!request.is_object()) {
        return Error(
            ErrorCode::kInvalidArgument,
            std::string("request must be a JSON object; got ") + JsonTypeName(request.type()));
    }
    const Json* cmd = request.Find("cmd");
    if (cmd == nullptr) {
        return Error(ErrorCode::kInvalidArgument,
                     "request lacks \"cmd\"; known commands: " + KnownCommands());
    }
    if (!cmd->is_string()) {
        return Error(ErrorCode::kInvalidArgument,
                     std::string("\"cmd\" must be a string; got ") + JsonTypeName(cmd->type()));
    }
    ControlRequest parsed_request;
    bool known = false;
    for (const auto& c : kCommands) {
        if (cmd->as_string() == c.name) {
            parsed_request.command = c.command;
            known = true;
        }
    }
    for (const auto& [key, value] : request.as_object()) {
        if (key == "cmd") continue;
        if (key == "binary" && known && parsed_request.command == ControlCommand::kTakeover) {
            if (!value.is_string() || value.as_string().empty() || value.as_string()[0] != '/') {
                return Error(ErrorCode::kInvalidArgument,
                             "takeover's \"binary\" must be an absolute path to an hvmm");
            }
            parsed_request.binary = value.as_string();
            continue;
        }
        if (key == "trial_ms" && known && parsed_request.command == ControlCommand::kTakeover) {
            if (!value.is_int() || value.as_int() <= 0 || value.as_int() > 3600000) {
                return Error(ErrorCode::kInvalidArgument,
                             "takeover's \"trial_ms\" must be milliseconds from 1 to 3600000");
            }
            parsed_request.trial_ms = value.as_int();
            continue;
        }
        return Error(ErrorCode::kInvalidArgument,
                     "request has unknown member \"" + key +
                         "\"; a request is {\"cmd\":NAME} only (takeover may add \"binary\" and "
                         "\"trial_ms\")");
    }
    if (known) return parsed_request;
    return Error(ErrorCode::kInvalidArgument,
                 "unknown cmd \"" + cmd->as_string() + "\"; known commands: " + KnownCommands());
}

std::string ControlOkResponse() {
    Json r = Json::MakeObject();
    r["ok"] = Json(true);
    return DumpJson(r, 0);
}

std::string ControlStatusResponse(const VmStatusReport& report) {
    Json r = Json::MakeObject();
    r["ok"] = Json(true);
    r["state"] = Json(report.paused ? "paused" : "running");
    r["pid"] = Json(report.pid);
    r["vcpus"] = Json(report.vcpus);
    r["memory_bytes"] = Json(report.memory_bytes);
    r["uptime_s"] = Json(report.uptime_s);
    r["version"] = Json(report.version);
    Json devices = Json::MakeArray();
    for (const auto& name : report.devices) devices.Push(Json(name));
    r["devices"] = std::move(devices);
    // The hypervisor update work fills this in (see VmStatusReport).
    if (!report.committed_version.empty()) {
        r["committed_version"] = Json(report.committed_version);
    }
    if (!report.took_over.is_null()) r["took_over"] = report.took_over;
    if (!report.takeover.is_null()) r["takeover"] = report.takeover;
    return DumpJson(r, 0);
}

std::string ControlErrorResponse(std::string_view message) {
    Json r = Json::MakeObject();
    r["ok"] = Json(false);
    r["error"] = Json(message);
    return DumpJson(r, 0);
}

std::string ControlFilterAttachResponse(const FilterAttachment& a) {
    Json r = Json::MakeObject();
    r["ok"] = Json(true);
    r["region_size"] = Json(a.region_size);
    r["abi_major"] = Json(a.abi_major);
    r["abi_minor"] = Json(a.abi_minor);
    return DumpJson(r, 0);
}

Status ControlTarget::Takeover(const std::string& binary, int64_t trial_ms) {
    (void)binary;
    (void)trial_ms;
    return Error(ErrorCode::kConflict, "takeover: this hvmm cannot hand its guest over");
}

Result<FilterAttachment> ControlTarget::AttachFilter() {
    return Error(ErrorCode::kNotFound,
                 "filter-attach: this VM has no filter rings; start hvmm with --filter-rings SIZE");
}

ControlReply HandleControlRequest(std::string_view line, ControlTarget& target) {
    ControlReply reply;
    auto command = ParseControlRequest(line);
    if (!command.ok()) {
        reply.line = ControlErrorResponse(command.status().message());
        return reply;
    }
    switch (command->command) {
        case ControlCommand::kStatus:
            reply.line = ControlStatusResponse(target.Report());
            return reply;
        case ControlCommand::kPause: {
            Status st = target.Pause();
            reply.line = st.ok() ? ControlOkResponse() : ControlErrorResponse(st.message());
            return reply;
        }
        case ControlCommand::kResume:
            target.Resume();
            reply.line = ControlOkResponse();
            return reply;
        case ControlCommand::kShutdown:
            target.Shutdown();
            reply.line = ControlOkResponse();
            return reply;
        case ControlCommand::kFilterAttach: {
            auto attachment = target.AttachFilter();
            if (!attachment.ok()) {
                reply.line = ControlErrorResponse(attachment.status().message());
                return reply;
            }
            reply.line = ControlFilterAttachResponse(*attachment);
            for (UniqueFd& fd : attachment->fds) reply.fds.push_back(std::move(fd));
            return reply;
        }
        case ControlCommand::kTakeover: {
            Status st = target.Takeover(command->binary, command->trial_ms);
            reply.line = st.ok() ? ControlOkResponse() : ControlErrorResponse(st.message());
            return reply;
        }
    }
    reply.line = ControlErrorResponse("unhandled command");
    return reply;
}

std::string HandleControlLine(std::string_view line, ControlTarget& target) {
    return HandleControlRequest(line, target).line;
}

}  // namespace hvkit::hvmm
