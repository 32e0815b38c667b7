// mime_message.cpp - see mime_message.hpp. The only file that talks to GMime; every GObject it
// gets a reference to is held by a GPtr and every g_malloc'ed string by a GStr.
#include "dsn/mime_message.hpp"

#include <gmime/gmime.h>

#include <memory>
#include <iterator>
#include <mutex>

#include "util/text.hpp"

namespace bg::dsn {

namespace {

struct GObjectUnref {
    void operator()(gpointer p) const noexcept {
        if (p) g_object_unref(p);
    }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
    void operator()(void* p) const noexcept { g_free(p); }
};
using GStr = std::unique_ptr<char, GFree>;

// GMime and its parser options are set up once per process (g_mime_init is not reentrant).
GMimeParserOptions* parser_options() {
    static GMimeParserOptions* options = nullptr;
    static std::once_flag once;
    std::call_once(once, [] {
        g_mime_init();
        options = g_mime_parser_options_new();
        g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_allow_addresses_without_domain(options, TRUE);
        static const char* fallback[] = {"UTF-8", "windows-1252", nullptr};
        g_mime_parser_options_set_fallback_charsets(options, fallback);
        // glibc unloads an iconv module (dlclose) soon after its last converter is closed, so
        // each text part in such a charset paid a dlopen. One converter per common charset is
        // kept open for the life of the process to keep its module loaded.
        static const char* keep[] = {"ISO-2022-JP", "Shift_JIS", "EUC-JP", "UTF-7", "windows-1252",
                                     "ISO-8859-15", "ISO-8859-2", "KOI8-R", "GB2312", "Big5", "EUC-KR",
                                     "windows-1251", "UTF-16"};
        // Held in a plain static array (no destructor), so they stay reachable until exit.
        [[maybe_unused]] static iconv_t open_converters[std::size(keep)];
        for (std::size_t i = 0; i < std::size(keep); ++i) open_converters[i] = g_mime_iconv_open("UTF-8", keep[i]);
    });
    return options;
}

// The header fields GMime is given. GMime builds an object for every header field (and parses
// address and date fields), most of them never read here (Received:, DKIM-Signature:...), so
// the header block is cut down to the fields read, plus those that decide how GMime itself reads
// the block: the first field (the block is not empty), the first that is not a Content- field
// (the message has headers), the first of From/To/Subject/Date/Cc (GMime's test for a header
// block that ends without an empty line: "one of them came before") and every Content- field. Only well-formed fields ("Name: ...",
// the name printable ASCII) and their folded lines are dropped; at the first empty line, or at
// the first line that is not such a field, the rest is kept byte for byte, so GMime decides
// where the headers end exactly as it would on the whole block.
template <std::size_t N>
std::string drop_unread_fields(std::string_view msg, const std::string_view (&read)[N]) {
    std::string out;
    out.reserve(msg.size());
    std::size_t pos = 0;
    bool dropping = false, seen_field = false, seen_non_content = false, seen_message_field = false;
    while (pos < msg.size()) {
        const std::size_t nl = msg.find('\n', pos);
        const std::size_t end = nl == std::string_view::npos ? msg.size() : nl + 1;
        const std::string_view line = msg.substr(pos, end - pos);
        std::string_view content = line;
        if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
        if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
        if (content.empty()) break;  // the end of the header block
        if (line.front() == ' ' || line.front() == '\t') {
            if (!seen_field) break;  // not a field: GMime decides
            if (!dropping) out.append(line);
            pos = end;
            continue;
        }
        const std::size_t colon = content.find(':');
        bool well_formed = colon != std::string_view::npos && colon > 0;
        for (std::size_t i = 0; well_formed && i < colon; ++i) {
            const auto c = static_cast<unsigned char>(content[i]);
            well_formed = c > 32 && c < 127;
        }
        if (!well_formed) break;
        const std::string_view name = content.substr(0, colon);
        const bool content_field = text::istarts_with(name, "Content-");
        const bool message_field = text::iequals(name, "From") || text::iequals(name, "To") ||
                                   text::iequals(name, "Subject") || text::iequals(name, "Date") ||
                                   text::iequals(name, "Cc");
        bool keep = content_field || !seen_field || !seen_non_content || (message_field && !seen_message_field);
        for (std::size_t i = 0; !keep && i < N; ++i) keep = text::iequals(name, read[i]);
        seen_message_field = seen_message_field || (keep && message_field);
        seen_field = true;
        seen_non_content = seen_non_content || !content_field;
        dropping = !keep;
        if (keep) out.append(line);
        pos = end;
    }
    out.append(msg.substr(pos));
    return out;
}

constexpr std::string_view top_fields[] = {"From", "To", "Subject", "MIME-Version",
                                           "Auto-Submitted", "X-Autoreply", "X-Autorespond",
                                           "X-Autoresponder", "Precedence", "Message-ID"};
constexpr std::string_view original_fields[] = {"From", "To", "Subject", "MIME-Version",
                                                "Message-ID", "X-Bounceguard-Token"};

GPtr<GMimeMessage> parse_message(std::string_view bytes) {
    GMimeParserOptions* options = parser_options();
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
    if (!stream) return nullptr;
    // One parser per thread, re-initialised for each message (its buffers are reused).
    thread_local GPtr<GMimeParser> parser(g_mime_parser_new());
    if (!parser) return nullptr;
    g_mime_parser_init_with_stream(parser.get(), stream.get());
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_respect_content_length(parser.get(), FALSE);
    GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options));
    // Let go of the stream now rather than at the next message.
    GPtr<GMimeStream> empty(g_mime_stream_mem_new());
    g_mime_parser_init_with_stream(parser.get(), empty.get());
    return msg;
}

