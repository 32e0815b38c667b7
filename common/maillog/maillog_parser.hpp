// maillog_parser.hpp - mail log lines -> per-recipient delivery records, for Postfix and
// Sendmail. Postfix: "QID: to=<rcpt>, [orig_to=<...>,] relay=..., delay=..., dsn=5.1.1,
// status=bounced (host mx[192.0.2.1] said: 550 ... (in reply to RCPT TO command))" from any
// delivery agent (smtp, lmtp, local, virtual, pipe, error, ...) under any syslog_name
// ("postfix/smtp", "postfix-out/smtp", "postfix/submission/smtp"); status sent, bounced,
// deferred, SOFTBOUNCE, expired. Sendmail (sendmail, sm-mta): "QID: to=<a>,<b>, ..., dsn=5.1.1,
// [reply=550 5.1.1 ...,] stat=User unknown", "stat=Deferred: 450 4.2.1 ...", and the transcript
// forms "QID: <rcpt>... 550 5.1.1 ..." / "QID: <<< 550 5.1.1 ..." whose reply a later to= line
// without one takes over.
// Lines of one queue id are joined: the sender (Postfix qmgr/pickup "from=<...>", Sendmail's
// "from=" line) and the Message-ID (Postfix cleanup, Sendmail msgid=) are remembered per queue id
// in a table with a fixed capacity; past it the oldest entries are forgotten (their records then
// have no sender).
// LIMITATION: without a program name (`journalctl -o cat`) Postfix's cleanup lines cannot be told
// from a delivery agent's: a message refused whole by a milter at end of data is then read as a
// bounce of its recipients. Use a prefix that names the program (the default, or -o short-iso).
// SECURITY: every line is untrusted: the caller caps its length; the scanners are linear and
// bounded; remembered state is capped (MaillogLimits). Nothing here trusts a line to be well
// formed: anything unexpected makes the line Unknown.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "maillog/syslog_line.hpp"
#include "store/records.hpp"

namespace bg::maillog {

enum class Mta { Postfix, Sendmail };
std::string_view to_string(Mta m) noexcept;

// What a delivery attempt came to, as the log says.
enum class DeliveryStatus { Sent, Bounced, Deferred, SoftBounce, Expired };
std::string_view to_string(DeliveryStatus s) noexcept;  // "sent", "bounced", ...

struct DeliveryRecord {
    Mta mta = Mta::Postfix;
    std::string agent;            // "postfix/smtp", "sm-mta"
    UnixTime time = 0;            // from the line's timestamp (0 when it has none)
    std::string queue_id;
    std::string recipient;        // as logged, without the angle brackets ("" for Postfix expired)
    std::string orig_recipient;   // Postfix orig_to=, when logged
    std::string sender;           // joined from the queue id's from= line ("" when unknown or <>)
    bool sender_known = false;    // a from= line was seen (the sender may be "" = null sender)
    std::string message_id;       // joined, without angle brackets
    std::string relay;            // "mx.example.com[192.0.2.1]:25", "[127.0.0.1] [127.0.0.1]", "none"
    std::string dsn;              // "5.1.1" or ""
    DeliveryStatus status = DeliveryStatus::Sent;
    std::string reply;            // the reply or explanation text as logged ("" when none)

    bool operator==(const DeliveryRecord&) const = default;
};

// What a line was. Delivery: records were produced; Context: a line the join uses (from=,
// message-id=, removed) or a delivery line deliberately ignored (a milter's own rejection, the
// Sendmail MSP's hand-over); Unknown: anything else (counted and skipped by the caller).
enum class LineKind { Unknown, Context, Delivery };

struct MaillogLimits {
    std::size_t max_queue_ids = 50000;     // queue ids remembered for the join (sender, Message-ID)
    std::size_t max_field_bytes = 1024;    // an address, relay or Message-ID longer than this is cut
    std::size_t max_reply_bytes = 4096;    // the reply text kept per record
    std::size_t max_recipients = 100;      // records from one Sendmail to= line
};

class MaillogParser {
public:
    explicit MaillogParser(MaillogLimits limits = {});

    // One line, without its newline. Appends the line's records (0..max_recipients) to `out`.
    // `now` places timestamps without a year.
    LineKind feed(std::string_view line, UnixTime now, std::vector<DeliveryRecord>& out);

    // Queue ids currently remembered (for tests and the benchmark's memory figure).
    std::size_t remembered() const noexcept { return queues_.size(); }

private:
    struct QueueInfo {
        std::string sender;
        std::string message_id;
        std::string pending_reply;   // Sendmail transcript reply waiting for its to= line
        std::string pending_rcpt;    // ... and the recipient it named ("" = any)
        bool sender_known = false;
        std::size_t slot = 0;
    };

    QueueInfo& remember(std::string_view queue_id);
    QueueInfo* find(std::string_view queue_id);
    void forget(std::string_view queue_id);
    LineKind postfix(const SyslogLine& l, std::string_view qid, std::string_view rest, UnixTime now,
                     std::vector<DeliveryRecord>& out);
    LineKind sendmail(const SyslogLine& l, std::string_view qid, std::string_view rest, UnixTime now,
                      std::vector<DeliveryRecord>& out);
    void join(DeliveryRecord& r, std::string_view qid);

    MaillogLimits limits_;
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, QueueInfo, Hash, std::equal_to<>> queues_;
    std::vector<std::string> ring_;  // insertion order, for eviction past max_queue_ids
    std::size_t next_slot_ = 0;
    TimeConverter clock_;
};

}  // namespace bg::maillog
