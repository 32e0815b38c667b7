-- mt_transaction.lua - one milter transaction, driven by miltertest against the real
-- bounceguard-milter, with its expectations given as -D definitions (test_milter_miltertest.py
-- runs one scenario per ctest entry):
--   sock       milter socket (inet:PORT@127.0.0.1)
--   daemon     {daemon_name} macro (ORIGINATING, LOCAL, BOUNCE, mta.example.test)
--   ip         client address (default 127.0.0.1); auth: {auth_authen} (optional)
--   from       envelope sender ("<>" for a bounce); mail: expected reply to MAIL (continue|accept;
--              an accept arrives at the first RCPT when MAIL is negotiated without a reply)
--   rcpts      recipients, comma-separated; expect: the reply to each (continue|reject|tempfail)
--   eml        message file (headers, blank line, body); default: a small message
--   eom        expected reply at end of message (continue|accept|reject|tempfail)
--   delrcpt    recipients that must be removed at EOM (comma-separated); keep: must not be
--   hdrins     header names that must be inserted; hdradd: header names that must be added
--   nohdr      header names that must NOT be added or inserted
--   show       a header name whose added/inserted value is printed as "HEADER<value>"
local function split(s)
  local t = {}
  if s == nil or s == "" then return t end
  for x in string.gmatch(s, "([^,]+)") do t[#t + 1] = x end
  return t
end
local replies = { continue = SMFIR_CONTINUE, accept = SMFIR_ACCEPT, reject = SMFIR_REJECT,
                  tempfail = SMFIR_TEMPFAIL }
local function want(step, got, name)
  -- a REJECT/TEMPFAIL after smfi_setreply arrives as SMFIR_REPLYCODE
  if got == SMFIR_REPLYCODE and (name == "reject" or name == "tempfail") then return end
  if got ~= replies[name] then
    error(step .. ": expected " .. name .. ", got " .. (got and string.char(got) or "nil"))
  end
end

local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end
mt.macro(conn, SMFIC_CONNECT, "j", "mta.sender.test", "{daemon_name}", daemon or "ORIGINATING",
         "{daemon_addr}", "127.0.0.1", "_", "client.test [" .. (ip or "127.0.0.1") .. "]")
assert(mt.conninfo(conn, "client.test", ip or "127.0.0.1") == nil, "conninfo")
want("connect", mt.getreply(conn), "continue")
if auth then
  mt.macro(conn, SMFIC_MAIL, "i", "QID1", "{auth_type}", "PLAIN", "{auth_authen}", auth)
else
  mt.macro(conn, SMFIC_MAIL, "i", "QID1")
end
assert(mt.mailfrom(conn, from or "<alice@sender.test>") == nil, "mailfrom")
-- With SMFIP_NR_MAIL the milter does not answer MAIL (miltertest reports continue): an accept
-- decided there comes with the first RCPT instead.
local mail_nr = mt.test_option(conn, SMFIP_NR_MAIL)
want("MAIL", mt.getreply(conn), mail_nr and "continue" or (mail or "continue"))
if (mail or "continue") == "accept" then
  if mail_nr then
    local r = split(rcpts)[1] or "someone@example.test"
    mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", r)
    assert(mt.rcptto(conn, "<" .. r .. ">") == nil, "rcptto " .. r)
    want("RCPT " .. r, mt.getreply(conn), "accept")
    mt.echo("PASS (accepted at the first RCPT: MAIL is not answered)")
  else
    mt.echo("PASS (accepted at MAIL)")
  end
  mt.disconnect(conn)
  return
end
local expect = split(expect)
for i, r in ipairs(split(rcpts)) do
  mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", r)
  assert(mt.rcptto(conn, "<" .. r .. ">") == nil, "rcptto " .. r)
  want("RCPT " .. r, mt.getreply(conn), expect[i] or "continue")
end

-- over TCP the milter asks for DATA, with an answer (callbacks.hpp: set_answer_data)
if not mt.test_option(conn, SMFIP_NODATA) then
  assert(mt.data(conn) == nil, "data")
  want("DATA", mt.getreply(conn), "continue")
end

local data
if eml then
  local fh = assert(io.open(eml, "rb"))
  data = fh:read("*a"); fh:close()
else
  data = "From: alice@sender.test\nTo: someone@example.test\nSubject: test\n\nhello\n"
end
data = data:gsub("\r\n", "\n")
local hdr, body = data:match("^(.-)\n\n(.*)$")
local name, value = nil, nil
local function flush() if name then assert(mt.header(conn, name, value) == nil, "header " .. name) end end
for line in (hdr .. "\n"):gmatch("(.-)\n") do
  if line:match("^[ \t]") then value = value .. "\n" .. line
  else
    flush()
    name, value = line:match("^([^:]+):[ \t]?(.*)$")
  end
end
flush()
-- the milter negotiates SMFIP_NOEOH (it has no use for end-of-header)
if not mt.test_option(conn, SMFIP_NOEOH) then assert(mt.eoh(conn) == nil, "eoh") end
-- the body in chunks of at most 64 KiB, as an MTA sends it; stop when the milter says SKIP
body = body:gsub("\n", "\r\n")
local pos = 1
repeat
  assert(mt.bodystring(conn, body:sub(pos, pos + 65535 - 1)) == nil, "body")
  pos = pos + 65535
until pos > #body or mt.getreply(conn) == SMFIR_SKIP
assert(mt.eom(conn) == nil, "eom")
want("EOM", mt.getreply(conn), eom or "continue")
for _, r in ipairs(split(delrcpt)) do
  assert(mt.eom_check(conn, MT_RCPTDELETE, "<" .. r .. ">") or mt.eom_check(conn, MT_RCPTDELETE, r),
         "recipient not removed: " .. r)
end
for _, r in ipairs(split(keep)) do
  assert(not (mt.eom_check(conn, MT_RCPTDELETE, "<" .. r .. ">") or mt.eom_check(conn, MT_RCPTDELETE, r)),
         "recipient removed: " .. r)
end
for _, h in ipairs(split(hdrins)) do assert(mt.eom_check(conn, MT_HDRINSERT, h), "header not inserted: " .. h) end
for _, h in ipairs(split(hdradd)) do assert(mt.eom_check(conn, MT_HDRADD, h), "header not added: " .. h) end
for _, h in ipairs(split(nohdr)) do
  assert(not mt.eom_check(conn, MT_HDRADD, h) and not mt.eom_check(conn, MT_HDRINSERT, h), "header added: " .. h)
end
if show then
  local v = mt.getheader(conn, show, 0)
  mt.echo("HEADER<" .. tostring(v) .. ">")
end
mt.echo("PASS")
mt.disconnect(conn)
