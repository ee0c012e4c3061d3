#include "commands.h"

#include <cstdio>
#include <ctime>
#include <iostream>

#include "args.h"
#include "hvkit/clock.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvrepo/repository.h"

namespace hvrepo_cli {

namespace {

using hvkit::repo::Repository;

int Fail(const hvkit::Status& status) {
    return hvrepo_cli::Fail(status.message());
}

std::string Short(const std::string& keyid) {
    return keyid.substr(0, 16);
}

// Parses (argv) for (spec) plus the --keys option every command takes.
hvkit::Result<Args> Parse(const std::vector<std::string>& argv, CommandSpec spec) {
    spec.value_options.insert("--keys");
    return ParseArgs(argv, spec);
}

hvkit::Result<Repository> OpenRepository(const Args& args) {
    HVKIT_ASSIGN_OR_RETURN(auto keys, args.One("--keys"));
    hvkit::repo::RepositoryOptions options;
    options.keys_dir = keys.value_or("");
    return Repository::Open(args.positional[0], options);
}

// Root is not renewed by publish (its keys stay offline): warn a month ahead.
void PrintRootExpiryWarning(const Repository& repo) {
    auto status = repo.Describe();
    if (!status.ok()) return;
    const int64_t expires = status->roles.front().expires;  // root
    if (expires - hvkit::RealClock().UnixSeconds() < 30 * 24 * 60 * 60) {
        std::cerr << "hvrepo: warning: root expires at " << hvkit::tuf::FormatTufTime(expires)
                  << "; renew it with `hvrepo renew-root " << repo.dir()
                  << " --keys ROOT_KEYS_DIR`\n";
    }
}

}  // namespace

int Fail(const std::string& message) {
    std::cerr << "hvrepo: " << message << "\n";
    return kExitFailed;
}

int UsageError(const std::string& message) {
    std::cerr << "hvrepo: " << message << "\n(see `hvrepo --help`)\n";
    return kExitUsage;
}

int RunInit(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{"--threshold", "--keys-per-role", "--expires"}, {}, 1});
    if (!args.ok()) return UsageError("init: " + args.status().message());
    hvkit::repo::InitOptions init;
    std::map<std::string, int64_t> keys_per_role;
    for (const auto& v : args->All("--threshold")) {
        if (auto st = ParseRoleNumber("--threshold", v, init.thresholds); !st.ok()) {
            return UsageError(st.message());
        }
    }
    for (const auto& v : args->All("--keys-per-role")) {
        if (auto st = ParseRoleNumber("--keys-per-role", v, keys_per_role); !st.ok()) {
            return UsageError(st.message());
        }
    }
    for (const auto& [role, n] : keys_per_role) init.keys_per_role[role] = static_cast<int>(n);
    for (const auto& v : args->All("--expires")) {
        if (auto st = ParseRoleNumber("--expires", v, init.expires_days); !st.ok()) {
            return UsageError(st.message());
        }
    }
    auto keys = args->One("--keys");
    if (!keys.ok()) return UsageError(keys.status().message());
    hvkit::repo::RepositoryOptions options;
    options.keys_dir = keys->value_or("");
    auto repo = Repository::Init(args->positional[0], init, options);
    if (!repo.ok()) return Fail(repo.status());
    std::cout << "initialised TUF repository " << repo->dir() << "\n"
              << "  metadata: " << repo->metadata_dir()
              << " (root, targets, snapshot, timestamp v1)\n"
              << "  targets:  " << repo->targets_dir() << "\n"
              << "  keys:     " << repo->keys_dir() << " (private: keep them safe, root offline)\n";
    return kExitOk;
}

int RunAdd(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{"--name", "--custom"}, {}, 2});
    if (!args.ok()) return UsageError("add: " + args.status().message());
    auto name = args->One("--name");
    auto custom_text = args->One("--custom");
    if (!name.ok()) return UsageError(name.status().message());
    if (!custom_text.ok()) return UsageError(custom_text.status().message());
    hvkit::Json custom;
    if (*custom_text) {
        auto parsed = hvkit::ParseJson(**custom_text, "--custom");
        if (!parsed.ok()) return UsageError(parsed.status().message());
        custom = std::move(*parsed);
    }
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    const std::string& file = args->positional[1];
    auto target = repo->AddTarget(file, name->value_or(""), custom);
    if (!target.ok()) return Fail(target.status());
    std::string shown = name->value_or(file.substr(file.find_last_of('/') + 1));
    std::cout << "staged " << shown << " (" << target->length << " bytes, sha256 "
              << target->hashes.at("sha256") << ")\n"
              << "publish it with `hvrepo publish " << repo->dir() << "`\n";
    return kExitOk;
}

