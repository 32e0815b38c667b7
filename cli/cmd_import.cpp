// cmd_import.cpp - `bounceguard import`: a suppression list moved in from elsewhere, recorded with
// source `import` (an event per row as evidence, the suppressions written in batches with put_all).
//
// Formats, and the columns read (header names compared without case, spaces, '_' or '-', so
// "Email Address", "email_address" and "EmailAddress" are one name; other columns are ignored):
//   csv        our own `export --format csv`: key, category, since, last_seen, expires, count,
//              added_by, reason (key and category required).
//   json       our own `export --format json`: one object per line with the same fields.
//   sendgrid   the suppression lists of SendGrid (bounces, blocks, spam reports, invalid emails,
//              global unsubscribes), CSV or the API's JSON array: email, created (Unix seconds or a
//              date), reason, status. Which list: --kind, else from the columns: reason/status =>
//              bounce, ip without reason => complaint (spam reports), email and created only =>
//              unsubscribe. Blocks and invalid emails have the columns of bounces: pass --kind.
//   mailgun    Mailgun's bounces (address, code, error, created_at: the columns of its bounce list
//              import and export), complaints (address, created_at) and unsubscribes (address,
//              tags, created_at); CSV, or the API's JSON with an "items" array. Which list: --kind,
//              else code/error => bounce, tags => unsubscribe, otherwise complaint.
//   ses        the Amazon SES account-level suppression list: EmailAddress, Reason (BOUNCE or
//              COMPLAINT), LastUpdateTime; CSV with a header, headerless "address,REASON" lines (the
//              bulk import file), or the JSON of list-suppressed-destinations
//              ({"SuppressedDestinationSummaries": [...]}).
//   postmark   Postmark's suppressions: EmailAddress, SuppressionReason (HardBounce, SpamComplaint,
//              ManualSuppression), Origin, CreatedAt; CSV, or the JSON of the suppressions dump
//              ({"Suppressions": [...]}).
//   mailchimp  Mailchimp's audience exports: "Email Address", with CLEAN_TIME (the cleaned file:
//              hard bounces, or repeated soft bounces) or UNSUB_TIME and UNSUB_REASON (unsubscribed).
//
// What each kind becomes:
//   bounce      the reply text, when there is one, goes through the classifier: a hard recipient
//               verdict suppresses under its category (user_unknown, domain_unknown, ...); a soft
//               one, or one that blames our side (blocklist, policy, ...), is kept as evidence
//               only; no text, or one no rule knows, is the provider's word for a hard bounce:
//               user_unknown.
//   block       as bounce, but a reply no rule knows suppresses nothing (a block is usually us).
//   invalid     user_unknown.
//   complaint   complaint (sticky, permanent by default).
//   unsubscribe complaint, with "unsubscribed" in the reason: the recipient asked not to get our
//               mail, which the store keeps like a complaint (recipient's side, permanent by
//               default). --skip-unsubscribes leaves them out (a site whose MTA also carries mail
//               the recipient still wants, such as receipts).
// Suppressions take the category's TTL from [suppress.*] counted from now (the import is when
// this site learns it) and its domain-wide key when the category has one; our own csv/json keep
// their expiry (entries already expired are skipped). Allow-listed addresses and our own domains
// are never suppressed; an address already actively suppressed keeps its entry.
// Bad rows (no or an invalid address, an unknown category or reason) are reported with their line
// (or, in a JSON document, entry) number and skipped; the exit status is then 1.
// SECURITY: the file comes from elsewhere: CSV records and JSON lines are capped, a JSON document at
//   max_json_document_bytes; every address is normalised; texts are cleaned and clipped.
// LIMITATION: a JSON document (SES, Postmark, the APIs' JSON) is parsed whole, so it takes several
//   times its size in memory (hence the cap); CSV and our JSON lines are streamed. Dates without a
//   zone are read as UTC. Each row costs one get() to keep an existing entry as it is.
#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "classify/classifier.hpp"
#include "csv.hpp"
#include "policy/thresholds.hpp"
#include "smtp/address.hpp"
#include "store_io.hpp"
#include "time_text.hpp"
#include "util/text.hpp"

