// callbacks.hpp - the libmilter side of bounceguard-milter: the smfiDesc to register and the
// snapshot every new connection starts from (swapped by a reload).
#pragma once

#include <memory>

#include <libmilter/mfapi.h>

#include "session.hpp"

namespace bg::milter {

// The filter description (name, flags, callbacks) for smfi_register.
smfiDesc& filter_description();

// The snapshot the next connection gets; set before smfi_main and on reload.
void set_current_snapshot(std::shared_ptr<const Snapshot> snapshot);
std::shared_ptr<const Snapshot> current_snapshot();

}  // namespace bg::milter