std::string lower_mime_type(GMimeObject* obj) {
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    if (!ct) return "text/plain";
    const char* type = g_mime_content_type_get_media_type(ct);
    const char* sub = g_mime_content_type_get_media_subtype(ct);
    std::string s = text::to_lower(type ? type : "text");
    s += '/';
    s += text::to_lower(sub ? sub : "plain");
    return s;
}

std::string clipped(const char* s, std::size_t max) {
    if (!s) return {};
    return std::string(text::clip(std::string_view(s), max));
}

// The decoded (transfer encoding removed) bytes of a leaf part, at most `max` of them.
std::string part_bytes(GMimePart* part, std::size_t max) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (!content) return {};
    GPtr<GMimeStream> mem(g_mime_stream_mem_new());
    g_mime_data_wrapper_write_to_stream(content, mem.get());
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
    if (!bytes || bytes->len == 0) return {};
    return std::string(text::clip(std::string_view(reinterpret_cast<const char*>(bytes->data), bytes->len), max));
}

std::string part_text(GMimePart* part, std::size_t max) {
    if (GMIME_IS_TEXT_PART(part)) {
        // g_mime_text_part_get_text() converts to UTF-8 through a charset filter (iconv). Without
        // a charset it copies the bytes as they are, and from US-ASCII or UTF-8 a text that is
        // all ASCII comes out unchanged: then the decoded bytes are taken as they are (up to a
        // NUL, as get_text returns a C string), without the filter.
        const char* cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
        if (!cs || text::iequals(cs, "us-ascii") || text::iequals(cs, "utf-8")) {
            GMimeDataWrapper* content = g_mime_part_get_content(part);
            if (!content) return {};
            GPtr<GMimeStream> mem(g_mime_stream_mem_new());
            g_mime_data_wrapper_write_to_stream(content, mem.get());
            GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
            std::string_view v;
            if (bytes && bytes->len) v = std::string_view(reinterpret_cast<const char*>(bytes->data), bytes->len);
            bool ascii = true;
            for (const char c : v) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
            if (!cs || ascii) {
                v = v.substr(0, v.find('\0'));
                return std::string(text::clip(v, max));
            }
        }
        GStr t(g_mime_text_part_get_text(GMIME_TEXT_PART(part)));
        return clipped(t.get(), max);
    }
    return part_bytes(part, max);
}

