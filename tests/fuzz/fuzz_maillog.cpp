// fuzz_maillog - libFuzzer target: mail log lines through the maillog parser (prefixes, Postfix
// and Sendmail delivery lines, the queue-id join) and every record through learn() (reply parsing
// and classification). Invariants checked: never crash; fields stay within the limits; the join
// table stays within its capacity; a learned event has a normalised address and only recipient
// blame suppresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "maillog/delivery_event.hpp"
#include "maillog/maillog_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto rules = bg::RuleSet::with_defaults({}).value();
    const bg::maillog::MaillogLimits limits{.max_queue_ids = 8, .max_field_bytes = 256, .max_reply_bytes = 512,
                                           .max_recipients = 4};
    bg::maillog::MaillogParser parser(limits);
    std::vector<bg::maillog::DeliveryRecord> out;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const bg::UnixTime now = 1795651200;
    while (!input.empty()) {
        const auto nl = input.find('\n');
        const std::string_view line = input.substr(0, nl);
        input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
        out.clear();
        parser.feed(line, now, out);
        if (out.size() > limits.max_recipients) std::abort();
        if (parser.remembered() > limits.max_queue_ids) std::abort();
        for (const auto& r : out) {
            if (r.recipient.size() > limits.max_field_bytes || r.reply.size() > limits.max_reply_bytes) std::abort();
            auto l = bg::maillog::learn(r, *rules, {}, now);
            if (!l) continue;
            if (l->event.recipient.find('@') == std::string::npos) std::abort();
            if (l->event.time <= 0 || l->event.time > now) std::abort();
            if (l->decision != bg::Decision::None && l->verdict.blame != bg::Blame::Recipient) std::abort();
        }
    }
    return 0;
}
