// hvpkg keygen and hvpkg trust: making signing keys and trust stores.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/package/trust_store.h"

namespace hvpkg {

using namespace hvkit;

namespace {

// KEY.json -> KEY.pub.json; anything else gets ".pub.json" appended.
std::string PublicKeyPath(const std::string& out) {
    const std::string ext = ".json";
    if (out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0) {
        return out.substr(0, out.size() - ext.size()) + ".pub.json";
    }
    return out + ".pub.json";
}

}  // namespace

int RunKeygen(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, {.value_options = {"--out"}, .flags = {}, .positional = 0});
    if (!args.ok()) return Usage("keygen: " + args.status().message());
    auto out = args->Required("--out");
    if (!out.ok()) return Usage("keygen: " + out.status().message());
    std::string pub_path = PublicKeyPath(*out);
    for (const auto& path : {*out, pub_path}) {
        if (PathExists(path)) {
            return Fail(Error(ErrorCode::kConflict,
                              "keygen: refusing to overwrite " + path +
                                  ": keys are never replaced in place; choose another --out"));
        }
    }
    auto key = PrivateKey::Generate();
    if (!key.ok()) return Fail(key.status());
    Status st = key->Save(*out);
    if (st.ok()) st = WriteFileAtomic(pub_path, DumpJson(key->public_key().ToTufJson()) + "\n");
    if (!st.ok()) return Fail(st);
    printf("private key: %s (mode 0600, keep it secret)\npublic key:  %s\nkey ID:      %s\n",
           out->c_str(), pub_path.c_str(), key->KeyId().c_str());
    return kExitOk;
}

int RunTrust(const std::vector<std::string>& argv) {
    auto args = ParseArgs(
        argv, {.value_options = {"--key", "--threshold", "--out"}, .flags = {}, .positional = 0});
    if (!args.ok()) return Usage("trust: " + args.status().message());
    auto out = args->Required("--out");
    if (!out.ok()) return Usage("trust: " + out.status().message());
    auto threshold_text = args->One("--threshold");
    if (!threshold_text.ok()) return Usage("trust: " + threshold_text.status().message());
    int64_t threshold = 1;
    if (*threshold_text) {
        char* end = nullptr;
        threshold = strtoll((*threshold_text)->c_str(), &end, 10);
        if ((*threshold_text)->empty() || *end != '\0') {
            return Usage("trust: --threshold must be a number, not '" + **threshold_text + "'");
        }
    }
    if (args->All("--key").empty()) return Usage("trust: give at least one --key PUBLIC.json");
    std::vector<PublicKey> keys;
    for (const auto& path : args->All("--key")) {
        auto text = ReadFile(path, 64 * 1024);
        if (!text.ok()) return Fail(text.status());
        auto doc = ParseJson(*text, path);
        if (!doc.ok()) return Fail(doc.status());
        // A private key file holds the public key too; only that part is used.
        auto key = PublicKey::FromTufJson(*doc, path);
        if (!key.ok()) return Fail(key.status());
        keys.push_back(*key);
    }
    auto store = PackageTrustStore::Create(keys, threshold);
    if (!store.ok()) return Fail(store.status());
    if (Status st = store->Save(*out); !st.ok()) return Fail(st);
    printf("trust store: %s (%zu key(s), threshold %lld)\n", out->c_str(), store->keys().size(),
           static_cast<long long>(store->threshold()));
    return kExitOk;
}

}  // namespace hvpkg
