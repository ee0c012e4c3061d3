#include <ctime>
#include <filesystem>

#include "hvkit/fs.h"
#include "hvrepo/repository.h"
#include "key_store.h"
#include "published_state.h"
#include "release.h"
#include "repository_lock.h"
#include "settings.h"
#include "signing.h"
#include "staging.h"

namespace hvkit::repo {

namespace {

constexpr int kMaxKeysPerRole = 16;
constexpr int64_t kMaxExpiryDays = 100 * 365;
constexpr int64_t kSecondsPerDay = 24 * 60 * 60;

const std::map<std::string, int64_t> kDefaultExpiryDays = {
    {"root", 365}, {"targets", 90}, {"snapshot", 7}, {"timestamp", 1}};

bool IsTopLevelRole(const std::string& role) {
    for (const char* r : kTopLevelRoles) {
        if (role == r) return true;
    }
    return false;
}

template <typename V>
Status CheckRoleNames(const std::map<std::string, V>& values, const std::string& option) {
    for (const auto& [role, value] : values) {
        if (!IsTopLevelRole(role)) {
            return Error(ErrorCode::kInvalidArgument,
                         option + " names unknown role '" + role +
                             "': use one of root, targets, snapshot, timestamp");
        }
    }
    return Status::Ok();
}

template <typename V>
V ValueOr(const std::map<std::string, V>& values, const std::string& key, V fallback) {
    auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
}

Status CheckInitOptions(const InitOptions& init) {
    HVKIT_RETURN_IF_ERROR(CheckRoleNames(init.keys_per_role, "--keys-per-role"));
    HVKIT_RETURN_IF_ERROR(CheckRoleNames(init.thresholds, "--threshold"));
    HVKIT_RETURN_IF_ERROR(CheckRoleNames(init.expires_days, "--expires"));
    for (const char* role : kTopLevelRoles) {
        int keys = ValueOr(init.keys_per_role, role, 1);
        int64_t threshold = ValueOr<int64_t>(init.thresholds, role, 1);
        int64_t days = ValueOr(init.expires_days, role, kDefaultExpiryDays.at(role));
        if (keys < 1 || keys > kMaxKeysPerRole) {
            return Error(ErrorCode::kInvalidArgument,
                         std::string("--keys-per-role ") + role + "=" + std::to_string(keys) +
                             ": a role has 1 to " + std::to_string(kMaxKeysPerRole) + " keys");
        }
        if (threshold < 1 || threshold > keys) {
            return Error(ErrorCode::kInvalidArgument,
                         std::string("--threshold ") + role + "=" + std::to_string(threshold) +
                             ": the threshold must be between 1 and the role's " +
                             std::to_string(keys) + " key(s); raise --keys-per-role " + role +
                             " or lower the threshold");
        }
        if (days < 1 || days > kMaxExpiryDays) {
            return Error(ErrorCode::kInvalidArgument,
                         std::string("--expires ") + role + "=" + std::to_string(days) +
                             ": expiry is 1 to " + std::to_string(kMaxExpiryDays) + " days");
        }
    }
    return Status::Ok();
}

Status RefuseExistingRepository(const std::string& dir) {
    for (const std::string& part :
         {SettingsPath(dir), dir + "/metadata", dir + "/targets", dir + "/staging"}) {
        if (PathExists(part)) {
            return Error(ErrorCode::kConflict, "refusing to init " + dir + ": " + part +
                                                   " exists (a repository is already there); "
                                                   "choose an empty directory");
        }
    }
    return Status::Ok();
}

std::string Absolute(const std::string& path) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    return ec ? path : abs.lexically_normal().string();
}

}  // namespace

int64_t Repository::ExpiryFor(const std::string& role) const {
    return Now() + expires_days_.at(role) * kSecondsPerDay;
}

Result<Repository> Repository::Init(const std::string& dir, const InitOptions& init,
                                    RepositoryOptions options) {
    HVKIT_RETURN_IF_ERROR(CheckInitOptions(init));
    HVKIT_RETURN_IF_ERROR(RefuseExistingRepository(dir));

    Repository repo;
    repo.dir_ = dir;
    repo.keys_dir_ = options.keys_dir.empty() ? dir + "/keys" : options.keys_dir;
    repo.clock_ = options.clock;
    for (const char* role : kTopLevelRoles) {
        repo.expires_days_[role] = ValueOr(init.expires_days, role, kDefaultExpiryDays.at(role));
    }
    HVKIT_RETURN_IF_ERROR(MakeDirectories(dir));
    HVKIT_ASSIGN_OR_RETURN(repo.lock_, RepositoryLock::Acquire(dir));
    HVKIT_RETURN_IF_ERROR(RefuseExistingRepository(dir));  // again, now under the lock
    HVKIT_RETURN_IF_ERROR(MakeDirectories(repo.metadata_dir()));
    HVKIT_RETURN_IF_ERROR(MakeDirectories(repo.targets_dir()));

    KeyStore keys(repo.keys_dir_);
    tuf::RootMeta root;
    root.common = {"root", tuf::kSpecVersion, 1, repo.ExpiryFor("root")};
    root.consistent_snapshot = true;
    for (const char* role : kTopLevelRoles) {
        tuf::RoleKeys& role_keys = root.roles[role];
        role_keys.threshold = ValueOr<int64_t>(init.thresholds, role, 1);
        for (int i = 0; i < ValueOr(init.keys_per_role, role, 1); ++i) {
            HVKIT_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
            HVKIT_RETURN_IF_ERROR(keys.Save(role, key));
            root.keys.emplace(key.KeyId(), key.public_key());
            role_keys.keyids.push_back(key.KeyId());
        }
    }
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope signed_root,
                           SignAsRole(tuf::ToJson(root), "root", root, keys));
    PublishedState state;
    state.root = {root, MetadataFileBytes(signed_root)};
    HVKIT_RETURN_IF_ERROR(WriteRoot(repo.metadata_dir(), 1, state.root.bytes));

    // Version 0 placeholders: the first release makes them version 1.
    state.targets.meta.common.version = 0;
    state.snapshot.meta.common.version = 0;
    state.timestamp.meta.common.version = 0;
    ReleaseContext context{repo.metadata_dir(), &keys,
                           [&repo](const std::string& role) { return repo.ExpiryFor(role); }};
    HVKIT_RETURN_IF_ERROR(Release(context, ReleaseStart::kTargets, state));

    RepositorySettings settings;
    settings.expires_days = repo.expires_days_;
    if (!options.keys_dir.empty()) settings.keys_dir = Absolute(options.keys_dir);
    HVKIT_RETURN_IF_ERROR(SaveSettings(dir, settings));
    return repo;
}

Result<Repository> Repository::Open(const std::string& dir, RepositoryOptions options) {
    HVKIT_ASSIGN_OR_RETURN(RepositorySettings settings, LoadSettings(dir));
    Repository repo;
    HVKIT_ASSIGN_OR_RETURN(repo.lock_, RepositoryLock::Acquire(dir));
    repo.dir_ = dir;
    repo.keys_dir_ = !options.keys_dir.empty()    ? options.keys_dir
                     : !settings.keys_dir.empty() ? settings.keys_dir
                                                  : dir + "/keys";
    repo.clock_ = options.clock;
    repo.expires_days_ = settings.expires_days;
    HVKIT_ASSIGN_OR_RETURN(PublishedState state, LoadPublishedState(repo.metadata_dir()));
    (void)state;  // loaded only to refuse a damaged repository early
    return repo;
}

}  // namespace hvkit::repo