namespace bg::cli {

namespace {

constexpr std::size_t max_json_document_bytes = 256u << 20;
constexpr std::size_t max_json_line_bytes = 64u << 10;
constexpr std::size_t max_bad_rows_shown = 100;

using Kind = ImportKind;

std::string_view kind_name(Kind k) {
    switch (k) {
    case Kind::Ours: return "entry";
    case Kind::Bounce: return "bounce";
    case Kind::Block: return "block";
    case Kind::Invalid: return "invalid";
    case Kind::Complaint: return "complaint";
    case Kind::Unsubscribe: return "unsubscribe";
    }
    return "entry";
}

// "Email Address" => "emailaddress", "created_at" => "createdat".
std::string fold_name(std::string_view s) {
    std::string out;
    for (char c : text::trim(s))
        if (c != ' ' && c != '_' && c != '-') out.push_back(text::ascii_lower(c));
    return out;
}

// One input row: folded column name => value.
using Record = std::map<std::string, std::string, std::less<>>;

std::string_view field(const Record& r, std::initializer_list<std::string_view> names) {
    for (auto n : names)
        if (auto it = r.find(n); it != r.end() && !text::trim(it->second).empty()) return text::trim(it->second);
    return {};
}
bool has(const Record& r, std::string_view name) { return r.find(name) != r.end(); }

// What the importer makes of a row before it meets the store.
struct Parsed {
    Event event;                             // the evidence
    std::optional<Suppression> suppression;  // nothing: evidence only
    std::string why_not;                     // when evidence only: why
};

struct Counts {
    long rows = 0, suppressed = 0, evidence_only = 0, allowed = 0, already = 0, duplicate = 0, expired = 0,
         bad = 0, skipped_unsubscribes = 0;
    std::map<std::string, long> by_category;
};

class Importer {
public:
    Importer(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules, const ImportOptions& o,
             std::ostream& err, UnixTime now)
        : store_(store), policy_(policy), rules_(rules), o_(o), err_(err), now_(now) {}

    // One record of the input; `where` is "line 12" or "entry 3".
    void add(const Record& r, const std::string& where);
    // Writes what is pending; false on a store error (reported).
    bool flush();
    void bad(const std::string& where, const std::string& why) {
        ++counts_.bad;
        if (static_cast<std::size_t>(counts_.bad) <= max_bad_rows_shown)
            err_ << "bounceguard: import: " << where << ": " << why << ", skipped\n";
        else if (static_cast<std::size_t>(counts_.bad) == max_bad_rows_shown + 1)
            err_ << "bounceguard: import: more bad rows; only the first " << max_bad_rows_shown << " are shown\n";
    }
    const Counts& counts() const { return counts_; }
    bool failed() const { return failed_; }

private:
    std::optional<Kind> kind_of(const Record& r, const std::string& where);
    std::optional<Parsed> parse_ours(const Record& r, const std::string& where);
    std::optional<Parsed> parse_hosted(const Record& r, Kind kind, const std::string& where);
    UnixTime row_time(const Record& r, std::initializer_list<std::string_view> names, const std::string& where);