OriginalMessage original_of(GMimeMessage* m, std::size_t max) {
    OriginalMessage o;
    o.message_id = clipped(g_mime_message_get_message_id(m), max);
    // The header values as written (decoded), not re-formatted address lists: cheaper, and
    // IDN and group syntax are kept as the sender wrote them.
    o.from = std::string(text::trim(clipped(g_mime_object_get_header(GMIME_OBJECT(m), "From"), max)));
    o.to = std::string(text::trim(clipped(g_mime_object_get_header(GMIME_OBJECT(m), "To"), max)));
    o.subject = clipped(g_mime_message_get_subject(m), max);
    o.token = std::string(text::trim(clipped(g_mime_object_get_header(GMIME_OBJECT(m), "X-Bounceguard-Token"), max)));
    return o;
}

bool has_any(const OriginalMessage& o) {
    return !o.message_id.empty() || !o.from.empty() || !o.to.empty() || !o.subject.empty() || !o.token.empty();
}

// text/html -> text: tags dropped, block ends made line ends, a few entities decoded. Linear.
std::string html_to_text(std::string_view html) {
    std::string out;
    out.reserve(html.size());
    std::size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '<') {
            // Style sheets, scripts and the head are not text.
            bool skipped = false;
            for (std::string_view block : {"style", "script", "head"}) {
                if (text::istarts_with(html.substr(i + 1), block)) {
                    const std::string close = "</" + std::string(block);
                    const auto e = text::ifind_fast(html, close, i + 1);
                    i = e == std::string_view::npos ? html.size() : e + close.size();
                    skipped = true;
                    break;
                }
            }
            if (skipped) continue;
            const auto end = html.find('>', i);
            if (end == std::string_view::npos) break;
            const auto tag = html.substr(i + 1, end - i - 1);
            if (text::istarts_with(tag, "br") || text::istarts_with(tag, "/p") || text::istarts_with(tag, "/div") ||
                text::istarts_with(tag, "/tr") || text::istarts_with(tag, "p") || text::istarts_with(tag, "/h"))
                out.push_back('\n');
            i = end + 1;
            continue;
        }
        if (c == '&') {
            static constexpr std::pair<std::string_view, char> entities[] = {
                {"&nbsp;", ' '}, {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}};
            bool done = false;
            for (const auto& [name, ch] : entities) {
                if (text::istarts_with(html.substr(i), name)) {
                    out.push_back(ch);
                    i += name.size();
                    done = true;
                    break;
                }
            }
            if (done) continue;
        }
        out.push_back(c);
        ++i;
    }
    return out;
}

// A text part that is itself a header block (some MTAs attach the original headers as
// text/plain): its first line is a well-known header field.
bool looks_like_header_block(std::string_view s) {
    s = s.substr(0, s.find('\n'));
    static constexpr std::string_view names[] = {"Received:", "Return-Path:", "From:", "To:", "Subject:",
                                                 "Date:", "Message-ID:", "Message-Id:", "MIME-Version:",
                                                 "DKIM-Signature:", "X-"};
    for (auto n : names)
        if (text::istarts_with(s, n)) return true;
    return false;
}

constexpr const char* wanted_headers[] = {"From", "To", "Subject", "Auto-Submitted", "X-Autoreply", "X-Autorespond",
                                          "X-Autoresponder", "Precedence", "Message-ID"};

class Walker {
public:
    Walker(MimeContent& out, const BounceLimits& limits) : out_(out), limits_(limits) {}

