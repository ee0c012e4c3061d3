#include "key_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hvkit/fs.h"

namespace hvkit::repo {

namespace {

Status MakePrivateDirectory(const std::string& path) {
    HVKIT_RETURN_IF_ERROR(MakeDirectories(path));
    if (chmod(path.c_str(), 0700) != 0) {
        return Error(ErrorCode::kIo,
                     "cannot restrict " + path + " to mode 0700: " + strerror(errno));
    }
    return Status::Ok();
}

}  // namespace

std::string KeyStore::PathOf(const std::string& role, const std::string& keyid) const {
    return dir_ + "/" + role + "/" + keyid + ".json";
}

bool KeyStore::Has(const std::string& role, const std::string& keyid) const {
    return PathExists(PathOf(role, keyid));
}

Result<std::vector<PrivateKey>> KeyStore::LoadAvailable(
    const std::string& role, const std::vector<std::string>& keyids) const {
    std::vector<PrivateKey> keys;
    for (const auto& keyid : keyids) {
        if (!Has(role, keyid)) continue;
        HVKIT_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Load(PathOf(role, keyid)));
        if (key.KeyId() != keyid) {
            return Error(ErrorCode::kMalformed,
                         PathOf(role, keyid) + " holds key " + key.KeyId() +
                             ", not the key its name says: restore the right file");
        }
        keys.push_back(std::move(key));
    }
    return keys;
}

Status KeyStore::Save(const std::string& role, const PrivateKey& key) const {
    HVKIT_RETURN_IF_ERROR(MakePrivateDirectory(dir_));
    HVKIT_RETURN_IF_ERROR(MakePrivateDirectory(dir_ + "/" + role));
    return key.Save(PathOf(role, key.KeyId()));
}

Status KeyStore::Retire(const std::string& role, const std::string& keyid) const {
    const std::string from = PathOf(role, keyid);
    if (!PathExists(from)) return Status::Ok();  // kept elsewhere (offline): nothing to move
    const std::string retired = dir_ + "/retired";
    HVKIT_RETURN_IF_ERROR(MakePrivateDirectory(retired));
    const std::string to = retired + "/" + role + "-" + keyid + ".json";
    if (rename(from.c_str(), to.c_str()) != 0) {
        return Error(ErrorCode::kIo,
                     "cannot move revoked key " + from + " to " + to + ": " + strerror(errno));
    }
    return SyncDirectory(retired);
}

}  // namespace hvkit::repo