    SuppressionStore& store_;
    const PolicyConfig& policy_;
    const RuleSet& rules_;
    const ImportOptions& o_;
    std::ostream& err_;
    UnixTime now_;
    Counts counts_;
    bool failed_ = false;
    std::unordered_set<std::string> seen_;
    std::vector<Event> events_;
    std::vector<std::optional<Suppression>> pending_;
};

UnixTime Importer::row_time(const Record& r, std::initializer_list<std::string_view> names, const std::string& where) {
    const std::string_view t = field(r, names);
    if (t.empty()) return now_;
    if (auto v = parse_time_text(t); v && *v > 0) return std::min(*v, now_);
    err_ << "bounceguard: import: " << where << ": unreadable time '" << text::printable(text::clip(t, 60))
         << "', the time of the import is used\n";
    return now_;
}

std::optional<Kind> Importer::kind_of(const Record& r, const std::string& where) {
    if (o_.format == "csv" || o_.format == "json") return Kind::Ours;
    if (o_.format == "ses") {
        const std::string reason = text::to_lower(field(r, {"reason", "suppressionreason"}));
        if (reason == "bounce") return Kind::Bounce;
        if (reason == "complaint") return Kind::Complaint;
        bad(where, "SES reason '" + text::printable(text::clip(reason, 40)) + "' is neither BOUNCE nor COMPLAINT");
        return std::nullopt;
    }
    if (o_.format == "postmark") {
        const std::string reason = fold_name(field(r, {"suppressionreason", "reason"}));
        if (reason == "hardbounce") return Kind::Bounce;
        if (reason == "spamcomplaint") return Kind::Complaint;
        if (reason == "manualsuppression") return Kind::Unsubscribe;
        bad(where, "Postmark reason '" + text::printable(text::clip(reason, 40)) +
                       "' is not HardBounce, SpamComplaint or ManualSuppression");
        return std::nullopt;
    }
    if (o_.kind) return *o_.kind;
    if (o_.format == "sendgrid") {
        if (has(r, "reason") || has(r, "status")) return Kind::Bounce;
        if (has(r, "ip")) return Kind::Complaint;
        return Kind::Unsubscribe;
    }
    if (o_.format == "mailgun") {
        if (has(r, "error") || has(r, "code")) return Kind::Bounce;
        if (has(r, "tags") || has(r, "tag")) return Kind::Unsubscribe;
        return Kind::Complaint;
    }
    // mailchimp
    if (has(r, "cleantime")) return Kind::Bounce;
    if (has(r, "unsubtime")) return Kind::Unsubscribe;
    bad(where, "neither CLEAN_TIME nor UNSUB_TIME: cannot tell cleaned from unsubscribed (use --kind)");
    return std::nullopt;
}

std::optional<Parsed> Importer::parse_ours(const Record& r, const std::string& where) {
    const std::string_view key = field(r, {"key", "address"});
    auto k = normalize_key(key);
    if (!k) {
        bad(where, key.empty() ? "no key" : "'" + text::printable(text::clip(key, 100)) + "': " + k.error().message);
        return std::nullopt;
    }
    const std::string_view cat_name = field(r, {"category"});
    auto cat = parse_category(cat_name);
    if (!cat) {
        bad(where, "unknown category '" + text::printable(text::clip(cat_name, 40)) + "'");
        return std::nullopt;
    }
    Parsed p;
    Suppression s;
    s.key = *k;
    s.category = *cat;
    s.first_seen = row_time(r, {"since", "firstseen"}, where);
    s.last_seen = field(r, {"lastseen"}).empty() ? s.first_seen : row_time(r, {"lastseen"}, where);
    if (const auto e = field(r, {"expires"}); !e.empty()) {
        auto t = parse_time_text(e);
        if (!t) {
            bad(where, "unreadable expiry '" + text::printable(text::clip(e, 60)) + "'");
            return std::nullopt;
        }
        s.expires = *t;
    }
    s.count = 1;
    if (const auto c = field(r, {"count"}); !c.empty()) {
        int v = 0;
        for (char ch : c) v = (ch >= '0' && ch <= '9' && v < 1'000'000) ? v * 10 + (ch - '0') : v;
        s.count = std::max(1, v);
    }
    s.added_by = text::valid_utf8(text::clip(text::printable(field(r, {"addedby"})), 200));
    if (s.added_by.empty()) s.added_by = "import";
    s.reason = text::valid_utf8(text::clip(text::printable(field(r, {"reason"})), 1000));
    p.event.time = s.last_seen;
    p.event.recipient = *k;
    p.event.category = *cat;
    p.event.blame = info(*cat).blame;
    p.event.rule_id = "import." + o_.format;
    p.event.text = "imported: " + (s.reason.empty() ? std::string(to_string(*cat)) : s.reason);
    p.suppression = std::move(s);
    return p;
}

std::optional<Parsed> Importer::parse_hosted(const Record& r, Kind kind, const std::string& where) {
    const std::string_view raw = field(r, {"email", "emailaddress", "address", "recipient"});
    auto addr = normalize_address(raw);
    if (!addr) {
        bad(where, raw.empty() ? "no address" : "'" + text::printable(text::clip(raw, 100)) + "': " + addr.error().message);
        return std::nullopt;
    }
    Parsed p;
    Event& e = p.event;
    e.recipient = *addr;
    e.time = row_time(r, {"created", "createdat", "lastupdatetime", "cleantime", "unsubtime", "timestamp"}, where);
    e.rule_id = "import." + o_.format + "." + std::string(kind_name(kind));
    Category cat = Category::UserUnknown;
    bool suppress = true;
    std::string reason;
    if (kind == Kind::Bounce || kind == Kind::Block) {
        const std::string_view reply = field(r, {"reason", "error", "diagnosticcode"});
        const std::string_view code = field(r, {"code"});
        const std::string_view status = field(r, {"status"});
        std::string text(reply);
        if (!text.empty() && !(text.front() >= '0' && text.front() <= '9')) {
            std::string prefix;
            if (!code.empty()) prefix += std::string(code) + " ";
            if (!status.empty()) prefix += std::string(status) + " ";
            text = prefix + text;
        }
        if (o_.format == "ses" || o_.format == "postmark") text.clear();  // "BOUNCE", "HardBounce": no reply
        Verdict v;
        if (!text.empty()) {
            if (auto parsed = parse_reply(text); parsed) {
                v = classify(*parsed, rules_);
                e.reply_code = parsed->code;
                if (parsed->status) e.status = parsed->status->to_string();
            }
            e.text = text::valid_utf8(text::clip(text::printable(text), 1000));
        }
        if (e.status.empty() && parse_enhanced_status(status)) e.status = std::string(status);
        const bool unknown = v.category == Category::Unknown || v.category == Category::NotBounce;
        if (unknown && kind == Kind::Bounce) {
            cat = Category::UserUnknown;
        } else if (unknown) {
            cat = Category::Unknown;
            suppress = false;
            p.why_not = "a block no rule recognises";
        } else {
            cat = v.category;
            if (v.blame != Blame::Recipient) {
                suppress = false;
                p.why_not = std::string(to_string(cat)) + " is " + std::string(describe(v.blame));
            } else if (v.decision != Decision::Hard) {
                suppress = false;
                p.why_not = std::string(to_string(cat)) + " is a soft failure: counted, not suppressed";
            }
        }
        reason = std::string(kind == Kind::Bounce ? "bounce" : "block") + " listed by " + o_.format;
    } else if (kind == Kind::Invalid) {
        reason = "invalid address listed by " + o_.format;
    } else {
        cat = Category::Complaint;
        reason = kind == Kind::Complaint ? "spam complaint listed by " + o_.format
                                         : "unsubscribed at " + o_.format;
        if (const auto why = field(r, {"unsubreason"}); !why.empty())
            reason += ": " + text::valid_utf8(text::clip(text::printable(why), 200));
    }
    if (e.text.empty()) e.text = "imported: " + reason;
    e.category = cat;
    e.blame = info(cat).blame;
    if (!suppress) return p;
    const CategoryPolicy* cp = policy_.for_category(cat);
    Suppression s;
    s.key = cp ? suppression_key(*addr, *cp) : *addr;
    s.category = cat;
    s.first_seen = s.last_seen = e.time;
    s.count = 1;
    s.expires = cp && cp->ttl > 0 ? now_ + cp->ttl : 0;
    s.added_by = "import:" + o_.format;
    s.reason = reason;
    p.suppression = std::move(s);
    return p;
}

void Importer::add(const Record& r, const std::string& where) {
    ++counts_.rows;
    auto kind = kind_of(r, where);
    if (!kind) return;
    if (*kind == Kind::Unsubscribe && o_.skip_unsubscribes) {
        ++counts_.skipped_unsubscribes;
        return;
    }
    auto p = *kind == Kind::Ours ? parse_ours(r, where) : parse_hosted(r, *kind, where);
    if (!p) return;
    p->event.source = EventSource::Import;
    if (p->event.stage.empty()) p->event.stage = "unknown";
    if (p->suppression) {
        Suppression& s = *p->suppression;
        if (s.expires != 0 && s.expires <= now_) {
            ++counts_.expired;
            return;
        }
        if (!seen_.insert(s.key).second) {
            ++counts_.duplicate;
            return;
        }
        if (is_allowed(s.key, policy_)) {
            ++counts_.allowed;
            p->suppression.reset();
            p->why_not = "allow-listed or ours";
        } else if (auto existing = store_.get(s.key); existing && *existing &&
                                                      ((*existing)->expires == 0 || (*existing)->expires > now_)) {
            ++counts_.already;
            p->suppression.reset();
            p->why_not = "already suppressed";
        }
    } else {
        ++counts_.evidence_only;
    }
    if (p->suppression) {
        ++counts_.suppressed;
        ++counts_.by_category[std::string(to_string(p->suppression->category))];
    }
    events_.push_back(std::move(p->event));
    pending_.push_back(std::move(p->suppression));
    if (events_.size() >= std::max<std::size_t>(1, o_.batch)) flush();
}

bool Importer::flush() {
    if (events_.empty() || failed_) return !failed_;
    if (!o_.dry_run) {
        auto ids = store_.record_events(events_);
        if (!ids) {
            err_ << "bounceguard: import: " << ids.error().message << "\n";
            failed_ = true;
            return false;
        }
        std::vector<Suppression> batch;
        for (std::size_t i = 0; i < pending_.size(); ++i) {
            if (!pending_[i]) continue;
            pending_[i]->event_id = (*ids)[i];
            batch.push_back(std::move(*pending_[i]));
        }
        if (auto r = store_.put_all(batch); !r) {
            err_ << "bounceguard: import: " << r.error().message << "\n";
            failed_ = true;
            return false;
        }
    }
    events_.clear();
    pending_.clear();
    return true;
}

// Reads one line of at most `max` bytes into `line`; a longer line is consumed and flagged.
bool bounded_line(std::istream& in, std::string& line, std::size_t max, bool& too_long) {
    line.clear();
    too_long = false;
    std::streambuf* sb = in.rdbuf();
    using Traits = std::char_traits<char>;
    if (!sb || Traits::eq_int_type(sb->sgetc(), Traits::eof())) return false;
    for (;;) {
        const auto c = sb->sbumpc();
        if (Traits::eq_int_type(c, Traits::eof()) || c == '\n') break;
        if (line.size() < max) line.push_back(Traits::to_char_type(c));
        else too_long = true;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
}

std::string json_scalar(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number()) return std::to_string(static_cast<std::int64_t>(v.get<double>()));
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    return "";
}

Record json_record(const nlohmann::json& obj) {
    Record r;
    for (auto it = obj.begin(); it != obj.end(); ++it) r[fold_name(it.key())] = json_scalar(it.value());
    return r;
}

// One JSON object per line (our own export).
void read_json_lines(std::istream& in, Importer& imp) {
    std::string line;
    bool too_long = false;
    for (long n = 1; bounded_line(in, line, max_json_line_bytes, too_long); ++n) {
        const std::string where = "line " + std::to_string(n);
        if (text::trim(line).empty()) continue;
        if (too_long) {
            imp.bad(where, "longer than " + std::to_string(max_json_line_bytes) + " bytes");
            continue;
        }
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            imp.bad(where, "not a JSON object");
            continue;
        }
        imp.add(json_record(j), where);
        if (imp.failed()) return;
    }
}

// A JSON document: an array of objects, or an object holding one (SES, Postmark, Mailgun APIs).
bool read_json_document(std::istream& in, Importer& imp, std::ostream& err) {
    std::string doc;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        doc.append(buf, static_cast<std::size_t>(in.gcount()));
        if (doc.size() > max_json_document_bytes) {
            err << "bounceguard: import: the JSON document is larger than " << (max_json_document_bytes >> 20)
                << " MiB\n";
            return false;
        }
    }
    auto j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_discarded()) {
        err << "bounceguard: import: the input is not valid JSON\n";
        return false;
    }
    const nlohmann::json* list = j.is_array() ? &j : nullptr;
    if (!list && j.is_object())
        for (const char* name : {"SuppressedDestinationSummaries", "Suppressions", "items", "result"})
            if (auto it = j.find(name); it != j.end() && it->is_array()) list = &*it;
    if (!list) {
        err << "bounceguard: import: no list of entries in the JSON document\n";
        return false;
    }
    long n = 0;
    for (const auto& item : *list) {
        const std::string where = "entry " + std::to_string(++n);
        if (!item.is_object()) {
            imp.bad(where, "not a JSON object");
            continue;
        }
        imp.add(json_record(item), where);
        if (imp.failed()) return false;
    }
    return true;
}

