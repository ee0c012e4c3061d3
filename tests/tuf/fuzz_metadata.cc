// Fuzz target: TUF metadata parsing (strict JSON, the signed envelope, the
// schema of every role including delegations) and the trusted-root anchor
// check. Whatever a role parser accepts must serialise to a body it accepts
// again, unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hvkit/json.h"
#include "hvkit/signed.h"
#include "hvkit/tuf/metadata.h"
#include "hvkit/tuf/trusted_set.h"

namespace {

void Check(bool condition) {
    if (!condition) abort();
}

template <typename Parse>
void RoundTrip(const hvkit::Json& body, Parse parse) {
    auto meta = parse(body, "fuzz");
    if (!meta.ok()) return;
    hvkit::Json once = hvkit::tuf::ToJson(*meta);
    auto again = parse(once, "fuzz again");
    Check(again.ok());
    Check(hvkit::tuf::ToJson(*again) == once);
    Check(hvkit::CanonicalJson(once).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)hvkit::tuf::TrustedSet::Create(text, 1'900'000'000);
    auto doc = hvkit::ParseJson(text, "metadata", {.max_depth = 64, .max_bytes = 1 << 20});
    if (!doc.ok()) return 0;
    auto env = hvkit::SignedEnvelope::FromJson(*doc, "metadata");
    const hvkit::Json& body = env.ok() ? env->signed_body : *doc;
    RoundTrip(body, hvkit::tuf::ParseRoot);
    RoundTrip(body, hvkit::tuf::ParseTimestamp);
    RoundTrip(body, hvkit::tuf::ParseSnapshot);
    RoundTrip(body, hvkit::tuf::ParseTargets);
    return 0;
}