int RunRemove(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{}, {}, 2});
    if (!args.ok()) return UsageError("remove: " + args.status().message());
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    if (auto st = repo->RemoveTarget(args->positional[1]); !st.ok()) return Fail(st);
    std::cout << "staged the removal of " << args->positional[1] << "\n";
    return kExitOk;
}

int RunPublish(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{}, {}, 1});
    if (!args.ok()) return UsageError("publish: " + args.status().message());
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    auto report = repo->Publish();
    if (!report.ok()) return Fail(report.status());
    PrintRootExpiryWarning(*repo);
    std::cout << "published targets v" << report->targets_version
              << (report->targets_changed ? " (changed)" : "") << ", snapshot v"
              << report->snapshot_version << ", timestamp v" << report->timestamp_version << "\n";
    return kExitOk;
}

int RunRotateKey(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{"--role", "--revoke", "--threshold"}, {"--add"}, 1});
    if (!args.ok()) return UsageError("rotate-key: " + args.status().message());
    auto role = args->One("--role");
    auto threshold = args->One("--threshold");
    if (!role.ok()) return UsageError(role.status().message());
    if (!threshold.ok()) return UsageError(threshold.status().message());
    if (!*role) return UsageError("rotate-key: --role ROLE is required");
    hvkit::repo::KeyRotation rotation;
    rotation.role = **role;
    rotation.revoke = args->All("--revoke");
    rotation.add = args->Count("--add");
    if (*threshold) {
        auto n = ParseInteger("--threshold", **threshold, 1, 16);
        if (!n.ok()) return UsageError(n.status().message());
        rotation.threshold = *n;
    }
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    auto report = repo->RotateKey(rotation);
    if (!report.ok()) return Fail(report.status());
    std::cout << "published root v" << report->root_version << "\n";
    for (const auto& id : report->added_keyids)
        std::cout << "  added " << rotation.role << " key " << id << "\n";
    for (const auto& id : report->revoked_keyids)
        std::cout << "  revoked " << rotation.role << " key " << id << "\n";
    if (!report->resigned_roles.empty()) {
        std::cout << "  re-signed:";
        for (const auto& r : report->resigned_roles) std::cout << " " << r;
        std::cout << "\n";
    }
    return kExitOk;
}

int RunRenewRoot(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{}, {}, 1});
    if (!args.ok()) return UsageError("renew-root: " + args.status().message());
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    auto report = repo->RenewRoot();
    if (!report.ok()) return Fail(report.status());
    std::cout << "published root v" << report->root_version << " with a fresh expiry\n";
    return kExitOk;
}

int RunStatus(const std::vector<std::string>& argv) {
    auto args = Parse(argv, {{}, {"--json"}, 1});
    if (!args.ok()) return UsageError("status: " + args.status().message());
    auto repo = OpenRepository(*args);
    if (!repo.ok()) return Fail(repo.status());
    auto status = repo->Describe();
    if (!status.ok()) return Fail(status.status());
    if (args->Count("--json")) {
        std::cout << hvkit::DumpJson(hvkit::repo::ToJson(*status)) << "\n";
        return kExitOk;
    }
    std::cout << "repository " << status->dir << " (keys in " << status->keys_dir << ")\n";
    for (const auto& rs : status->roles) {
        const bool expired = rs.expires <= hvkit::RealClock().UnixSeconds();
        std::printf("  %-9s v%-4lld expires %s%s  threshold %lld of %zu key(s), %zu here\n",
                    rs.role.c_str(), static_cast<long long>(rs.version),
                    hvkit::tuf::FormatTufTime(rs.expires).c_str(), expired ? " (EXPIRED)" : "",
                    static_cast<long long>(rs.threshold), rs.keyids.size(), rs.local_keyids.size());
        for (const auto& id : rs.keyids) std::cout << "      key " << Short(id) << "\n";
    }
    std::cout << "  published targets: " << status->targets.size() << "\n";
    for (const auto& [name, file] : status->targets) {
        std::cout << "      " << name << " (" << file.length << " bytes)\n";
    }
    if (status->staged.added.empty() && status->staged.removed.empty()) {
        std::cout << "  nothing staged\n";
    } else {
        std::cout << "  staged for the next publish:\n";
        for (const auto& [name, file] : status->staged.added) {
            std::cout << "      + " << name << " (" << file.length << " bytes)\n";
        }
        for (const auto& name : status->staged.removed) std::cout << "      - " << name << "\n";
    }
    return kExitOk;
}

}  // namespace hvrepo_cli