bool blank(const std::vector<std::string>& f) {
    return std::all_of(f.begin(), f.end(), [](const std::string& s) { return text::trim(s).empty(); });
}

bool read_csv(std::istream& in, Importer& imp, const ImportOptions& o, std::ostream& err) {
    CsvReader csv(in);
    std::vector<std::string> f, header;
    // The header: the first non-blank record.
    while (csv.next(f)) {
        if (!csv.error().empty()) {
            err << "bounceguard: import: line " << csv.line() << ": " << csv.error() << "\n";
            return false;
        }
        if (!blank(f)) break;
    }
    if (f.empty() || blank(f)) {
        err << "bounceguard: import: the input is empty\n";
        return false;
    }
    const bool headerless = o.format == "ses" && f.front().find('@') != std::string::npos;
    if (headerless) {
        header = {"emailaddress", "reason"};
    } else {
        for (const auto& h : f) header.push_back(fold_name(h));
        const std::vector<std::string> emails = o.format == "csv"
                                                    ? std::vector<std::string>{"key", "address"}
                                                    : std::vector<std::string>{"email", "emailaddress", "address", "recipient"};
        if (std::none_of(header.begin(), header.end(), [&](const std::string& h) {
                return std::find(emails.begin(), emails.end(), h) != emails.end();
            })) {
            err << "bounceguard: import: line " << csv.line() << ": the header names no address column ("
                << (o.format == "csv" ? "key" : "email, Email Address, EmailAddress or address")
                << "); is this a " << o.format << " file?\n";
            return false;
        }
    }
    auto add = [&](const std::vector<std::string>& fields) {
        Record r;
        for (std::size_t i = 0; i < fields.size() && i < header.size(); ++i) r[header[i]] = fields[i];
        imp.add(r, "line " + std::to_string(csv.line()));
    };
    if (headerless) add(f);
    while (!imp.failed() && csv.next(f)) {
        if (!csv.error().empty()) {
            imp.bad("line " + std::to_string(csv.line()), csv.error());
            continue;
        }
        if (blank(f)) continue;
        add(f);
    }
    return !imp.failed();
}

}  // namespace

