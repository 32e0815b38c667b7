// callbacks.hpp - the libmilter side of bounceguard-milter: the smfiDesc to register and the
// snapshot every new connection starts from (swapped by a reload).
#pragma once

#include <memory>

#include <libmilter/mfapi.h>

#include "session.hpp"

namespace bg::milter {

// The filter description (name, flags, callbacks) for smfi_register.
smfiDesc& filter_description();

// Whether new connections negotiate the DATA step with an answer (default: DATA is not sent).
// Over TCP it must be on. Postfix hands the milter connection from smtpd(8) to cleanup(8) at
// DATA: smtpd's last packet (the DATA macros) is written without a command that waits for an
// answer, so the milter's TCP stack delays its acknowledgement (up to 40 ms); cleanup's next
// write, the message content up to end of message, is small and waits for that acknowledgement
// under Nagle's algorithm, which Postfix leaves on. An answer to DATA carries the
// acknowledgement at once. A unix socket has no such delay, and the step is not asked for.
void set_answer_data(bool on);

// The snapshot the next connection gets; set before smfi_main and on reload.
void set_current_snapshot(std::shared_ptr<const Snapshot> snapshot);
std::shared_ptr<const Snapshot> current_snapshot();

}  // namespace bg::milter