    void walk(GMimeObject* obj, std::size_t depth) {
        if (!obj) return;
        if (depth > limits_.max_mime_depth) {
            note("MIME nesting deeper than " + std::to_string(limits_.max_mime_depth) + " levels was not read");
            return;
        }
        if (++parts_ > limits_.max_mime_parts * 4) {
            note("more than " + std::to_string(limits_.max_mime_parts * 4) + " MIME parts: the rest was not read");
            return;
        }
        if (GMIME_IS_MULTIPART(obj)) {
            GMimeMultipart* mp = GMIME_MULTIPART(obj);
            const int n = g_mime_multipart_get_count(mp);
            if (n == 0) {
                // A multipart whose boundary never occurs: its whole body is the prologue.
                if (const char* pro = g_mime_multipart_get_prologue(mp)) add_text(pro);
                return;
            }
            for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1);
            return;
        }
        if (GMIME_IS_MESSAGE_PART(obj)) {
            GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
            if (m && !out_.has_original) set_original(original_of(m, limits_.max_field_bytes));
            return;  // the returned message: its body is not the bounce
        }
        if (!GMIME_IS_PART(obj)) return;
        GMimePart* part = GMIME_PART(obj);
        const std::string type = lower_mime_type(obj);
        if (type == "message/delivery-status" || type == "message/global-delivery-status") {
            out_.delivery_status.push_back(part_bytes(part, limits_.max_text_bytes));
        } else if (type == "message/feedback-report") {
            out_.feedback.push_back(part_bytes(part, limits_.max_text_bytes));
        } else if (type == "text/rfc822-headers" || type == "text/rfc822-header" || type == "message/rfc822" ||
                   type == "message/global-headers" || type == "message/global") {
            if (!out_.has_original)
                set_original(read_original_headers(part_bytes(part, limits_.max_text_bytes), limits_));
        } else if (type.rfind("text/", 0) == 0 && type != "text/html") {
            std::string t = part_text(part, limits_.max_text_bytes);
            if (!out_.texts.empty() && looks_like_header_block(t)) {
                if (!out_.has_original) set_original(read_original_headers(t, limits_));
                return;
            }
            add_text(std::move(t));
        } else if (type == "text/html") {
            html_.push_back(part);  // decoded only if there is no plain text (finish())
        }
    }

    // HTML bodies count only when there is no plain text at all.
    void finish() {
        if (out_.texts.empty())
            for (GMimePart* h : html_) add_text(html_to_text(part_text(h, limits_.max_text_bytes)));
    }

private:
    void add_text(std::string t) {
        if (out_.texts.size() >= 16) return;
        out_.texts.push_back(std::move(t));
    }
    void set_original(OriginalMessage o) {
        if (!has_any(o)) return;
        out_.original = std::move(o);
        out_.has_original = true;
    }
    void note(std::string w) {
        out_.truncated = true;
        if (out_.warnings.size() < 8) out_.warnings.push_back(std::move(w));
    }

    MimeContent& out_;
    const BounceLimits& limits_;
    std::size_t parts_ = 0;
    std::vector<GMimePart*> html_;  // owned by the message, which outlives the walker
};

}  // namespace

std::string_view MimeContent::header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers)
        if (text::iequals(n, name)) return v;
    return {};
}

Result<MimeContent> read_mime(std::string_view message, const BounceLimits& limits) {
    GPtr<GMimeMessage> msg = parse_message(drop_unread_fields(message, top_fields));
    if (!msg) return Error{"not a mail message (no header could be read)"};
    MimeContent out;
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(msg.get()));
    if (!list || g_mime_header_list_get_count(list) == 0) return out;
    out.has_headers = true;
    // Only the headers the parser looks at are decoded (decoding every Received: line is the
    // most expensive part of a message).
    for (const char* name : wanted_headers) {
        if (const char* v = g_mime_object_get_header(GMIME_OBJECT(msg.get()), name))
            out.headers.emplace_back(name, clipped(v, limits.max_field_bytes));
    }
    GMimeObject* body = g_mime_message_get_mime_part(msg.get());
    if (body) {
        out.content_type = lower_mime_type(body);
        if (GMimeContentType* ct = g_mime_object_get_content_type(body))
            out.report_type = text::to_lower(clipped(g_mime_content_type_get_parameter(ct, "report-type"), 64));
    }
    Walker walker(out, limits);
    walker.walk(body, 0);
    walker.finish();
    return out;
}

OriginalMessage read_original_headers(std::string_view header_text, const BounceLimits& limits) {
    std::string block(text::clip(header_text, limits.max_text_bytes));
    // Only the header block matters: end it here so GMime does not read a body.
    if (auto p = block.find("\n\n"); p != std::string::npos) block.resize(p + 1);
    block += "\n";
    GPtr<GMimeMessage> msg = parse_message(drop_unread_fields(block, original_fields));
    if (!msg) return {};
    return original_of(msg.get(), limits.max_field_bytes);
}

}  // namespace bg::dsn