bool is_import_format(std::string_view name) {
    for (std::string_view f : {"csv", "json", "sendgrid", "mailgun", "ses", "postmark", "mailchimp"})
        if (name == f) return true;
    return false;
}

std::optional<ImportKind> parse_import_kind(std::string_view name) {
    if (name == "bounce") return ImportKind::Bounce;
    if (name == "block") return ImportKind::Block;
    if (name == "invalid") return ImportKind::Invalid;
    if (name == "complaint") return ImportKind::Complaint;
    if (name == "unsubscribe") return ImportKind::Unsubscribe;
    return std::nullopt;
}

int run_import(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules, const ImportOptions& o,
               std::istream& in, std::ostream& out, std::ostream& err, UnixTime now) {
    Importer imp(store, policy, rules, o, err, now);
    bool ok;
    const auto first = [&]() {
        std::streambuf* sb = in.rdbuf();
        using Traits = std::char_traits<char>;
        for (;;) {
            const auto c = sb ? sb->sgetc() : Traits::eof();
            if (Traits::eq_int_type(c, Traits::eof())) return '\0';
            const char ch = Traits::to_char_type(c);
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return ch;
            sb->sbumpc();
        }
    }();
    if (o.format == "json") ok = (read_json_lines(in, imp), !imp.failed());
    else if (o.format != "csv" && (first == '{' || first == '[')) ok = read_json_document(in, imp, err);
    else ok = read_csv(in, imp, o, err);
    if (ok) ok = imp.flush();
    const Counts& c = imp.counts();
    out << (o.dry_run ? "would import" : "imported") << " (" << o.format << "): " << c.rows << " rows; "
        << c.suppressed << " suppressed";
    if (!c.by_category.empty()) {
        out << " (";
        bool first_cat = true;
        for (const auto& [cat, n] : c.by_category) {
            out << (first_cat ? "" : ", ") << cat << " " << n;
            first_cat = false;
        }
        out << ")";
    }
    out << ", " << c.evidence_only << " kept as evidence only (our side, soft or unknown), " << c.already
        << " already suppressed, " << c.allowed << " allow-listed, " << c.duplicate << " duplicates, " << c.expired
        << " expired, " << c.bad << " bad";
    if (c.skipped_unsubscribes) out << ", " << c.skipped_unsubscribes << " unsubscribes skipped";
    out << (o.dry_run ? "; dry run: nothing written\n" : "\n");
    if (!ok) return 1;
    return c.bad > 0 ? 1 : 0;
}

}  // namespace bg::cli
