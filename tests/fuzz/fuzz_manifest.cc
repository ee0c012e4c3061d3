// Fuzz target: the manifest parser (strict JSON, the signed envelope, the
// manifest schema, semantic versions, the trust store format). Anything the
// schema accepts must survive a round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hvkit/json.h"
#include "hvkit/package/manifest.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/semver.h"
#include "hvkit/signed.h"

namespace {

void Check(bool condition) {
    if (!condition) abort();
}

void RoundTrip(const hvkit::Manifest& m) {
    hvkit::Json body = m.ToJson();
    auto canonical = hvkit::CanonicalJson(body);
    Check(canonical.ok());
    auto again = hvkit::Manifest::FromJson(body, "round trip");
    Check(again.ok());
    Check(again->files == m.files && again->name == m.name && again->version == m.version);
    auto reparsed = hvkit::ParseJson(*canonical, "canonical");
    Check(reparsed.ok() && *reparsed == body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (size < 128) {
        auto v = hvkit::SemVer::Parse(text, "version");
        if (v.ok()) {
            auto again = hvkit::SemVer::Parse(v->ToString(), "version");
            Check(again.ok() && *again == *v && again->ToString() == v->ToString());
        }
    }
    auto doc = hvkit::ParseJson(text, "manifest.json", {.max_depth = 64, .max_bytes = 1 << 20});
    if (!doc.ok()) return 0;
    if (auto m = hvkit::Manifest::FromJson(*doc, "manifest"); m.ok()) RoundTrip(*m);
    if (auto env = hvkit::SignedEnvelope::FromJson(*doc, "manifest"); env.ok()) {
        if (auto m = hvkit::Manifest::FromJson(env->signed_body, "manifest"); m.ok()) RoundTrip(*m);
    }
    if (auto trust = hvkit::PackageTrustStore::FromJson(*doc, "trust"); trust.ok()) {
        auto again = hvkit::PackageTrustStore::FromJson(trust->ToJson(), "trust");
        Check(again.ok() && again->ToJson() == trust->ToJson());
    }
    return 0;
}
