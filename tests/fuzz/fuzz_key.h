// The fixed signing key shared by the package fuzz target and its seed
// generator, so seeds carry valid signatures and the fuzzer reaches the
// payload rules instead of stopping at the signature check.
#pragma once

#include <string>

#include "hvkit/crypto.h"

namespace hvkit::fuzz {

inline PrivateKey FuzzSigningKey() {
    return PrivateKey::FromRaw(std::string(32, '\x42')).value();
}

}  // namespace hvkit::fuzz
